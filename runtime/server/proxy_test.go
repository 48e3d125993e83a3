package server

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ngxkeep/ngxkeep/runtime/upstream"
)

// ---- a scripted raw-TCP backend ----

// beReq is one request a scripted backend received.
type beReq struct {
	conn, n int // connection number (1-based), request number on it
	head    string
	body    []byte
}

func (r beReq) header(name string) string {
	for _, line := range strings.Split(r.head, "\r\n")[1:] {
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.EqualFold(k, name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// beAction is what the backend does with a request.
type beAction struct {
	resp   string        // bytes to send
	close  bool          // close after sending
	drop   bool          // close without answering
	delay  time.Duration // wait before answering
	noBody bool          // answer without reading the request body
	echo   bool          // after resp, echo every byte back (a tunnel)
}

// scriptedBackend is an HTTP/1.x backend on 127.0.0.1 that counts
// connections and requests per connection and answers as its script says.
type scriptedBackend struct {
	t      *testing.T
	ln     net.Listener
	script func(beReq) beAction

	mu     sync.Mutex
	conns  int
	reqs   []beReq
	open   map[net.Conn]bool
	ended  []int // connection numbers the proxy closed (EOF seen)
	closed bool
	wg     sync.WaitGroup
}

func newScriptedBackend(t *testing.T, script func(beReq) beAction) *scriptedBackend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &scriptedBackend{t: t, ln: ln, script: script, open: map[net.Conn]bool{}}
	b.wg.Add(1)
	go b.accept()
	t.Cleanup(b.close)
	return b
}

// answer is a script that answers every request with a small body that
// names the connection and the request number on it.
func answer(r beReq) beAction {
	body := fmt.Sprintf("conn %d req %d\n", r.conn, r.n)
	return beAction{resp: fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(body), body)}
}

func (b *scriptedBackend) addr() string { return b.ln.Addr().String() }

func (b *scriptedBackend) accept() {
	defer b.wg.Done()
	for {
		c, err := b.ln.Accept()
		if err != nil {
			return
		}
		b.mu.Lock()
		if b.closed {
			b.mu.Unlock()
			c.Close()
			return
		}
		b.conns++
		id := b.conns
		b.open[c] = true
		b.wg.Add(1)
		b.mu.Unlock()
		go b.serve(c, id)
	}
}

func (b *scriptedBackend) serve(c net.Conn, id int) {
	defer b.wg.Done()
	peerClosed := false
	defer func() {
		b.mu.Lock()
		delete(b.open, c)
		if peerClosed {
			b.ended = append(b.ended, id)
		}
		b.mu.Unlock()
		c.Close()
	}()
	br := bufio.NewReader(c)
	for n := 1; ; n++ {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		var head strings.Builder
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				peerClosed = err == io.EOF && head.Len() == 0
				return
			}
			head.WriteString(line)
			if line == "\r\n" || line == "\n" {
				break
			}
		}
		r := beReq{conn: id, n: n, head: strings.TrimSuffix(head.String(), "\r\n\r\n")}
		a := b.script(r)
		if cl := r.header("Content-Length"); cl != "" && !a.noBody {
			k, _ := strconv.Atoi(cl)
			r.body = make([]byte, k)
			if _, err := io.ReadFull(br, r.body); err != nil {
				return
			}
		}
		if r.header("Transfer-Encoding") == "chunked" && !a.noBody {
			var err error
			if r.body, err = readChunked(br); err != nil {
				return
			}
		}
		b.mu.Lock()
		b.reqs = append(b.reqs, r)
		b.mu.Unlock()
		if a.delay > 0 {
			time.Sleep(a.delay)
		}
		if a.drop {
			return
		}
		c.SetWriteDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.WriteString(c, a.resp); err != nil {
			return
		}
		if a.echo {
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			io.Copy(c, br)
			peerClosed = true
			return
		}
		if a.close {
			return
		}
	}
}

