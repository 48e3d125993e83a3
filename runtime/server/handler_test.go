package server

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

// streamHandler answers with a body of unknown length.
var streamHandler = HandlerFunc(func(w *ResponseWriter, r *Request) int {
	w.SetStatus(200)
	w.SetContentLength(-1)
	w.SetContentType("text/plain")
	w.WriteString("part1,")
	w.Flush()
	w.WriteString("part2")
	return StatusDone
})

// abortHandler fails after the head, as a proxy whose upstream dies
// mid-body does.
var abortHandler = HandlerFunc(func(w *ResponseWriter, r *Request) int {
	w.SetStatus(200)
	w.SetContentLength(-1)
	w.WriteString("partial")
	w.Abort()
	return StatusDone
})

// earlyHandler answers after reading 3 bytes of the body (unbuffered proxy
// whose upstream answered early).
var earlyHandler = HandlerFunc(func(w *ResponseWriter, r *Request) int {
	buf := make([]byte, 3)
	if _, err := io.ReadFull(r.Body(), buf); err != nil {
		return BodyStatus(err)
	}
	w.SetStatus(200)
	w.SetContentLength(3)
	w.Write(buf)
	return StatusDone
})

func handlerServer(t *testing.T, extra string) *testServer {
	return startWith(t, instHCL("", server(
		loc("exact", "/stream", extra)+loc("exact", "/abort", extra)+
			loc("exact", "/early", extra+"      lingering_timeout = \"300ms\"\n")+
			loc("exact", "/echo", extra+"      client_max_body_size = \"10\"\n"))),
		map[string]Handler{"/stream": streamHandler, "/abort": abortHandler, "/early": earlyHandler, "/echo": readAllHandler})
}

