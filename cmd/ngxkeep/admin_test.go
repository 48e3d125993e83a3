package main

import (
	"bufio"
	"compress/gzip"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// startAdmin serves two routes on 127.0.0.1: /hello (plain text, the
// query's "name[]" values echoed) and /z (gzip-negotiated).
func startAdmin(t *testing.T) (*adminServer, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := newAdminServer(ln, map[string]adminHandler{
		"/hello": func(r *adminRequest) adminResponse {
			return adminText(200, "hello "+strings.Join(r.query["name[]"], ",")+"\n")
		},
		"/z": func(r *adminRequest) adminResponse {
			body, enc := gzipBody(r.acceptEncoding, []byte("zipped text\n"))
			return adminResponse{status: 200, contentType: "text/plain", encoding: enc, vary: true, body: body}
		},
	})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return s, ln.Addr().String()
}

func dialAdmin(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return c, bufio.NewReader(c)
}

// roundTrip writes raw and reads one response (method says whether it has
// a body).
func roundTrip(t *testing.T, c net.Conn, br *bufio.Reader, raw, method string) (*http.Response, string) {
	t.Helper()
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		t.Fatalf("reading the response to %q: %v", raw, err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

func TestAdminServerKeepAlive(t *testing.T) {
	_, addr := startAdmin(t)
	c, br := dialAdmin(t, addr)
	for i, step := range []struct {
		raw, method string
		status      int
		body        string
		header      map[string]string
	}{
		{"GET /hello HTTP/1.1\r\nHost: a\r\n\r\n", "GET", 200, "hello \n", map[string]string{"Content-Type": "text/plain; charset=utf-8", "Content-Length": "7"}},
		{"GET /hello?name[]=x&name%5B%5D=y HTTP/1.1\r\nHost: a\r\n\r\n", "GET", 200, "hello x,y\n", nil},
		{"GET /nothing HTTP/1.1\r\nHost: a\r\n\r\n", "GET", 404, "404 page not found\n", map[string]string{"X-Content-Type-Options": "nosniff"}},
		{"POST /hello HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nabcde", "POST", 405, "Method Not Allowed\n", map[string]string{"Allow": "GET, HEAD"}},
		{"HEAD /hello HTTP/1.1\r\nHost: a\r\n\r\n", "HEAD", 200, "", map[string]string{"Content-Length": "7"}},
		// a pipelined pair in one write
		{"GET /hello?name[]=1 HTTP/1.1\r\nHost: a\r\n\r\nGET /hello?name[]=2 HTTP/1.1\r\nHost: a\r\n\r\n", "GET", 200, "hello 1\n", nil},
		{"", "GET", 200, "hello 2\n", nil},
	} {
		resp, body := roundTrip(t, c, br, step.raw, step.method)
		if resp.StatusCode != step.status || body != step.body || resp.Close {
			t.Fatalf("step %d: %d %q close=%v, want %d %q on a kept connection", i, resp.StatusCode, body, resp.Close, step.status, step.body)
		}
		for k, v := range step.header {
			if got := resp.Header.Get(k); got != v {
				t.Errorf("step %d: %s %q, want %q", i, k, got, v)
			}
		}
		if resp.Header.Get("Date") == "" {
			t.Errorf("step %d: no Date", i)
		}
	}
	// Connection: close is honoured.
	resp, _ := roundTrip(t, c, br, "GET /hello HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", "GET")
	if !resp.Close {
		t.Errorf("Connection: close request answered without close")
	}
	if _, err := br.ReadByte(); err != io.EOF {
		t.Errorf("connection still open after Connection: close (%v)", err)
	}
}

func TestAdminServerCloses(t *testing.T) {
	_, addr := startAdmin(t)
	for _, c := range []struct {
		raw    string
		status int
	}{
		{"GET /hello HTTP/1.0\r\n\r\n", 200},                                           // HTTP/1.0 without keep-alive
		{"GET /hello HTTP/1.1\r\n\r\n", 400},                                           // no Host
		{"GET /hello HTTP/2.0\r\nHost: a\r\n\r\n", 505},                                // unsupported version
		{"GET /hello HTTP/1.1\r\nHost: a\r\nX: " + strings.Repeat("y", 20000), 431},    // head too long
		{"POST /hello HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", 405}, // a body we do not read
	} {
		conn, br := dialAdmin(t, addr)
		resp, _ := roundTrip(t, conn, br, c.raw, "GET")
		if resp.StatusCode != c.status || !resp.Close {
			t.Errorf("%q: %d close=%v, want %d and close", c.raw[:20], resp.StatusCode, resp.Close, c.status)
		}
		if _, err := br.ReadByte(); err != io.EOF {
			t.Errorf("%q: connection still open (%v)", c.raw[:20], err)
		}
	}
}

func TestAdminServerGzip(t *testing.T) {
	_, addr := startAdmin(t)
	c, br := dialAdmin(t, addr)
	resp, body := roundTrip(t, c, br, "GET /z HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip, deflate\r\n\r\n", "GET")
	if resp.Header.Get("Content-Encoding") != "gzip" || len(resp.Header.Values("Vary")) != 2 {
		t.Fatalf("headers %v", resp.Header)
	}
	zr, err := gzip.NewReader(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if text, _ := io.ReadAll(zr); string(text) != "zipped text\n" {
		t.Errorf("unzipped %q", text)
	}
	resp, body = roundTrip(t, c, br, "GET /z HTTP/1.1\r\nHost: a\r\n\r\n", "GET")
	if resp.Header.Get("Content-Encoding") != "" || body != "zipped text\n" {
		t.Errorf("without Accept-Encoding: %v %q", resp.Header, body)
	}
}

func TestAdminServerShutdownClosesIdle(t *testing.T) {
	s, addr := startAdmin(t)
	c, br := dialAdmin(t, addr)
	roundTrip(t, c, br, "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n", "GET")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if _, err := br.ReadByte(); err != io.EOF {
		t.Errorf("idle connection still open after Shutdown (%v)", err)
	}
	if c2, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c2.Close()
		t.Errorf("listener still accepts after Shutdown")
	}
}

func TestAcceptsGzip(t *testing.T) {
	for _, c := range []struct {
		in   string
		want bool
	}{
		{"", false},
		{"gzip", true},
		{"GZIP", true},
		{"gzip, deflate, br", true},
		{"*", false}, // identity is offered first and wins the tie
		{"identity;q=0.5, gzip", true},
		{"gzip;q=0.5, identity", false},
		{"gzip;q=0", false},
		{"br", false},
	} {
		if got := acceptsGzip([]string{c.in}); got != c.want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", c.in, got, c.want)
		}
	}
}
