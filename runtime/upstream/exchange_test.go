package upstream

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/ngxkeep/ngxkeep/runtime/config"
)

// TestDiscardRules checks which response shapes let the connection go back
// to the cache (proxy_keepalive.t and §4.3), in buffered and unbuffered mode.
func TestDiscardRules(t *testing.T) {
	cases := []struct {
		name   string
		method string
		resp   string
		reuse  bool
		body   string
	}{
		{"content-length", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", true, "hello"},
		{"chunked", "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n4;ext=1\r\n abc\r\n0\r\n\r\n", true, "hello abc"},
		{"only last chunk", "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", true, ""},
		{"chunked trailers", "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\nX-T: 1\r\n\r\n", true, "x"},
		{"head with length", "HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", true, ""},
		{"length 0", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", true, ""},
		{"204", "GET", "HTTP/1.1 204 No Content\r\n\r\n", true, ""},
		{"304 without length", "GET", "HTTP/1.1 304 Not Modified\r\n\r\n", true, ""},
		{"304 with length", "GET", "HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\n\r\n", true, ""},
		{"connection close", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok", false, "ok"},
		{"connection close substring", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: xclosex\r\n\r\nok", false, "ok"},
		{"http/1.0 status keep-alive", "GET", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok", false, "ok"},
		{"extra bytes after length", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA", false, "ok"},
		{"extra bytes after last chunk", "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\nEXTRA", false, "ok"},
		{"extra bytes after 204", "GET", "HTTP/1.1 204 No Content\r\n\r\nEXTRA", false, ""},
	}
	for _, buffering := range []bool{true, false} {
		for _, tc := range cases {
			b := newBackend(t, func(r backendReq) action { return action{resp: tc.resp} })
			e := newEnv(t, []*config.Upstream{ups("app", ka(1), b.addr())})
			cp := http11("http://app")
			cp.Buffering = boolp(buffering)
			p := e.proxy(cp)
			e.start()
			for i := 0; i < 2; i++ {
				res, rec := e.do(p, get(tc.method, "/"))
				if !res.HeaderSent || !res.Complete || rec.body.String() != tc.body {
					t.Errorf("%s (buffering %v): result %+v body %q", tc.name, buffering, res, rec.body.String())
				}
			}
			conns, _ := b.stats()
			want := 1
			if !tc.reuse {
				want = 2
			}
			if conns != want {
				t.Errorf("%s (buffering %v): %d connections, want %d", tc.name, buffering, conns, want)
			}
			if !tc.reuse && e.peerStats("app", b.addr()).Closed[CloseNotReusable].Load() != 2 {
				t.Errorf("%s: not_reusable_response closes = %d", tc.name, e.peerStats("app", b.addr()).Closed[CloseNotReusable].Load())
			}
		}
	}
}

func TestCloseDelimitedNeverCached(t *testing.T) {
	b := newBackend(t, func(r backendReq) action { return action{resp: "HTTP/1.1 200 OK\r\n\r\nuntil close", close: true} })
	e := newEnv(t, []*config.Upstream{ups("app", ka(4), b.addr())})
	p := e.proxy(http11("http://app"))
	e.start()
	res, rec := e.do(p, get("GET", "/"))
	if res.Status != 200 || rec.body.String() != "until close" || rec.head.ContentLength != -1 {
		t.Fatalf("%+v %q", res, rec.body.String())
	}
	if e.peerStats("app", b.addr()).Returned.Load() != 0 {
		t.Fatal("close-delimited response was cached")
	}
}

func TestHTTP09Response(t *testing.T) {
	b := newBackend(t, func(r backendReq) action { return action{resp: "plain bytes", close: true} })
	e := newEnv(t, []*config.Upstream{ups("app", ka(4), b.addr())})
	p := e.proxy(http11("http://app"))
	e.start()
	res, rec := e.do(p, get("GET", "/"))
	if res.Status != 200 || rec.body.String() != "plain bytes" {
		t.Fatalf("%+v %q", res, rec.body.String())
	}
}

// staleBackend answers the first request on a connection and closes the
// connection when a second request arrives on it, without answering:
// the keep-alive race.
func staleBackend(t *testing.T, reset bool) *backend {
	return newBackend(t, func(r backendReq) action {
		if r.n > 1 {
			return action{drop: !reset, reset: reset}
		}
		return action{resp: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"}
	})
}

func TestStaleRace(t *testing.T) {
	cases := []struct {
		name       string
		method     string
		next       []string
		wantStatus int
		wantUp     string
	}{
		{"GET default", "GET", nil, 200, "502, 200"},
		{"POST default", "POST", nil, 502, "502"},
		{"GET off", "GET", []string{"off"}, 502, "502"},
		{"POST non_idempotent", "POST", []string{"error", "timeout", "non_idempotent"}, 200, "502, 200"},
	}
	for _, reset := range []bool{false, true} {
		for _, tc := range cases {
			b := staleBackend(t, reset)
			e := newEnv(t, []*config.Upstream{ups("app", ka(4), b.addr())})
			cp := http11("http://app")
			cp.NextUpstream = tc.next
			p := e.proxy(cp)
			e.start()
			if res, _ := e.do(p, get("GET", "/warm")); res.Status != 200 {
				t.Fatal(res)
			}
			var r *Request
			if tc.method == "POST" {
				r = post("/", "data")
			} else {
				r = get("GET", "/")
			}
			res, _ := e.do(p, r)
			if res.Status != tc.wantStatus || res.UpstreamStatus() != tc.wantUp {
				t.Errorf("%s (reset %v): status %d upstream_status %q, want %d %q (err %v)", tc.name, reset, res.Status, res.UpstreamStatus(), tc.wantStatus, tc.wantUp, res.Err)
			}
			if res.HeaderSent != (tc.wantStatus == 200) {
				t.Errorf("%s: header sent %v", tc.name, res.HeaderSent)
			}
			if n := e.peerStats("app", b.addr()).Closed[CloseStaleOnReuse].Load(); n != 1 {
				t.Errorf("%s: stale_on_reuse = %d", tc.name, n)
			}
		}
	}
}

func TestStaleRetryDoesNotUseTries(t *testing.T) {
	// Several stale cached connections in a row: a GET walks through all
	// of them although proxy_next_upstream_tries is 1.
	b := staleBackend(t, false)
	e := newEnv(t, []*config.Upstream{ups("app", ka(8), b.addr())})
	cp := http11("http://app")
	cp.NextUpstreamTries = 1
	p := e.proxy(cp)
	w := e.start()
	// fill the cache with 3 connections by running 3 exchanges at once
	done := make(chan struct{})
	slow := newBackend(t, okHandler("x"))
	_ = slow
	for i := 0; i < 3; i++ {
		go func() { e.do(p, get("GET", "/warm")); done <- struct{}{} }()
	}
	for i := 0; i < 3; i++ {
		<-done
	}
	idle := e.peerStats("app", b.addr()).Idle.Load()
	res, _ := e.do(p, get("GET", "/"))
	if res.Status != 200 || len(res.Attempts) != int(idle)+1 {
		t.Fatalf("status %d attempts %q with %d idle connections", res.Status, res.UpstreamStatus(), idle)
	}
	_ = w
}

func TestMaxFailsWithBackup(t *testing.T) {
	primary := staleBackend(t, false)
	backup := newBackend(t, okHandler("backup"))
	u := &config.Upstream{Name: "app", Keepalive: ka(4), Servers: []config.UpstreamServer{
		{Address: primary.addr(), MaxFails: intp(1)},
		{Address: backup.addr(), Backup: true},
	}}
	e := newEnv(t, []*config.Upstream{u})
	p := e.proxy(http11("http://app"))
	e.start()
	if res, rec := e.do(p, get("GET", "/")); rec.body.String() != "ok" {
		t.Fatalf("warm: %+v %q", res, rec.body.String())
	}
	// the stale cached connection fails: the primary is disabled, the
	// retry (free try) cannot use it and goes to the backup
	res, rec := e.do(p, get("GET", "/"))
	if res.Status != 200 || rec.body.String() != "backup" || res.UpstreamStatus() != "502, 200" {
		t.Fatalf("after stale: %+v %q", res, rec.body.String())
	}
	for i := 0; i < 3; i++ {
		if _, rec := e.do(p, get("GET", "/")); rec.body.String() != "backup" {
			t.Fatalf("request %d went to %q, want the backup while the primary is disabled", i, rec.body.String())
		}
	}
	if f := e.peerStats("app", primary.addr()).Failures.Load(); f != 1 {
		t.Fatalf("primary failures = %d", f)
	}
}

func TestSinglePeerFailuresNotCounted(t *testing.T) {
	b := staleBackend(t, false)
	u := &config.Upstream{Name: "app", Keepalive: ka(4), Servers: []config.UpstreamServer{{Address: b.addr(), MaxFails: intp(1)}}}
	e := newEnv(t, []*config.Upstream{u})
	p := e.proxy(http11("http://app"))
	e.start()
	e.do(p, get("GET", "/"))
	res, _ := e.do(p, get("GET", "/"))
	if res.Status != 200 || res.UpstreamStatus() != "502, 200" {
		t.Fatalf("%+v", res)
	}
	if res, _ := e.do(p, get("GET", "/")); res.Status != 200 {
		t.Fatalf("single server was disabled: %+v", res)
	}
	if f := e.peerStats("app", b.addr()).Failures.Load(); f != 0 {
		t.Fatalf("failures counted for a single server: %d", f)
	}
}

func TestNoLiveUpstreams(t *testing.T) {
	b := newBackend(t, okHandler("x"))
	u := &config.Upstream{Name: "app", Servers: []config.UpstreamServer{{Address: b.addr(), Down: true}, {Address: b.addr(), Down: true}}}
	e := newEnv(t, []*config.Upstream{u})
	p := e.proxy(http11("http://app"))
	e.start()
	res, _ := e.do(p, get("GET", "/"))
	if res.Status != 502 || res.HeaderSent {
		t.Fatalf("%+v", res)
	}
}

func TestConnectRefusedAndRetry(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := ln.Addr().String()
	ln.Close()
	good := newBackend(t, okHandler("good"))
	e := newEnv(t, []*config.Upstream{ups("app", ka(4), dead, good.addr()), ups("deadonly", ka(4), dead)})
	p := e.proxy(http11("http://app"))
	pd := e.proxy(http11("http://deadonly"))
	e.start()
	res, rec := e.do(p, get("POST", "/"))
	if res.Status != 200 || rec.body.String() != "good" {
		t.Fatalf("connect error should be retried even for POST (not sent): %+v", res)
	}
	if res, _ := e.do(pd, get("GET", "/")); res.Status != 502 {
		t.Fatalf("refused single server: %+v", res)
	}
}

func TestTimeouts(t *testing.T) {
	slow := newBackend(t, func(r backendReq) action {
		return action{delay: 300 * time.Millisecond, resp: "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"}
	})
	blockDial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	e := newEnv(t, []*config.Upstream{ups("slow", ka(4), slow.addr())})
	cp := http11("http://slow")
	cp.ReadTimeout = "50ms"
	p := e.proxy(cp)
	e.start()
	if res, _ := e.do(p, get("GET", "/")); res.Status != 504 || res.UpstreamStatus() != "504" {
		t.Fatalf("read timeout: %+v", res)
	}

	e2 := newEnv(t, []*config.Upstream{ups("blackhole", nil, "127.0.0.1:9")}, Options{Dialer: blockDial})
	cp2 := http11("http://blackhole")
	cp2.ConnectTimeout = "50ms"
	p2 := e2.proxy(cp2)
	e2.start()
	if res, _ := e2.do(p2, get("GET", "/")); res.Status != 504 {
		t.Fatalf("connect timeout: %+v", res)
	}
}

func TestNextUpstreamStatusAndTries(t *testing.T) {
	mk := func() *backend {
		return newBackend(t, func(r backendReq) action {
			return action{resp: "HTTP/1.1 404 Not Found\r\nContent-Length: 8\r\n\r\nSEE-THIS"}
		})
	}
	b1, b2, b3 := mk(), mk(), mk()
	u := ups("app", nil, b1.addr(), b2.addr(), b3.addr())
	e := newEnv(t, []*config.Upstream{u})
	cp := http11("http://app")
	cp.NextUpstream = []string{"error", "timeout", "http_404"}
	p := e.proxy(cp)
	cp.NextUpstreamTries = 2
	p2 := e.proxy(cp)
	e.start()
	res, rec := e.do(p, get("GET", "/"))
	if res.UpstreamStatus() != "404, 404, 404" || rec.body.String() != "SEE-THIS" || res.Status != 404 {
		t.Fatalf("tries 0: %q %q", res.UpstreamStatus(), rec.body.String())
	}
	if res, _ := e.do(p2, get("GET", "/")); res.UpstreamStatus() != "404, 404" {
		t.Fatalf("tries 2: %q", res.UpstreamStatus())
	}
	if res, _ := e.do(p, post("/", "x")); res.UpstreamStatus() != "404" {
		t.Fatalf("POST must not be retried on http_404: %q", res.UpstreamStatus())
	}
	// 404 does not count as a failure
	for _, b := range []*backend{b1, b2, b3} {
		if f := e.peerStats("app", b.addr()).Failures.Load(); f != 0 {
			t.Fatalf("404 counted as failure")
		}
	}
}

func TestMidBodyFailure(t *testing.T) {
	b := newBackend(t, func(r backendReq) action {
		return action{resp: "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial", close: true}
	})
	e := newEnv(t, []*config.Upstream{ups("app", ka(4), b.addr())})
	p := e.proxy(http11("http://app"))
	e.start()
	res, rec := e.do(p, get("GET", "/"))
	if !res.HeaderSent || res.Complete || !res.KeepaliveOff || rec.body.String() != "partial" {
		t.Fatalf("%+v %q", res, rec.body.String())
	}
	if len(res.Attempts) != 1 {
		t.Fatal("retried after the header was sent")
	}
	if e.peerStats("app", b.addr()).Failures.Load() != 0 {
		t.Fatal("a mid-body failure must not count toward max_fails")
	}
}

func TestInvalidHeader(t *testing.T) {
	for _, resp := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
		"HTTP/1.1 200 OK\r\nBad\x00Header: 1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nX: " + strings.Repeat("a", 5000) + "\r\n\r\n",
	} {
		b := newBackend(t, func(r backendReq) action { return action{resp: resp, close: true} })
		e := newEnv(t, []*config.Upstream{ups("app", ka(4), b.addr())})
		p := e.proxy(http11("http://app"))
		e.start()
		if res, _ := e.do(p, get("GET", "/")); res.Status != 502 || res.HeaderSent {
			t.Errorf("%q: %+v", resp[:40], res)
		}
	}
}

func TestClientAbortCostsConnection(t *testing.T) {
	big := strings.Repeat("z", 64<<10)
	b := newBackend(t, okHandler(big))
	e := newEnv(t, []*config.Upstream{ups("app", ka(4), b.addr())})
	cp := http11("http://app")
	cp.Buffering = boolp(false)
	p := e.proxy(cp)
	e.start()
	rec := &recorder{failAt: 1000}
	res := e.w.Proxy(context.Background(), p, get("GET", "/"), rec)
	if !res.KeepaliveOff || res.Complete {
		t.Fatalf("%+v", res)
	}
	if e.peerStats("app", b.addr()).Returned.Load() != 0 {
		t.Fatal("connection with an unread body was cached")
	}
}

func TestUnbufferedEarlyAnswer(t *testing.T) {
	// proxy_request_buffering off; the backend answers without reading the
	// body; the client never sends it (proxy_request_buffering_keepalive.t).
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	b := newBackend(t, func(r backendReq) action {
		return action{resp: "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nSEE"}
	})
	_ = b
	// the backend reads Content-Length bytes; use a raw backend that does not
	raw := newRawBackend(t, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nSEE")
	e := newEnv(t, []*config.Upstream{ups("app", ka(1), raw.addr())})
	cp := http11("http://app")
	cp.RequestBuffering = boolp(false)
	p := e.proxy(cp)
	e.start()
	cl, sv := net.Pipe()
	defer cl.Close()
	defer sv.Close()
	r := get("GET", "/t1")
	r.Body = sv // never written: the body does not arrive
	r.ContentLength = 10
	res, rec := e.do(p, r)
	if res.Status != 200 || rec.body.String() != "SEE" || !res.ReadingBody {
		t.Fatalf("%+v %q", res, rec.body.String())
	}
	if e.peerStats("app", raw.addr()).Returned.Load() != 0 {
		t.Fatal("connection with an unsent body was cached")
	}
	res, rec = e.do(p, get("GET", "/t1"))
	if res.Status != 200 || rec.body.String() != "SEE" {
		t.Fatalf("second: %+v", res)
	}
}

// rawBackend answers every request head with the same bytes, never
// reading a body.
type rawBackend struct{ *backend }

func newRawBackend(t *testing.T, resp string) rawBackend {
	b := newBackend(t, func(r backendReq) action { return action{resp: resp} })
	b.mu.Lock()
	b.noBody = true
	b.mu.Unlock()
	return rawBackend{b}
}

// TestInvalidChunkedDropsUnsent: an invalid chunk in the bytes that came
// with the head (even after valid chunks) fails the response before any
// of it is passed on, with buffering on and off, and the exchange asks
// the server to drop what it has not flushed (nginx finalizes with
// NGX_ERROR and never sends the buffered head).
func TestInvalidChunkedDropsUnsent(t *testing.T) {
	for _, body := range []string{"zz\r\nok\r\n0\r\n\r\n", "5\r\nhello\r\nzz\r\n0\r\n\r\n", "2\r\nok\r\n3\r\nabcX\r\n"} {
		for _, buffering := range []bool{true, false} {
			resp := "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + body
			b := newBackend(t, func(r backendReq) action { return action{resp: resp} })
			e := newEnv(t, []*config.Upstream{ups("app", ka(4), b.addr())})
			cp := http11("http://app")
			cp.Buffering = boolp(buffering)
			p := e.proxy(cp)
			e.start()
			res, rec := e.do(p, get("GET", "/"))
			if !res.HeaderSent || !res.KeepaliveOff || !res.DropUnsent || res.Complete || rec.body.Len() != 0 {
				t.Errorf("buffering %v, %q: %+v, body %q; want nothing passed on and DropUnsent", buffering, body, res, rec.body.String())
			}
			if e.peerStats("app", b.addr()).Returned.Load() != 0 {
				t.Errorf("buffering %v, %q: connection cached", buffering, body)
			}
		}
	}
}

// TestChunksOfOneRead: the chunks of one upstream read are passed on
// together (with buffering off: in one write and one flush); an invalid
// chunk in a later read keeps what earlier reads passed on and asks to
// drop only what the server still holds back.
func TestChunksOfOneRead(t *testing.T) {
	for _, buffering := range []bool{false, true} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			buf := make([]byte, 4096)
			_, _ = c.Read(buf)
			c.Write([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n2\r\ncd\r\n1\r\ne\r\n"))
			time.Sleep(100 * time.Millisecond)
			c.Write([]byte("1\r\nf\r\nzz\r\n"))
			_, _ = c.Read(buf) // until the proxy closes
		}()
		e := newEnv(t, []*config.Upstream{ups("app", ka(4), ln.Addr().String())})
		cp := http11("http://app")
		cp.Buffering = boolp(buffering)
		p := e.proxy(cp)
		e.start()
		res, rec := e.do(p, get("GET", "/"))
		ln.Close()
		<-done
		if rec.body.String() != "abcde" || rec.writes != 1 || !res.KeepaliveOff || !res.DropUnsent || res.Complete {
			t.Errorf("buffering %v: %+v body %q in %d writes; want \"abcde\" in 1 write, then DropUnsent", buffering, res, rec.body.String(), rec.writes)
		}
	}
}
