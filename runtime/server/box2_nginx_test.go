//go:build nginx

package server

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestBox2AgainstNginx runs testdata/scenarios/box2-backend.conf in the
// installed nginx (go test -tags nginx) and the hand-written model in the
// runtime, sends both the same requests and compares status line,
// Connection header, body and how the connection ends.
func TestBox2AgainstNginx(t *testing.T) {
	bin, err := exec.LookPath("nginx")
	if err != nil {
		t.Skip("nginx not installed")
	}
	conf, err := os.ReadFile("../../testdata/scenarios/box2-backend.conf")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	dir := t.TempDir()
	text := strings.Replace(string(conf), "listen 18081;", "listen 127.0.0.1:"+strconv.Itoa(port)+";", 1)
	text = strings.Replace(text, "http {", "http {\n    access_log off;", 1)
	if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(dir, "logs"), 0o755)
	cmd := exec.Command(bin, "-p", dir, "-c", filepath.Join(dir, "nginx.conf"),
		"-g", "daemon off; pid "+filepath.Join(dir, "nginx.pid")+"; error_log "+filepath.Join(dir, "error.log")+";")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	})
	nginxAddr := "127.0.0.1:" + strconv.Itoa(port)
	for i := 0; i < 50; i++ {
		if c, err := net.Dial("tcp", nginxAddr); err == nil {
			c.Close()
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	ours := runInstance(t, loadBox2(t))
	transcript := func(addr, req string) string {
		cl := dial(t, addr)
		cl.send(req)
		r := cl.read(false)
		how, _, _ := cl.end(200 * time.Millisecond)
		cl.c.Close()
		return r.line + " | Connection: " + r.header("Connection") + " | " + r.body + " | " + how
	}
	for _, c := range box2Requests {
		n, o := transcript(nginxAddr, c.req), transcript(ours.addr, c.req)
		if n != o {
			t.Errorf("%s:\n nginx: %q\n ours:  %q", c.name, n, o)
		}
	}
}