// readChunked reads a chunked body without trailers.
func readChunked(br *bufio.Reader) ([]byte, error) {
	var body []byte
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return nil, err
		}
		n, err := strconv.ParseInt(strings.TrimSpace(line), 16, 64)
		if err != nil {
			return nil, err
		}
		chunk := make([]byte, n+2)
		if _, err := io.ReadFull(br, chunk); err != nil {
			return nil, err
		}
		if n == 0 {
			return body, nil
		}
		body = append(body, chunk[:n]...)
	}
}

func (b *scriptedBackend) close() {
	b.mu.Lock()
	b.closed = true
	for c := range b.open {
		c.Close()
	}
	b.mu.Unlock()
	b.ln.Close()
	b.wg.Wait()
}

// counts returns the connections accepted and the requests received.
func (b *scriptedBackend) counts() (conns int, reqs []beReq) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.conns, append([]beReq(nil), b.reqs...)
}

// endedConns returns the connections the proxy closed (EOF while the
// backend waited for a request).
func (b *scriptedBackend) endedConns() []int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]int(nil), b.ended...)
}

// ---- proxy instances ----

// proxyInst is an instance with one upstream "be" (keepalive N, or none
// when ka is 0) and the given locations.
func proxyInst(version string, be string, ka int, locations string) string {
	keep := ""
	if ka > 0 {
		keep = fmt.Sprintf("keepalive {\n connections = %d\n enabled = true\n }", ka)
	}
	return fmt.Sprintf(`instance "t" {
  version = %q
  upstream "be" {
    server %q {}
    %s
  }
  server {
    listen {
      address = "127.0.0.1:0"
    }
%s
  }
}
`, version, be, keep, locations)
}

// proxyLoc is a prefix location proxying to http://be with HTTP/1.1 and
// "Connection" cleared, plus extra proxy settings.
func proxyLoc(path, extraProxy, extraLoc string) string {
	return fmt.Sprintf(`    location {
      match = "prefix"
      path  = %q
      %s
      proxy {
        pass         = "http://be"
        http_version = "1.1"
        set_header "Connection" {
          value = ""
        }
        %s
      }
    }
`, path, extraLoc, extraProxy)
}

func upstreamTotals(t *testing.T, s *testServer, name string) upstream.PeerSnapshot {
	t.Helper()
	st := s.Upstreams()
	if st == nil {
		t.Fatal("instance has no upstream stats")
	}
	for _, u := range st.Snapshot() {
		if u.Name == name {
			return u.Totals
		}
	}
	t.Fatalf("no upstream %q in %+v", name, st.Snapshot())
	return upstream.PeerSnapshot{}
}

