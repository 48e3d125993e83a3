package server

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestStaticAndErrorPages mirrors an nginx 1.22.1 configuration with root,
// alias, index, add_header, error_page and internal; statuses, header
// order and bodies follow what nginx sent. [V1.22 checked]
func TestStaticAndErrorPages(t *testing.T) {
	www := writeFiles(t, map[string]string{"index.html": "hello\n", "file.txt": "f\n", "dir/index.html": "d\n", "noindex/x": "x"})
	alt := writeFiles(t, map[string]string{"a.html": "alt\n"})
	common := fmt.Sprintf(`      root = %q
      types = { html = "text/html", txt = "text/plain" }
      default_type = "application/octet-stream"
      add_header {
        name = "X-Safe"
        value = "1"
      }
      add_header {
        name = "X-Always"
        value = "2"
        always = true
      }
`, www)
	src := instHCL("", `  server {
    listen {
      address = "127.0.0.1:0"
    }
    server_names = ["main.example", "*.wild.example"]
`+loc("prefix", "/", common)+
		loc("prefix", "/al/", strings.Replace(common, "root = ", "alias = ", 1)[:0]+fmt.Sprintf("      alias = %q\n      types = { html = \"text/html\" }\n      add_header {\n        name = \"X-Safe\"\n        value = \"1\"\n      }\n", alt+"/"))+
		loc("exact", "/e404", common+"      error_page {\n        codes = [404]\n        uri = \"/file.txt\"\n      }\n"+ret(404, ""))+
		loc("exact", "/e404eq", common+"      error_page {\n        codes = [404]\n        uri = \"/file.txt\"\n        response_code = 200\n      }\n"+ret(404, ""))+
		loc("exact", "/e404url", common+"      error_page {\n        codes = [404]\n        uri = \"http://x.example/\"\n      }\n"+ret(404, ""))+
		loc("prefix", "/int", common+"      internal = true\n")+`  }
  server {
    listen {
      address = "127.0.0.1:0"
    }
    server_names = ["other.example"]
`+loc("prefix", "/", "      default_type = \"application/octet-stream\"\n"+ret(200, "other\\n"))+`  }
`)
	s := start(t, src)
	port := s.addr[strings.LastIndex(s.addr, ":")+1:]
	etag := regexp.MustCompile(`^"[0-9a-f]+-2"$`)
	get := func(path, host string) *response {
		cl := dial(t, s.addr)
		cl.send("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n")
		return cl.read(false)
	}
	names := func(r *response) string {
		var n []string
		for _, h := range r.headers {
			name, _, _ := strings.Cut(h, ": ")
			n = append(n, name)
		}
		return strings.Join(n, ",")
	}

	r := get("/file.txt", "main.example")
	expectStatus(t, r, 200)
	if got := names(r); got != "Server,Date,Content-Type,Content-Length,Last-Modified,Connection,ETag,X-Safe,X-Always,Accept-Ranges" {
		t.Errorf("file headers: %s", got)
	}
	if r.body != "f\n" || r.header("Content-Type") != "text/plain" || !etag.MatchString(r.header("ETag")) {
		t.Errorf("file: %v %q", r.headers, r.body)
	}
	if _, err := time.Parse(time.RFC1123, r.header("Last-Modified")); err != nil {
		t.Errorf("Last-Modified %q", r.header("Last-Modified"))
	}

	r = get("/dir", "main.example")
	expectStatus(t, r, 301)
	if r.header("Location") != "http://main.example:"+port+"/dir/" {
		t.Errorf("dir redirect Location %q", r.header("Location"))
	}
	if got := names(r); got != "Server,Date,Content-Type,Content-Length,Location,Connection,X-Safe,X-Always" {
		t.Errorf("redirect headers: %s", got)
	}
	expectConn(t, r, "keep-alive")

	if r = get("/dir/", "main.example"); r.body != "d\n" || r.header("Content-Type") != "text/html" {
		t.Errorf("index: %s %q", r.line, r.body)
	}
	if r = get("/", "main.example"); r.body != "hello\n" {
		t.Errorf("root index: %s %q", r.line, r.body)
	}
	r = get("/noindex/", "main.example")
	expectStatus(t, r, 403)
	if got := names(r); got != "Server,Date,Content-Type,Content-Length,Connection,X-Always" {
		t.Errorf("403 headers: %s", got)
	}
	expectStatus(t, get("/missing", "main.example"), 404)
	expectStatus(t, get("/nodir/", "main.example"), 404)
	if r = get("/al/a.html", "main.example"); r.body != "alt\n" {
		t.Errorf("alias: %s %q", r.line, r.body)
	}

	// error_page keeps the 404 status (no Last-Modified, no Accept-Ranges,
	// no "safe" add_header); "=200" takes the page's status.
	r = get("/e404", "main.example")
	expectStatus(t, r, 404)
	if got := names(r); got != "Server,Date,Content-Type,Content-Length,Connection,ETag,X-Always" || r.body != "f\n" {
		t.Errorf("error_page 404: %s %q", got, r.body)
	}
	r = get("/e404eq", "main.example")
	expectStatus(t, r, 200)
	if r.body != "f\n" || !r.has("Accept-Ranges") {
		t.Errorf("error_page =200: %v", r.headers)
	}
	r = get("/e404url", "main.example")
	expectStatus(t, r, 302)
	if got := names(r); got != "Server,Date,Content-Type,Content-Length,Connection,Location,X-Safe,X-Always" || r.header("Location") != "http://x.example/" {
		t.Errorf("error_page URL: %s %v", got, r.headers)
	}
	expectStatus(t, get("/int", "main.example"), 404)

	// Method rules of the static handler.
	cl := dial(t, s.addr)
	cl.send("PUT / HTTP/1.1\r\nHost: main.example\r\nContent-Length: 0\r\n\r\n")
	expectStatus(t, cl.read(false), 405)
	cl.send("POST /file.txt HTTP/1.1\r\nHost: main.example\r\nContent-Length: 0\r\n\r\n")
	expectStatus(t, cl.read(false), 405)

	// Virtual servers: exact, wildcard, unknown host -> default (first).
	if r = get("/", "other.example"); r.body != "other\n" || r.header("Content-Type") != "application/octet-stream" {
		t.Errorf("other.example: %q", r.body)
	}
	if r = get("/file.txt", "a.wild.example"); r.body != "f\n" {
		t.Errorf("wildcard: %q", r.body)
	}
	if r = get("/file.txt", "zzz"); r.body != "f\n" {
		t.Errorf("default server: %q", r.body)
	}
	if r = get("/", "OTHER.Example.:80"); r.body != "other\n" {
		t.Errorf("host normalization: %q", r.body)
	}
}