// TestUnknownLength: a body of unknown length is chunked for HTTP/1.1
// with chunked_transfer_encoding on and keeps the connection; HTTP/1.0 or
// chunked off delimit it by closing. [V1.22 checked] with sub_filter.
func TestUnknownLength(t *testing.T) {
	s := handlerServer(t, "")
	cl := dial(t, s.addr)
	r := cl.get("/stream")
	if r.header("Transfer-Encoding") != "chunked" || r.body != "part1,part2" {
		t.Fatalf("chunked: %v %q", r.headers, r.body)
	}
	expectConn(t, r, "keep-alive")
	cl.expectOpen(30 * time.Millisecond)

	cl = dial(t, s.addr)
	cl.send("GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
	r = cl.read(false)
	expectConn(t, r, "close")
	if r.body != "part1,part2" || r.has("Content-Length") || r.has("Transfer-Encoding") {
		t.Fatalf("close-delimited: %v %q", r.headers, r.body)
	}

	off := handlerServer(t, "      chunked_transfer_encoding = false\n")
	cl = dial(t, off.addr)
	r = cl.get("/stream")
	expectConn(t, r, "close")
	if r.body != "part1,part2" {
		t.Fatalf("chunked off: %q", r.body)
	}
	waitStats(t, off, func(st Stats) bool { return closes(st, ReasonUnknownLength) == 1 })
}

// TestAbortAfterHeader: no final chunk, the connection closes.
func TestAbortAfterHeader(t *testing.T) {
	s := handlerServer(t, "")
	cl := dial(t, s.addr)
	cl.send("GET /abort HTTP/1.1\r\nHost: t\r\n\r\n")
	how, data, _ := cl.end(time.Second)
	if how == "open" || !strings.Contains(data, "Transfer-Encoding: chunked") || !strings.HasSuffix(data, "7\r\npartial\r\n") {
		t.Fatalf("abort: %s %q", how, data)
	}
	waitStats(t, s, func(st Stats) bool { return closes(st, ReasonUpstreamTruncated) == 1 })
}

// TestBodyUnread: answering before the body ends still says keep-alive
// (the header was already decided), then the connection closes with
// lingering close. [V1.22 checked] with proxy_request_buffering off.
func TestBodyUnread(t *testing.T) {
	s := handlerServer(t, "")
	cl := dial(t, s.addr)
	cl.send("POST /early HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nabc")
	r := cl.read(false)
	expectConn(t, r, "keep-alive")
	if got := cl.afterFIN(50 * time.Millisecond); got != "lingering" {
		t.Errorf("after an early answer: %s", got)
	}
	cl.c.Close()
	waitStats(t, s, func(st Stats) bool { return closes(st, ReasonBodyUnread) == 1 })
}

// TestChunkedBodyTooLarge: client_max_body_size applies to chunked bodies
// while they are read: 413 and close.
func TestChunkedBodyTooLarge(t *testing.T) {
	s := handlerServer(t, "")
	cl := dial(t, s.addr)
	cl.send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n")
	expectStatus(t, cl.read(false), 100)
	cl.send("5\r\nhello\r\n6\r\nworld!\r\n0\r\n\r\n")
	r := cl.read(false)
	expectStatus(t, r, 413)
	expectConn(t, r, "close")
	// The chunk that crosses the limit is judged on its first data byte,
	// not on its size line (ngx_http_request_body_chunked_filter acts on
	// NGX_OK from ngx_http_parse_chunked). [V1.22 checked]
	cl = dial(t, s.addr)
	cl.send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n10\r\n")
	cl.expectOpen(200 * time.Millisecond)
	cl.send("x")
	r = cl.read(false)
	expectStatus(t, r, 413)
	expectConn(t, r, "close")
	// Content-Length above the limit is refused before the handler runs.
	cl = dial(t, s.addr)
	cl.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\nhello world")
	expectStatus(t, cl.read(false), 413)
}

// TestServerTokensAndPadding: server_tokens off hides the version;
// MSIE and Chrome get nginx's padding on error pages.
func TestServerTokensAndPadding(t *testing.T) {
	s := start(t, instHCL("", server(loc("prefix", "/", "      server_tokens = \"off\"\n"+ret(404, "")))))
	cl := dial(t, s.addr)
	r := cl.get("/")
	if r.header("Server") != "nginx" || !strings.Contains(r.body, "<hr><center>nginx</center>") {
		t.Errorf("tokens off: %v %q", r.headers, r.body)
	}
	r = cl.get("/", "User-Agent: Mozilla/5.0 Chrome/120.0 Safari/537.36\r\n")
	if !strings.Contains(r.body, "a padding to disable MSIE and Chrome friendly error page") || len(r.body) != 146+6*67 {
		t.Errorf("padding: %d %q", len(r.body), r.body)
	}
}

func TestClientClosed(t *testing.T) {
	seen := make(chan bool, 2)
	h := HandlerFunc(func(w *ResponseWriter, r *Request) int {
		before := r.ClientClosed()
		deadline := time.Now().Add(time.Second)
		for !r.ClientClosed() && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		seen <- before
		seen <- r.ClientClosed()
		return StatusClientClosed
	})
	s := startWith(t, instHCL("", server(loc("prefix", "/", ""))), map[string]Handler{"/": h})
	cl := dial(t, s.addr)
	cl.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
	time.Sleep(50 * time.Millisecond)
	cl.c.Close()
	if before, after := <-seen, <-seen; before || !after {
		t.Errorf("ClientClosed before %v after %v", before, after)
	}
	waitStats(t, s, func(st Stats) bool { return closes(st, ReasonPeerClosed) == 1 })
}

func TestHandlerPanic(t *testing.T) {
	h := HandlerFunc(func(w *ResponseWriter, r *Request) int { panic("boom") })
	s := startWith(t, instHCL("", server(loc("prefix", "/", ""))), map[string]Handler{"/": h})
	cl := dial(t, s.addr)
	cl.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
	cl.expectEnd("fin", 0, 300*time.Millisecond)
	waitStats(t, s, func(st Stats) bool { return closes(st, ReasonInternalError) == 1 })
	if !strings.Contains(s.logs.String(), "handler panic") {
		t.Error("panic not logged")
	}
}

// TestHandlerIgnoresBody: a handler that answers without touching the body
// leaves it to the server, which discards it after the response; the next
// pipelined request is served.
func TestHandlerIgnoresBody(t *testing.T) {
	h := HandlerFunc(func(w *ResponseWriter, r *Request) int {
		w.SetStatus(200)
		w.SetContentLength(2)
		w.WriteString("ok")
		return StatusDone
	})
	s := startWith(t, instHCL("", server(loc("prefix", "/", ""))), map[string]Handler{"/": h})
	cl := dial(t, s.addr)
	cl.send("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello" +
		"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n" +
		"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
	for i := 0; i < 3; i++ {
		r := cl.read(false)
		expectStatus(t, r, 200)
		expectConn(t, r, "keep-alive")
	}
	cl.send("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\n")
	expectStatus(t, cl.read(false), 200)
	cl.send("world")
	expectStatus(t, cl.get("/"), 200)
}

// TestStatusLinePassedThrough: a status line set by the handler (a
// proxied one) is sent as is, also for codes nginx has no text for, and
// an error status that replaces the response drops it
// (ngx_http_header_filter, ngx_http_send_header).
func TestStatusLinePassedThrough(t *testing.T) {
	line := func(status int, text string, rc int) Handler {
		return HandlerFunc(func(w *ResponseWriter, r *Request) int {
			w.SetStatus(status)
			w.SetStatusLine(text)
			if rc != StatusDone {
				return rc
			}
			w.SetContentLength(2)
			w.WriteString("ok")
			return StatusDone
		})
	}
	s := startWith(t, instHCL("", server(loc("exact", "/fine", "")+loc("exact", "/299", "")+loc("exact", "/err", ""))),
		map[string]Handler{
			"/fine": line(200, "200 Fine", StatusDone),
			"/299":  line(299, "299 Whatever", StatusDone),
			"/err":  line(200, "200 Fine", 502),
		})
	cl := dial(t, s.addr)
	for _, c := range []struct{ path, want string }{
		{"/fine", "HTTP/1.1 200 Fine"},
		{"/299", "HTTP/1.1 299 Whatever"},
		{"/err", "HTTP/1.1 502 Bad Gateway"},
		{"/fine", "HTTP/1.1 200 Fine"},
	} {
		if r := cl.get(c.path); r.line != c.want {
			t.Errorf("%s: status line %q, want %q", c.path, r.line, c.want)
		}
	}
}

// TestAbortUnsent: a response given up as an internal error before
// anything was written leaves the client with nothing but the close, the
// head included (ngx_http_upstream_finalize_request with NGX_ERROR does
// not flush); Abort flushes what it has.
func TestAbortUnsent(t *testing.T) {
	failing := func(unsent bool) Handler {
		return HandlerFunc(func(w *ResponseWriter, r *Request) int {
			w.SetStatus(200)
			w.SetContentLength(-1)
			w.WriteString("partial")
			if unsent {
				w.AbortUnsent()
			} else {
				w.Abort()
			}
			return StatusDone
		})
	}
	s := startWith(t, instHCL("", server(loc("exact", "/unsent", "")+loc("exact", "/abort", ""))),
		map[string]Handler{"/unsent": failing(true), "/abort": failing(false)})
	cl := dial(t, s.addr)
	cl.send("GET /unsent HTTP/1.1\r\nHost: t\r\n\r\n")
	if how, data, _ := cl.end(time.Second); how != "fin" || data != "" {
		t.Errorf("AbortUnsent: %s %q, want a bare FIN", how, data)
	}
	cl = dial(t, s.addr)
	cl.send("GET /abort HTTP/1.1\r\nHost: t\r\n\r\n")
	if how, data, _ := cl.end(time.Second); how != "fin" || !strings.HasSuffix(data, "7\r\npartial\r\n") {
		t.Errorf("Abort: %s %q, want the truncated response", how, data)
	}
}

// TestBodyTruncated: a body the client stops sending (half-close) is never
// taken as complete by a handler reading it, chunked or with a
// Content-Length: reading ends with ErrClientClosed, not io.EOF
// (ngx_http_do_read_client_request_body: "client prematurely closed
// connection").
func TestBodyTruncated(t *testing.T) {
	for _, tc := range []struct{ name, req string }{
		{"chunked data", "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel"},
		{"chunk-size line", "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r"},
		{"content-length", "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nhel"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := make(chan error, 1)
			h := HandlerFunc(func(w *ResponseWriter, r *Request) int {
				_, err := io.ReadAll(r.Body())
				got <- err
				return BodyStatus(err)
			})
			s := startWith(t, instHCL("", server(loc("prefix", "/", ""))), map[string]Handler{"/": h})
			cl := dial(t, s.addr)
			cl.send(tc.req)
			_ = cl.c.CloseWrite()
			select {
			case err := <-got:
				if !errors.Is(err, ErrClientClosed) {
					t.Fatalf("reading a truncated body ends with %v, want ErrClientClosed", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the handler did not finish reading")
			}
			cl.expectEnd("fin", 0, time.Second)
		})
	}
}