// waitUpstream polls the upstream counters until cond holds or a second
// passes.
func waitUpstream(t *testing.T, s *testServer, name string, cond func(upstream.PeerSnapshot) bool) upstream.PeerSnapshot {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for {
		ps := upstreamTotals(t, s, name)
		if cond(ps) {
			return ps
		}
		if time.Now().After(deadline) {
			t.Fatalf("upstream condition not met: %+v", ps)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// ---- tests ----

// TestProxyReuse: sequential requests on one client connection go through
// one worker and reuse one upstream connection; every response keeps the
// client connection.
func TestProxyReuse(t *testing.T) {
	be := newScriptedBackend(t, answer)
	s := start(t, proxyInst("1.22.1", be.addr(), 8, proxyLoc("/", "", "")))
	cl := dial(t, s.addr)
	for i := 1; i <= 5; i++ {
		r := cl.get("/x?a=1")
		expectStatus(t, r, 200)
		expectConn(t, r, "keep-alive")
		if want := fmt.Sprintf("conn 1 req %d\n", i); r.body != want {
			t.Fatalf("request %d: body %q, want %q", i, r.body, want)
		}
	}
	conns, reqs := be.counts()
	if conns != 1 || len(reqs) != 5 {
		t.Fatalf("backend saw %d connections, %d requests; want 1, 5", conns, len(reqs))
	}
	// The request upstream: HTTP/1.1, no Connection header, Host
	// $proxy_host, the client's URI as sent.
	first := reqs[0]
	if line := strings.SplitN(first.head, "\r\n", 2)[0]; line != "GET /x?a=1 HTTP/1.1" {
		t.Errorf("request line %q", line)
	}
	if first.header("Connection") != "" || first.header("Host") != "be" {
		t.Errorf("upstream head:\n%s", first.head)
	}
	ps := waitUpstream(t, s, "be", func(ps upstream.PeerSnapshot) bool { return ps.Idle == 1 })
	if ps.Opened != 1 || ps.Reused != 4 || ps.Returned != 5 {
		t.Errorf("counters %+v", ps)
	}
}

// staleOnSecond answers the first request of the first connection and
// closes that connection without answering its second request: the
// backend's idle close racing with the reuse.
func staleOnSecond(r beReq) beAction {
	if r.conn == 1 && r.n == 2 {
		return beAction{drop: true}
	}
	return answer(r)
}

// TestProxyStaleGETRetried: a GET that fails on a reused connection gets
// the free retry on a new connection ($upstream_status "502, 200").
func TestProxyStaleGETRetried(t *testing.T) {
	be := newScriptedBackend(t, staleOnSecond)
	s := start(t, proxyInst("1.22.1", be.addr(), 8, proxyLoc("/", "", "")))
	cl := dial(t, s.addr)
	expectStatus(t, cl.get("/"), 200)
	r := cl.get("/")
	expectStatus(t, r, 200)
	expectConn(t, r, "keep-alive")
	if r.body != "conn 2 req 1\n" {
		t.Fatalf("retried response %q, want it from a new connection", r.body)
	}
	ps := upstreamTotals(t, s, "be")
	if ps.Closed["stale_on_reuse"] != 1 || ps.Opened != 2 {
		t.Errorf("counters %+v", ps)
	}
}

// TestProxyStalePOST502: the same race for a POST is not retried (no
// non_idempotent): nginx's 502 page, and the client connection stays.
func TestProxyStalePOST502(t *testing.T) {
	be := newScriptedBackend(t, staleOnSecond)
	s := start(t, proxyInst("1.22.1", be.addr(), 8, proxyLoc("/", "", "")))
	cl := dial(t, s.addr)
	expectStatus(t, cl.get("/"), 200)
	cl.send("POST /form HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello")
	r := cl.read(false)
	expectStatus(t, r, 502)
	expectConn(t, r, "keep-alive")
	if !strings.Contains(r.body, "502 Bad Gateway") {
		t.Errorf("body %q", r.body)
	}
	cl.expectOpen(50 * time.Millisecond)
	r = cl.get("/")
	expectStatus(t, r, 200)
	if r.body != "conn 2 req 1\n" {
		t.Errorf("after the 502: %q", r.body)
	}
	conns, reqs := be.counts()
	if conns != 2 || len(reqs) != 3 || string(reqs[1].body) != "hello" {
		t.Errorf("backend saw %d connections, %d requests", conns, len(reqs))
	}
	ps := upstreamTotals(t, s, "be")
	if ps.Closed["stale_on_reuse"] != 1 {
		t.Errorf("counters %+v", ps)
	}
	if !strings.Contains(s.logs.String(), "upstream prematurely closed connection") {
		t.Errorf("no upstream error logged:\n%s", s.logs.String())
	}
}

// TestProxyStalePOSTNonIdempotent: with non_idempotent the POST is
// replayed on a new connection.
func TestProxyStalePOSTNonIdempotent(t *testing.T) {
	be := newScriptedBackend(t, staleOnSecond)
	s := start(t, proxyInst("1.22.1", be.addr(), 8, proxyLoc("/", `next_upstream = ["error", "timeout", "non_idempotent"]`, "")))
	cl := dial(t, s.addr)
	expectStatus(t, cl.get("/"), 200)
	cl.send("POST /form HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello")
	r := cl.read(false)
	expectStatus(t, r, 200)
	_, reqs := be.counts()
	if len(reqs) != 3 || string(reqs[2].body) != "hello" || reqs[2].conn != 2 {
		t.Errorf("backend requests %+v", reqs)
	}
}

// rawHead reads a response head from the client's reader.
func (cl *client) rawHead() string {
	cl.t.Helper()
	cl.c.SetReadDeadline(time.Now().Add(3 * time.Second))
	var b strings.Builder
	for {
		line, err := cl.br.ReadString('\n')
		if err != nil {
			cl.t.Fatalf("reading head: %v (so far %q)", err, b.String())
		}
		b.WriteString(line)
		if line == "\r\n" {
			return b.String()
		}
	}
}

// TestProxyTruncated: an upstream that fails in the middle of the body
// after the head went out: the client gets what arrived, no final chunk,
// and the connection closes (reason upstream_truncated).
func TestProxyTruncated(t *testing.T) {
	for _, tc := range []struct {
		name, resp, proxy string
		want              string
	}{
		{"chunked buffered", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n", "", "5\r\nhello\r\n"},
		{"chunked unbuffered", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n", "buffering = false", "5\r\nhello\r\n"},
		{"length unbuffered", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhello", "buffering = false", "hello"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			be := newScriptedBackend(t, func(r beReq) beAction { return beAction{resp: tc.resp, close: true} })
			s := start(t, proxyInst("1.22.1", be.addr(), 8, proxyLoc("/", tc.proxy, "")))
			cl := dial(t, s.addr)
			cl.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
			head := cl.rawHead()
			if !strings.HasPrefix(head, "HTTP/1.1 200 OK\r\n") || !strings.Contains(head, "Connection: keep-alive\r\n") {
				t.Fatalf("head %q", head)
			}
			how, data, _ := cl.end(2 * time.Second)
			if how != "fin" || data != tc.want {
				t.Fatalf("ended %s with %q, want fin after %q", how, data, tc.want)
			}
			waitStats(t, s, func(st Stats) bool { return closes(st, ReasonUpstreamTruncated) == 1 })
			ps := waitUpstream(t, s, "be", func(ps upstream.PeerSnapshot) bool { return ps.Closed["error"] == 1 })
			if ps.Idle != 0 {
				t.Errorf("counters %+v", ps)
			}
		})
	}
}

// TestProxyWebSocket: a 101 answer turns the exchange into a byte tunnel;
// the client connection closes when it ends (reason upgraded).
func TestProxyWebSocket(t *testing.T) {
	be := newScriptedBackend(t, func(r beReq) beAction {
		if r.header("Upgrade") != "websocket" || r.header("Connection") != "upgrade" {
			return beAction{resp: "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"}
		}
		return beAction{resp: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", echo: true}
	})
	loc := `    location {
      match = "prefix"
      path  = "/ws"
      proxy {
        pass         = "http://be"
        http_version = "1.1"
        set_header "Upgrade" {
          value = "$http_upgrade"
        }
        set_header "Connection" {
          value = "upgrade"
        }
      }
    }
`
	s := start(t, proxyInst("1.22.1", be.addr(), 8, loc))
	cl := dial(t, s.addr)
	// The first frame arrives with the request: it must reach the
	// backend through the tunnel too.
	cl.send("GET /ws HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nearly")
	r := cl.read(false)
	expectStatus(t, r, 101)
	expectConn(t, r, "upgrade")
	if r.line != "HTTP/1.1 101 Switching Protocols" {
		t.Errorf("status line %q, want the upstream's", r.line)
	}
	if r.header("Upgrade") != "websocket" {
		t.Fatalf("headers %v", r.headers)
	}
	buf := make([]byte, 5)
	cl.c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.ReadFull(cl.br, buf); err != nil || string(buf) != "early" {
		t.Fatalf("echo of the early bytes: %q %v", buf, err)
	}
	cl.send("ping!")
	if _, err := io.ReadFull(cl.br, buf); err != nil || string(buf) != "ping!" {
		t.Fatalf("echo: %q %v", buf, err)
	}
	cl.c.CloseWrite()
	cl.expectEnd("fin", 0, time.Second)
	waitStats(t, s, func(st Stats) bool { return closes(st, ReasonUpgraded) == 1 })
	waitUpstream(t, s, "be", func(ps upstream.PeerSnapshot) bool {
		return ps.Closed["not_reusable_response"] == 1 && ps.Idle == 0
	})
}

// TestProxyUnbufferedEarlyAnswer: with request buffering off, a backend
// that answers before the body is complete: the client sees
// "Connection: keep-alive" (decided before the response), then FIN with
// lingering close (the body was not read), and the upstream connection is
// not reused since the request was not fully sent
// (proxy_request_buffering_keepalive.t).
func TestProxyUnbufferedEarlyAnswer(t *testing.T) {
	be := newScriptedBackend(t, func(r beReq) beAction {
		a := answer(r)
		a.noBody = r.n == 1 && r.conn == 1
		return a
	})
	s := start(t, proxyInst("1.22.1", be.addr(), 8, proxyLoc("/", "request_buffering = false", "")))
	cl := dial(t, s.addr)
	cl.send("POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n0123456789")
	r := cl.read(false)
	expectStatus(t, r, 200)
	expectConn(t, r, "keep-alive")
	start := time.Now()
	how, _, _ := cl.end(2 * time.Second)
	if how != "fin" || time.Since(start) > time.Second {
		t.Fatalf("connection %s after %v, want an early FIN", how, time.Since(start))
	}
	cl.c.Close() // ends the server's lingering close
	waitStats(t, s, func(st Stats) bool { return closes(st, ReasonBodyUnread) == 1 })
	waitUpstream(t, s, "be", func(ps upstream.PeerSnapshot) bool { return ps.Closed["not_reusable_response"] == 1 })
	cl2 := dial(t, s.addr)
	r = cl2.get("/")
	if r.body != "conn 2 req 1\n" {
		t.Fatalf("next request went to %q, want a new upstream connection", r.body)
	}
}

// TestProxyUnbufferedBody: with request buffering off a body that arrives
// in pieces is streamed and the connections stay reusable.
func TestProxyUnbufferedBody(t *testing.T) {
	be := newScriptedBackend(t, answer)
	s := start(t, proxyInst("1.22.1", be.addr(), 8, proxyLoc("/", "request_buffering = false", "")))
	cl := dial(t, s.addr)
	cl.send("POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n01234")
	time.Sleep(30 * time.Millisecond)
	cl.send("56789")
	r := cl.read(false)
	expectStatus(t, r, 200)
	expectConn(t, r, "keep-alive")
	cl.send("POST /up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n")
	time.Sleep(30 * time.Millisecond)
	cl.send("0\r\n\r\n")
	r = cl.read(false)
	expectStatus(t, r, 200)
	if r.body != "conn 1 req 2\n" {
		t.Errorf("second response %q", r.body)
	}
	_, reqs := be.counts()
	if len(reqs) != 2 || string(reqs[0].body) != "0123456789" || string(reqs[1].body) != "abc" {
		t.Fatalf("backend requests %+v", reqs)
	}
	cl.expectOpen(20 * time.Millisecond)
}

// TestProxyShutdownClosesIdle: a graceful shutdown closes idle upstream
// connections at once (as ngx_close_idle_connections does) while a request
// in flight finishes with "Connection: close" and its upstream connection
// is closed instead of cached.
func TestProxyShutdownClosesIdle(t *testing.T) {
	be := newScriptedBackend(t, func(r beReq) beAction {
		a := answer(r)
		if strings.HasPrefix(r.head, "GET /slow ") {
			a.delay = 300 * time.Millisecond
		}
		return a
	})
	s := start(t, proxyInst("1.22.1", be.addr(), 8, proxyLoc("/", "", "")))
	busy := dial(t, s.addr)
	busy.send("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n")
	waitUpstream(t, s, "be", func(ps upstream.PeerSnapshot) bool { return ps.Opened == 1 })
	idle := dial(t, s.addr)
	r := idle.get("/")
	if r.body != "conn 2 req 1\n" {
		t.Fatalf("idle request answered %q", r.body)
	}
	waitUpstream(t, s, "be", func(ps upstream.PeerSnapshot) bool { return ps.Idle == 1 })

	done := make(chan error, 1)
	go func() { done <- s.Shutdown(t.Context()) }()
	deadline := time.Now().Add(time.Second)
	for len(be.endedConns()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the idle upstream connection was not closed")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if got := be.endedConns(); len(got) != 1 || got[0] != 2 {
		t.Fatalf("closed upstream connections %v, want [2]", got)
	}
	r = busy.read(false)
	expectStatus(t, r, 200)
	expectConn(t, r, "close")
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	ps := upstreamTotals(t, s, "be")
	if ps.Closed["shutdown"] != 2 || ps.Idle != 0 {
		t.Errorf("counters %+v", ps)
	}
}

// TestProxyReadTimeout504: proxy_read_timeout without an answer gives
// nginx's 504 page; the client connection stays, the upstream connection
// is closed as an error.
func TestProxyReadTimeout504(t *testing.T) {
	be := newScriptedBackend(t, func(r beReq) beAction {
		a := answer(r)
		a.delay = 400 * time.Millisecond
		return a
	})
	s := start(t, proxyInst("1.22.1", be.addr(), 8, proxyLoc("/", `read_timeout = "100ms"`, "")))
	cl := dial(t, s.addr)
	begin := time.Now()
	r := cl.get("/")
	expectStatus(t, r, 504)
	expectConn(t, r, "keep-alive")
	if el := time.Since(begin); el < 100*time.Millisecond || el > 350*time.Millisecond {
		t.Errorf("504 after %v, want about proxy_read_timeout", el)
	}
	cl.expectOpen(20 * time.Millisecond)
	waitUpstream(t, s, "be", func(ps upstream.PeerSnapshot) bool { return ps.Closed["error"] == 1 })
	if !strings.Contains(s.logs.String(), "upstream timed out") {
		t.Errorf("no timeout logged")
	}
}

// TestProxyNoBodyResponses: HEAD, 204 and 304 (even with a length) end
// the upstream response at its head, so the connection is reused; the
// client gets the upstream's Content-Length for HEAD.
func TestProxyNoBodyResponses(t *testing.T) {
	be := newScriptedBackend(t, func(r beReq) beAction {
		switch {
		case strings.HasPrefix(r.head, "HEAD "):
			return beAction{resp: "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n"}
		case strings.HasPrefix(r.head, "GET /odd "):
			return beAction{resp: "HTTP/1.1 299 Odd But Fine\r\nContent-Length: 0\r\n\r\n"}
		case strings.HasPrefix(r.head, "GET /204 "):
			return beAction{resp: "HTTP/1.1 204 No Content\r\n\r\n"}
		case strings.HasPrefix(r.head, "GET /304 "):
			return beAction{resp: "HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\n\r\n"}
		}
		return answer(r)
	})
	s := start(t, proxyInst("1.22.1", be.addr(), 8, proxyLoc("/", "", "")))
	cl := dial(t, s.addr)
	cl.send("HEAD / HTTP/1.1\r\nHost: t\r\n\r\n")
	r := cl.read(true)
	expectStatus(t, r, 200)
	if r.header("Content-Length") != "1234" {
		t.Errorf("HEAD headers %v", r.headers)
	}
	if r := cl.get("/odd"); r.line != "HTTP/1.1 299 Odd But Fine" {
		t.Errorf("status line %q, want the upstream's", r.line)
	}
	expectStatus(t, cl.get("/204"), 204)
	cl.send("GET /304 HTTP/1.1\r\nHost: t\r\n\r\n")
	expectStatus(t, cl.read(true), 304)
	r = cl.get("/")
	if r.body != "conn 1 req 5\n" {
		t.Fatalf("after HEAD, 204 and 304 the connection was not reused: %q", r.body)
	}
	cl.expectOpen(20 * time.Millisecond)
}

// TestProxyUnknownLength: a close-delimited upstream body is chunked to an
// HTTP/1.1 client (kept alive) and closes an HTTP/1.0 client's connection
// (reason unknown_length); the upstream connection is never cached.
func TestProxyUnknownLength(t *testing.T) {
	be := newScriptedBackend(t, func(r beReq) beAction {
		return beAction{resp: "HTTP/1.1 200 OK\r\n\r\nuntil close", close: true}
	})
	s := start(t, proxyInst("1.22.1", be.addr(), 8, proxyLoc("/", "", "")))
	cl := dial(t, s.addr)
	r := cl.get("/")
	if r.header("Transfer-Encoding") != "chunked" || r.body != "until close" {
		t.Fatalf("HTTP/1.1: %v %q", r.headers, r.body)
	}
	expectConn(t, r, "keep-alive")
	cl.expectOpen(20 * time.Millisecond)

	cl10 := dial(t, s.addr)
	cl10.send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
	r = cl10.read(false)
	expectConn(t, r, "close")
	if r.body != "until close" || r.has("Transfer-Encoding") {
		t.Fatalf("HTTP/1.0: %v %q", r.headers, r.body)
	}
	waitStats(t, s, func(st Stats) bool { return closes(st, ReasonUnknownLength) == 1 })
	ps := waitUpstream(t, s, "be", func(ps upstream.PeerSnapshot) bool { return ps.Closed["not_reusable_response"] == 2 })
	if ps.Reused != 0 {
		t.Errorf("counters %+v", ps)
	}
}

// TestProxyImplicitUpstream: proxy_pass to a literal address is an
// implicit upstream, never cached: one backend connection per request.
func TestProxyImplicitUpstream(t *testing.T) {
	be := newScriptedBackend(t, answer)
	loc := fmt.Sprintf(`    location {
      match = "prefix"
      path  = "/"
      proxy {
        pass         = "http://%s"
        http_version = "1.1"
        set_header "Connection" {
          value = ""
        }
      }
    }
`, be.addr())
	s := start(t, proxyInst("1.22.1", be.addr(), 8, loc))
	cl := dial(t, s.addr)
	for i := 1; i <= 3; i++ {
		if r := cl.get("/"); r.body != fmt.Sprintf("conn %d req 1\n", i) {
			t.Fatalf("request %d: %q", i, r.body)
		}
	}
	waitUpstream(t, s, be.addr(), func(ps upstream.PeerSnapshot) bool { return ps.Closed["no_keepalive"] == 3 })
}

// TestProxyInterceptErrors: with intercept_errors an upstream status that
// has an error_page is answered by the error page; the upstream body is
// not passed and its connection not reused.
func TestProxyInterceptErrors(t *testing.T) {
	be := newScriptedBackend(t, func(r beReq) beAction {
		return beAction{resp: "HTTP/1.1 404 Not Found\r\nContent-Length: 8\r\n\r\nupstream"}
	})
	locs := proxyLoc("/", "intercept_errors = true", `error_page {
        codes = [404]
        uri   = "/nf"
      }`) + `    location {
      match = "exact"
      path  = "/nf"
      return {
        code = 200
        text = "local page"
      }
    }
`
	s := start(t, proxyInst("1.22.1", be.addr(), 8, locs))
	cl := dial(t, s.addr)
	r := cl.get("/x")
	if r.status != 404 || r.body != "local page" {
		t.Fatalf("%s %q", r.line, r.body)
	}
	expectConn(t, r, "keep-alive")
	waitUpstream(t, s, "be", func(ps upstream.PeerSnapshot) bool { return ps.Closed["not_reusable_response"] == 1 })
}

// TestProxyReload: a reload compiles a new upstream set; the old workers'
// idle upstream connections close at once (reason shutdown) and the new
// workers open their own.
func TestProxyReload(t *testing.T) {
	be := newScriptedBackend(t, answer)
	src := proxyInst("1.22.1", be.addr(), 8, proxyLoc("/", "", ""))
	s := start(t, src)
	cl := dial(t, s.addr)
	expectStatus(t, cl.get("/"), 200)
	old := s.Upstreams()
	if err := s.Reload(decodeInstance(t, src)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Second)
	for len(be.endedConns()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the old worker's idle upstream connection was not closed")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if n := old.Snapshot()[0].Totals.Closed["shutdown"]; n != 1 {
		t.Errorf("old set: %d shutdown closes", n)
	}
	cl2 := dial(t, s.addr)
	if r := cl2.get("/"); r.body != "conn 2 req 1\n" {
		t.Fatalf("after reload: %q", r.body)
	}
	if s.Upstreams() == old {
		t.Error("the reload kept the old upstream set")
	}
}

// TestProxyClientAbort: a client that closes while the backend is still
// working ends the request (499, no response) and the upstream connection
// is closed rather than cached; with ignore_client_abort the exchange runs
// to its end and the connection is kept.
func TestProxyClientAbort(t *testing.T) {
	for _, tc := range []struct {
		name, proxy string
		reason      string
	}{
		{"abort", "", "not_reusable_response"},
		{"ignore", "ignore_client_abort = true", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			be := newScriptedBackend(t, func(r beReq) beAction {
				a := answer(r)
				a.delay = 300 * time.Millisecond
				return a
			})
			s := start(t, proxyInst("1.22.1", be.addr(), 8, proxyLoc("/", tc.proxy, "")))
			cl := dial(t, s.addr)
			cl.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
			time.Sleep(30 * time.Millisecond)
			closed := time.Now()
			cl.c.Close()
			waitStats(t, s, func(st Stats) bool { return closes(st, ReasonPeerClosed) == 1 })
			if tc.reason != "" {
				// noticed within the check interval, not when the
				// backend answers 300 ms after the request
				if el := time.Since(closed); el > 220*time.Millisecond {
					t.Errorf("client close noticed after %v", el)
				}
				ps := waitUpstream(t, s, "be", func(ps upstream.PeerSnapshot) bool { return ps.Closed[tc.reason] == 1 })
				if ps.Idle != 0 {
					t.Errorf("counters %+v", ps)
				}
				if !strings.Contains(s.logs.String(), "client prematurely closed connection") {
					t.Errorf("abort not logged")
				}
				return
			}
			waitUpstream(t, s, "be", func(ps upstream.PeerSnapshot) bool { return ps.Idle == 1 && ps.Returned == 1 })
		})
	}
}

// TestProxyWorkerConnections: upstream connections take worker
// connection slots. With worker_connections 5 (one listener and the
// master channel count too), two clients and one busy upstream connection
// leave no slot for a second upstream connection: nginx answers 500
// (which closes the client connection), without blaming the peer.
func TestProxyWorkerConnections(t *testing.T) {
	be := newScriptedBackend(t, func(r beReq) beAction {
		a := answer(r)
		if strings.HasPrefix(r.head, "GET /slow ") {
			a.delay = 300 * time.Millisecond
		}
		return a
	})
	src := strings.Replace(proxyInst("1.22.1", be.addr(), 8, proxyLoc("/", "", "")),
		`version = "1.22.1"`, "version = \"1.22.1\"\n  worker_connections = 5", 1)
	s := start(t, src)
	a := dial(t, s.addr)
	a.send("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n")
	waitUpstream(t, s, "be", func(ps upstream.PeerSnapshot) bool { return ps.Opened == 1 })
	b := dial(t, s.addr)
	r := b.get("/")
	expectStatus(t, r, 500)
	expectConn(t, r, "close")
	r = a.read(false)
	expectStatus(t, r, 200)
	// the busy connection is now cached and serves the next request
	if r = a.get("/"); r.body != "conn 1 req 2\n" {
		t.Fatalf("%q", r.body)
	}
	ps := upstreamTotals(t, s, "be")
	if ps.Opened != 1 || ps.Failures != 0 {
		t.Errorf("counters %+v", ps)
	}
	if !strings.Contains(s.logs.String(), "worker_connections are not enough") {
		t.Errorf("not logged")
	}
}

// TestProxyPassRequestBodyOff: the body is read from the client (nginx
// reads it before connecting) but not sent; the upstream request has no
// Content-Length, and both connections stay reusable.
func TestProxyPassRequestBodyOff(t *testing.T) {
	be := newScriptedBackend(t, answer)
	s := start(t, proxyInst("1.22.1", be.addr(), 8, proxyLoc("/", "pass_request_body = false", "")))
	cl := dial(t, s.addr)
	cl.send("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhel")
	time.Sleep(30 * time.Millisecond)
	if _, reqs := be.counts(); len(reqs) != 0 {
		t.Fatal("the upstream was contacted before the body was read")
	}
	cl.send("lo")
	r := cl.read(false)
	expectStatus(t, r, 200)
	expectConn(t, r, "keep-alive")
	expectStatus(t, cl.get("/"), 200)
	_, reqs := be.counts()
	if len(reqs) != 2 || reqs[0].header("Content-Length") != "" || reqs[0].conn != reqs[1].conn {
		t.Fatalf("backend requests %+v", reqs)
	}
}