// TestLocationMatching: "=" wins, then the longest prefix, nested
// locations, "^~" stops regexes, regexes in order, "~*" ignores case.
func TestLocationMatching(t *testing.T) {
	src := instHCL("", server(
		loc("prefix", "/", ret(200, "root"))+
			loc("exact", "/exact", ret(200, "exact"))+
			loc("prefix", "/exact", ret(200, "prefix-exact"))+
			loc("prefix", "/img/", ret(200, "img")+
				"      location {\n        match = \"prefix\"\n        path = \"/img/big/\"\n"+strings.ReplaceAll(ret(200, "big"), "      ", "        ")+"      }\n")+
			loc("prefix_noregex", "/static/", ret(200, "static"))+
			loc("regex", "\\\\.png$", ret(200, "png"))+
			loc("iregex", "\\\\.JPG$", ret(200, "jpg"))+
			loc("regex", "^/img/x", ret(200, "second-regex"))))
	s := start(t, src)
	cases := map[string]string{
		"/":              "root",
		"/exact":         "exact",
		"/exactly":       "prefix-exact",
		"/img/a":         "img",
		"/img/big/b":     "big",
		"/img/a.png":     "png",
		"/img/big/c.png": "png",
		"/static/a.png":  "static",
		"/x/a.jpg":       "jpg",
		"/img/x.png":     "png",
		"/img/xy":        "second-regex",
		"/other":         "root",
	}
	cl := dial(t, s.addr)
	for path, want := range cases {
		if r := cl.get(path); r.body != want {
			t.Errorf("%s: %q, want %q", path, r.body, want)
		}
	}
}

