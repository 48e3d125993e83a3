package upstream

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ngxkeep/ngxkeep/runtime/config"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// backendReq is one request a scripted backend received.
type backendReq struct {
	conn, n int // connection number (1-based) and request number on it
	head    string
	body    []byte
}

func (r backendReq) header(name string) (string, bool) {
	for _, line := range strings.Split(r.head, "\r\n")[1:] {
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.EqualFold(k, name) {
			return strings.TrimSpace(v), true
		}
	}
	return "", false
}

// action is what a scripted backend does with a request.
type action struct {
	resp  string        // raw bytes to send
	close bool          // close after sending
	drop  bool          // close without answering
	reset bool          // close with RST without answering
	delay time.Duration // wait before answering
}

// backend is a raw-TCP HTTP backend on 127.0.0.1 that counts connections
// and requests per connection.
type backend struct {
	t      *testing.T
	ln     net.Listener
	mu     sync.Mutex
	conns  int
	reqs   []backendReq
	handle func(r backendReq) action
	wg     sync.WaitGroup
	open   map[net.Conn]bool
	closed bool
	noBody bool // never read request bodies
}

func newBackend(t *testing.T, handle func(r backendReq) action) *backend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &backend{t: t, ln: ln, handle: handle, open: map[net.Conn]bool{}}
	b.wg.Add(1)
	go b.accept()
	t.Cleanup(b.close)
	return b
}

func okHandler(body string) func(backendReq) action {
	return func(r backendReq) action {
		return action{resp: fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\nX-Conn: %d\r\n\r\n%s", len(body), r.conn, body)}
	}
}

func (b *backend) addr() string { return b.ln.Addr().String() }

func (b *backend) accept() {
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
		b.mu.Unlock()
		b.wg.Add(1)
		go b.serve(c, id)
	}
}

func (b *backend) serve(c net.Conn, id int) {
	defer b.wg.Done()
	defer func() {
		b.mu.Lock()
		delete(b.open, c)
		b.mu.Unlock()
		c.Close()
	}()
	br := bufio.NewReader(c)
	for n := 1; ; n++ {
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		var head strings.Builder
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			head.WriteString(line)
			if line == "\r\n" || line == "\n" {
				break
			}
		}
		r := backendReq{conn: id, n: n, head: strings.TrimSuffix(head.String(), "\r\n\r\n")}
		b.mu.Lock()
		skipBody := b.noBody
		b.mu.Unlock()
		if cl, ok := r.header("Content-Length"); ok && !skipBody {
			k, _ := strconv.Atoi(cl)
			r.body = make([]byte, k)
			if _, err := io.ReadFull(br, r.body); err != nil {
				return
			}
		}
		b.mu.Lock()
		b.reqs = append(b.reqs, r)
		b.mu.Unlock()
		a := b.handle(r)
		if a.delay > 0 {
			time.Sleep(a.delay)
		}
		if a.reset {
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.SetLinger(0)
			}
			return
		}
		if a.drop {
			return
		}
		if _, err := io.WriteString(c, a.resp); err != nil {
			return
		}
		if a.close {
			return
		}
	}
}

// dropIdle closes every connection the backend holds (its idle timeout).
func (b *backend) dropIdle() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for c := range b.open {
		c.Close()
	}
}

func (b *backend) close() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	b.ln.Close()
	b.dropIdle()
	b.wg.Wait()
}

func (b *backend) stats() (conns int, reqs []backendReq) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.conns, append([]backendReq(nil), b.reqs...)
}

// recorder is a ResponseWriter for tests.
type recorder struct {
	head    *ClientHead
	body    bytes.Buffer
	failAt  int // fail writes once body exceeds this many bytes (0: never)
	flushes int
	writes  int
}

func (r *recorder) WriteHead(h *ClientHead) error {
	cp := *h
	cp.Header = append([]Field(nil), h.Header...)
	r.head = &cp
	return nil
}
func (r *recorder) Write(p []byte) (int, error) {
	r.writes++
	if r.failAt > 0 && r.body.Len()+len(p) > r.failAt {
		return 0, io.ErrClosedPipe
	}
	return r.body.Write(p)
}
func (r *recorder) Flush() error { r.flushes++; return nil }

// env is an upstream set with one worker for a test.
type env struct {
	t   *testing.T
	set *Set
	w   *Worker
}

func newEnv(t *testing.T, ups []*config.Upstream, opts ...Options) *env {
	t.Helper()
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	s, err := NewSet(ups, o)
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, set: s}
}

func (e *env) proxy(cp config.Proxy) *Proxy {
	e.t.Helper()
	p, err := e.set.CompileProxy(&cp, LocationInfo{Prefix: "/"}, true)
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

// start creates the worker; call after every proxy was compiled.
func (e *env) start() *Worker {
	e.w = e.set.NewWorker(0)
	e.t.Cleanup(e.w.Shutdown)
	return e.w
}

func get(method, uri string, hdr ...Field) *Request {
	path, args, _ := strings.Cut(uri, "?")
	h := append([]Field{{"Host", "example.com"}}, hdr...)
	return &Request{Method: method, RawURI: uri, Path: path, Args: args, Header: h,
		ContentLength: -1, RemoteAddr: netip.MustParseAddrPort("192.0.2.7:5555")}
}

func post(uri, body string) *Request {
	r := get("POST", uri)
	r.Body = strings.NewReader(body)
	r.ContentLength = int64(len(body))
	return r
}

func (e *env) do(p *Proxy, r *Request) (Result, *recorder) {
	rec := &recorder{}
	res := e.w.Proxy(context.Background(), p, r, rec)
	return res, rec
}

func ups(name string, ka *config.Keepalive, servers ...string) *config.Upstream {
	u := &config.Upstream{Name: name, Keepalive: ka}
	for _, s := range servers {
		u.Servers = append(u.Servers, config.UpstreamServer{Address: s})
	}
	return u
}

func ka(n int) *config.Keepalive { return &config.Keepalive{Connections: n, Enabled: true} }

func http11(pass string) config.Proxy {
	return config.Proxy{Pass: pass, HTTPVersion: "1.1", SetHeaders: []config.ProxyHeader{{Name: "Connection", Value: ""}}}
}

func intp(i int) *int    { return &i }
func boolp(b bool) *bool { return &b }

// waitFor polls cond for up to two seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// peerStats returns a copy of one peer's counters summed over the workers.
func (e *env) peerStats(upstream, peer string) *PeerCounters {
	ps := e.set.stats.sum(statsKey{upstream, peer})
	pc := new(PeerCounters)
	pc.Opened.Store(ps.Opened)
	pc.Reused.Store(ps.Reused)
	pc.Returned.Store(ps.Returned)
	pc.Requests.Store(ps.Requests)
	pc.Failures.Store(ps.Failures)
	pc.Idle.Store(ps.Idle)
	for _, r := range CloseReasons() {
		pc.Closed[r].Store(ps.Closed[r.String()])
	}
	return pc
}

var netipZero = netip.Addr{}
