package faults

import (
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestStaticNoEscape asks a static location for files outside its root
// with every spelling of ".." a client can send: nginx (and ngxkeep)
// answer 400 or 404, never the file.
func TestStaticNoEscape(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "www")
	if err := os.MkdirAll(filepath.Join(root, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(root, "index.html"), []byte("public\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "secret"), []byte("SECRET\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "www-secret"), []byte("SECRET\n"), 0o644)
	s := startInstance(t, fmt.Sprintf(`instance "static" {
  version = "1.22.1"
  server {
    listen {
      address = "LISTEN"
    }
    location {
      match = "prefix"
      path  = "/"
      root  = %q
    }
    location {
      match = "prefix"
      path  = "/a/"
      alias = "%s/"
    }
  }
}
`, root, root))
	defer s.stop(t)
	get := func(target string) string {
		c, err := net.Dial("tcp", s.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(3 * time.Second))
		fmt.Fprintf(c, "GET %s HTTP/1.0\r\nHost: a\r\n\r\n", target)
		data, _ := io.ReadAll(c)
		return string(data)
	}
	if r := get("/index.html"); !strings.Contains(r, "public") {
		t.Fatalf("the root itself is not served: %q", r)
	}
	for _, target := range []string{
		"/../secret", "/sub/../../secret", "/%2e%2e/secret", "/%2E%2E/secret", "/sub/%2e%2e/%2e%2e/secret",
		"/..%2fsecret", "/%2e%2e%2fsecret", "/sub/..%2f..%2fsecret", "/.%2e/secret", "//../secret",
		"/a/../secret", "/a/..%2fsecret", "/a/%2e%2e/secret", "/a/../../secret", "/../www-secret",
		"/sub/./../../secret", "/sub\\..\\..\\secret", "http://a/../secret", "/%00/../secret",
	} {
		r := get(target)
		if strings.Contains(r, "SECRET") {
			t.Errorf("GET %s served a file outside the root", target)
		}
		status, _, _ := strings.Cut(r, "\r\n")
		if !strings.Contains(status, " 400 ") && !strings.Contains(status, " 404 ") {
			t.Errorf("GET %s: %q", target, status)
		}
	}
}