// TestReturnRedirects: relative URLs become absolute from the Host and
// port; absolute ones are kept; "return URL" is a 302.
func TestReturnRedirects(t *testing.T) {
	src := instHCL("", server(
		loc("exact", "/rel", ret(301, "/foo"))+
			loc("exact", "/abs", ret(301, "http://x.example/y"))+
			loc("exact", "/302", ret(302, "http://x.example/u"))+
			loc("exact", "/norel", "      absolute_redirect = false\n"+ret(307, "/foo"))+
			loc("exact", "/noport", "      port_in_redirect = false\n"+ret(308, "/foo"))))
	s := start(t, src)
	port := s.addr[strings.LastIndex(s.addr, ":")+1:]
	cl := dial(t, s.addr)
	cases := []struct{ path, status, location string }{
		{"/rel", "301 Moved Permanently", "http://t:" + port + "/foo"},
		{"/abs", "301 Moved Permanently", "http://x.example/y"},
		{"/302", "302 Moved Temporarily", "http://x.example/u"},
		{"/norel", "307 Temporary Redirect", "/foo"},
		{"/noport", "308 Permanent Redirect", "http://t/foo"},
	}
	for _, c := range cases {
		r := cl.get(c.path)
		if r.line != "HTTP/1.1 "+c.status || r.header("Location") != c.location {
			t.Errorf("%s: %s Location %q", c.path, r.line, r.header("Location"))
		}
		expectConn(t, r, "keep-alive")
	}
}

// TestServerNameRegexAndNamedLocation: regex names are tried in order after
// exact and wildcard names; error_page can continue in a named location.
func TestServerNameRegexAndNamedLocation(t *testing.T) {
	src := instHCL("", `  server {
    listen {
      address = "127.0.0.1:0"
    }
    server_names = ["default.example"]
`+loc("prefix", "/", ret(200, "default"))+`  }
  server {
    listen {
      address = "127.0.0.1:0"
    }
    server_names = ["~^api[0-9]+\\.example$", "www.example.*"]
`+loc("prefix", "/", "      error_page {\n        codes = [404]\n        uri = \"@fallback\"\n      }\n"+ret(404, ""))+
		loc("named", "@fallback", ret(200, "fallback"))+`  }
`)
	s := start(t, src)
	cl := dial(t, s.addr)
	for host, want := range map[string]string{
		"api12.example": "fallback", "www.example.org": "fallback", "api.example": "default", "default.example": "default",
	} {
		cl.send("GET / HTTP/1.1\r\nHost: " + host + "\r\n\r\n")
		if r := cl.read(false); r.body != want {
			t.Errorf("%s: %q, want %q", host, r.body, want)
		}
	}
}

func TestReturn304(t *testing.T) {
	s := start(t, instHCL("", server(loc("prefix", "/", ret(304, "")))))
	cl := dial(t, s.addr)
	cl.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
	r := cl.read(false)
	// [V1.22 checked]: "304 Not Modified", Content-Type and Content-Length: 0.
	if r.line != "HTTP/1.1 304 Not Modified" || r.header("Content-Length") != "0" || r.header("Content-Type") != "text/plain" {
		t.Errorf("%s %v", r.line, r.headers)
	}
	expectConn(t, r, "keep-alive")
}
