package server

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestHeadErrorsOnTheWire: rejected heads get nginx's status, its page and
// "Connection: close", then the connection closes. [V1.22 checked]
func TestHeadErrorsOnTheWire(t *testing.T) {
	s := start(t, instHCL("", basicOK))
	cases := []struct {
		req    string
		status int
		line   string
	}{
		{"get / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "HTTP/1.1 400 Bad Request"},
		{"GET / HTTP/1.1\r\n\r\n", 400, "HTTP/1.1 400 Bad Request"},
		{"GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505, "HTTP/1.1 505 HTTP Version Not Supported"},
		{"TRACE / HTTP/1.1\r\nHost: a\r\n\r\n", 405, "HTTP/1.1 405 Not Allowed"},
		{"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 501, "HTTP/1.1 501 Not Implemented"},
		{"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "HTTP/1.1 400 Bad Request"},
		{"GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n 2\r\n\r\n", 400, "HTTP/1.1 400 Bad Request"},
		{"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n", 400, "HTTP/1.1 400 Bad Request"},
	}
	for _, c := range cases {
		cl := dial(t, s.addr)
		cl.send(c.req)
		r := cl.read(false)
		if r.line != c.line {
			t.Errorf("%q: %q, want %q", c.req, r.line, c.line)
			continue
		}
		expectConn(t, r, "close")
		if !strings.Contains(r.body, fmt.Sprintf("<center><h1>%s</h1></center>", strings.TrimPrefix(c.line, "HTTP/1.1 "))) {
			t.Errorf("%q: page %q", c.req, r.body)
		}
		how, _, _ := cl.end(time.Second)
		if how == "open" {
			t.Errorf("%q: connection left open", c.req)
		}
		cl.c.Close() // unparsed bytes make the server linger until the client closes
	}
	st := waitStats(t, s, func(st Stats) bool { return closes(st, ReasonBadRequest) == uint64(len(cases)) })
	if closeHeaders(st, ReasonBadRequest) != uint64(len(cases)) {
		t.Errorf("close headers %v", st.Listeners)
	}
}

const basicOK = `  server {
    listen {
      address = "127.0.0.1:0"
    }
    location {
      match = "prefix"
      path = "/"
      return {
        code = 200
        text = "ok"
      }
    }
  }
`

// TestLargeHeaderBuffers: with client_header_buffer_size 1k and 4 large
// buffers of 8k, a request line or header line of 8192 bytes (CRLF
// included) fits and one of 8193 does not; the head may use at most four
// large buffers. The boundaries are nginx's. [V1.22 checked]
func TestLargeHeaderBuffers(t *testing.T) {
	s := start(t, instHCL("", basicOK))
	line := func(total int) string {
		return "GET /" + strings.Repeat("a", total-len("GET / HTTP/1.1\r\n")) + " HTTP/1.1\r\nHost: a\r\n\r\n"
	}
	hdr := func(total int) string {
		return "GET / HTTP/1.1\r\nHost: a\r\nX: " + strings.Repeat("v", total-len("X: \r\n")) + "\r\n\r\n"
	}
	many := func(n, size int) string {
		var b strings.Builder
		b.WriteString("GET / HTTP/1.1\r\nHost: a\r\n")
		for i := 0; i < n; i++ {
			name := fmt.Sprintf("X%d: ", i)
			b.WriteString(name + strings.Repeat("v", size-len(name)-2) + "\r\n")
		}
		b.WriteString("\r\n")
		return b.String()
	}
	const tooLarge = "HTTP/1.1 400 Bad Request"
	cases := []struct {
		name, req, line string
	}{
		{"line 8192", line(8192), "HTTP/1.1 200 OK"},
		{"line 8193", line(8193), "HTTP/1.1 414 Request-URI Too Large"},
		{"header 8192", hdr(8192), "HTTP/1.1 200 OK"},
		{"header 8193", hdr(8193), tooLarge},
		{"4x5000", many(4, 5000), "HTTP/1.1 200 OK"},
		{"5x5000", many(5, 5000), tooLarge},
		{"4x8000", many(4, 8000), "HTTP/1.1 200 OK"},
		{"30x1000", many(30, 1000), "HTTP/1.1 200 OK"},
		{"33x1000", many(33, 1000), tooLarge},
	}
	for _, c := range cases {
		cl := dial(t, s.addr)
		cl.send(c.req)
		r := cl.read(false)
		if r.line != c.line {
			t.Errorf("%s: %q, want %q", c.name, r.line, c.line)
		}
		if c.line == tooLarge && !strings.Contains(r.body, "<title>400 Request Header Or Cookie Too Large</title>") {
			t.Errorf("%s: page %q", c.name, r.body)
		}
	}
}

func TestLeadingCRLFAndBareLF(t *testing.T) {
	s := start(t, instHCL("", basicOK))
	cl := dial(t, s.addr)
	cl.send("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n")
	expectStatus(t, cl.read(false), 200)
	cl.send("GET / HTTP/1.1\nHost: a\n\n")
	expectStatus(t, cl.read(false), 200)
	// A buffer filled with CR/LF only is reset, not a 414.
	cl.send(strings.Repeat("\r\n", 2000) + "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	expectStatus(t, cl.read(false), 200)
}
