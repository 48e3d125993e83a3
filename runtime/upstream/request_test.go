package upstream

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/ngxkeep/ngxkeep/runtime/config"
)

// lastHead returns the request head the backend received last.
func lastHead(t *testing.T, b *backend) backendReq {
	t.Helper()
	_, reqs := b.stats()
	if len(reqs) == 0 {
		t.Fatal("backend saw no request")
	}
	return reqs[len(reqs)-1]
}

func TestRequestToBackendVersionDefaults(t *testing.T) {
	b := newBackend(t, okHandler("x"))
	e := newEnv(t, []*config.Upstream{ups("app", ka(4), b.addr())})
	// before 1.29.7 the translator emits the effective defaults
	old := e.proxy(config.Proxy{Pass: "http://app", SetHeaders: []config.ProxyHeader{{Name: "Host", Value: "$proxy_host"}, {Name: "Connection", Value: "close"}}})
	// 1.29.7+: HTTP/1.1 and no Connection header
	cur := e.proxy(config.Proxy{Pass: "http://app", HTTPVersion: "1.1"})
	e.start()
	client := []Field{{"Connection", "keep-alive"}, {"Keep-Alive", "300"}, {"TE", "trailers"}, {"Upgrade", "h2c"}, {"Expect", "100-continue"}, {"X-Custom", "1"}}
	e.do(old, get("GET", "/a?b=1", client...))
	r := lastHead(t, b)
	lines := strings.Split(r.head, "\r\n")
	if lines[0] != "GET /a?b=1 HTTP/1.0" {
		t.Errorf("request line %q", lines[0])
	}
	if v, _ := r.header("Connection"); v != "close" {
		t.Errorf("Connection = %q", v)
	}
	if v, _ := r.header("Host"); v != "app" {
		t.Errorf("Host = %q, want $proxy_host", v)
	}
	for _, h := range []string{"Keep-Alive", "TE", "Upgrade", "Expect"} {
		if _, ok := r.header(h); ok {
			t.Errorf("%s was copied from the client", h)
		}
	}
	if v, _ := r.header("X-Custom"); v != "1" {
		t.Errorf("X-Custom not passed")
	}
	e.do(cur, get("GET", "/a", client...))
	r = lastHead(t, b)
	if !strings.HasPrefix(r.head, "GET /a HTTP/1.1\r\nHost: app\r\n") {
		t.Errorf("head %q", r.head)
	}
	if _, ok := r.header("Connection"); ok {
		t.Errorf("Connection sent by default from 1.29.7")
	}
	// pre-1.29.7 sent Connection: close, yet the backend kept the
	// connection: nginx decides from the response only and reuses it
	if conns, _ := b.stats(); conns != 1 {
		t.Errorf("connections = %d, want 1", conns)
	}
}

func TestSetHeaderVariables(t *testing.T) {
	b := newBackend(t, okHandler("x"))
	e := newEnv(t, []*config.Upstream{ups("app", ka(4), b.addr())})
	p := e.proxy(config.Proxy{Pass: "http://app/new/", HTTPVersion: "1.1", SetHeaders: []config.ProxyHeader{
		{Name: "Host", Value: "$host"},
		{Name: "X-Forwarded-For", Value: "$proxy_add_x_forwarded_for"},
		{Name: "X-Real-IP", Value: "$remote_addr"},
		{Name: "X-Args", Value: "$args|$arg_b|$request_uri|$uri|$request_method|$scheme"},
		{Name: "X-UA", Value: "${http_user_agent}!"},
		{Name: "X-Empty", Value: "$http_nothing"},
		{Name: "X-Map", Value: "$mapped"},
	}})
	e.start()
	r := get("POST", "/old/path?a=1&b=2", Field{"Host", "Example.COM:8443"}, Field{"X-Forwarded-For", "10.0.0.1"}, Field{"User-Agent", "ua"})
	r.Header = r.Header[1:]
	r.Vars = mapVars{"mapped": "from-map"}
	e.do(p, r)
	got := lastHead(t, b)
	want := map[string]string{
		"Host": "example.com", "X-Forwarded-For": "10.0.0.1, 192.0.2.7", "X-Real-IP": "192.0.2.7",
		"X-Args": "a=1&b=2|2|/old/path?a=1&b=2|/old/path|POST|http", "X-UA": "ua!", "X-Map": "from-map",
	}
	for k, v := range want {
		if g, _ := got.header(k); g != v {
			t.Errorf("%s = %q, want %q", k, g, v)
		}
	}
	if _, ok := got.header("X-Empty"); ok {
		t.Error("a header with an empty value was sent")
	}
	// the location prefix "/" is replaced by the proxy_pass URI "/new/"
	if line := strings.SplitN(got.head, "\r\n", 2)[0]; line != "POST /new/old/path?a=1&b=2 HTTP/1.1" {
		t.Errorf("request line %q", line)
	}
	if v, _ := got.header("Content-Length"); v != "" {
		t.Errorf("Content-Length %q for a request without body", v)
	}
}

type mapVars map[string]string

func (m mapVars) Var(n string) (string, bool) { v, ok := m[n]; return v, ok }

func TestRequestBodyLengthRecomputed(t *testing.T) {
	b := newBackend(t, okHandler("x"))
	e := newEnv(t, []*config.Upstream{ups("app", ka(4), b.addr())})
	p := e.proxy(http11("http://app"))
	e.start()
	r := post("/", "hello")
	r.Header = append(r.Header, Field{"Content-Length", "999"}, Field{"Transfer-Encoding", "chunked"})
	e.do(p, r)
	got := lastHead(t, b)
	if v, _ := got.header("Content-Length"); v != "5" || string(got.body) != "hello" {
		t.Fatalf("Content-Length %q body %q", v, got.body)
	}
	if _, ok := got.header("Transfer-Encoding"); ok {
		t.Fatal("Transfer-Encoding copied")
	}
}

func TestResponseHeadersToClient(t *testing.T) {
	b := newBackend(t, func(r backendReq) action {
		return action{resp: "HTTP/1.1 201 Created Here\r\nServer: be\r\nDate: x\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nX-Accel-Buffering: no\r\nSet-Cookie: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"}
	})
	e := newEnv(t, []*config.Upstream{ups("app", ka(4), b.addr())})
	p := e.proxy(http11("http://app"))
	e.start()
	_, rec := e.do(p, get("GET", "/"))
	h := rec.head
	if h.Status != 201 || h.StatusLine != "201 Created Here" || h.ContentLength != -1 {
		t.Fatalf("%+v", h)
	}
	if len(h.Header) != 1 || h.Header[0].Name != "Set-Cookie" {
		t.Fatalf("passed headers %+v", h.Header)
	}
}

func TestWebSocketUpgrade(t *testing.T) {
	// backend: answer 101 and echo bytes
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
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
		n, _ := c.Read(buf)
		if !strings.Contains(string(buf[:n]), "Upgrade: websocket") {
			return
		}
		c.Write([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n"))
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			c.Write(buf[:n])
		}
	}()
	e := newEnv(t, []*config.Upstream{ups("ws", ka(4), ln.Addr().String())})
	cp := http11("http://ws")
	cp.SetHeaders = []config.ProxyHeader{{Name: "Upgrade", Value: "$http_upgrade"}, {Name: "Connection", Value: "upgrade"}}
	p := e.proxy(cp)
	e.start()
	cl, sv := net.Pipe()
	tw := &tunnelRecorder{conn: sv}
	resc := make(chan Result, 1)
	go func() {
		resc <- e.w.Proxy(t.Context(), p, get("GET", "/ws", Field{"Upgrade", "websocket"}, Field{"Connection", "Upgrade"}), tw)
	}()
	_ = cl.SetDeadline(time.Now().Add(5 * time.Second))
	cl.Write([]byte("ping"))
	buf := make([]byte, 4)
	if _, err := ioReadFull(cl, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("echo %q %v", buf, err)
	}
	cl.Close()
	res := <-resc
	sv.Close()
	<-done
	if !res.Upgraded || !res.KeepaliveOff || res.Status != 101 || tw.head == nil || !tw.head.Upgrade {
		t.Fatalf("%+v", res)
	}
}

type tunnelRecorder struct {
	recorder
	conn net.Conn
}

func (t *tunnelRecorder) Tunnel() (net.Conn, []byte, error) { return t.conn, nil, nil }

func ioReadFull(c net.Conn, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := c.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// TestUnbufferedBodyArrived: with request buffering off, a chunked body
// that has all arrived is read first and sent with a Content-Length
// (ngx_http_read_client_request_body clears request_body_no_buffering);
// one still arriving is streamed chunked.
func TestUnbufferedBodyArrived(t *testing.T) {
	for _, arrived := range []bool{true, false} {
		b := newBackend(t, okHandler("x"))
		b.mu.Lock()
		b.noBody = !arrived // a streamed chunked body is not read back
		b.mu.Unlock()
		e := newEnv(t, []*config.Upstream{ups("app", ka(4), b.addr())})
		cp := http11("http://app")
		cp.RequestBuffering = boolp(false)
		p := e.proxy(cp)
		e.start()
		r := post("/", "hello")
		r.ContentLength, r.Chunked, r.BodyArrived = -1, true, arrived
		if res, _ := e.do(p, r); res.Status != 200 {
			t.Fatalf("arrived %v: %+v", arrived, res)
		}
		_, reqs := b.stats()
		if len(reqs) == 0 {
			t.Fatal("backend saw no request")
		}
		got := reqs[0] // a streamed body follows as unparsed lines
		cl, hasCL := got.header("Content-Length")
		te, hasTE := got.header("Transfer-Encoding")
		if arrived && (cl != "5" || hasTE || string(got.body) != "hello") {
			t.Errorf("arrived: Content-Length %q, Transfer-Encoding %q, body %q; want 5, none, hello", cl, te, got.body)
		}
		if !arrived && (hasCL || te != "chunked") {
			t.Errorf("streamed: Content-Length %q, Transfer-Encoding %q; want none, chunked", cl, te)
		}
	}
}

// TestUnbufferedChunkedBodyBytes: a chunked body streamed with request
// buffering off reaches the upstream re-chunked per read, with the last
// chunk after the last bytes, whether they come with the end or alone.
func TestUnbufferedChunkedBodyBytes(t *testing.T) {
	for _, endWithData := range []bool{true, false} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		got := make(chan string, 1)
		go func() {
			c, err := ln.Accept()
			if err != nil {
				got <- err.Error()
				return
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			var all []byte
			buf := make([]byte, 4096)
			for !strings.HasSuffix(string(all), "0\r\n\r\n") {
				n, err := c.Read(buf)
				all = append(all, buf[:n]...)
				if err != nil {
					break
				}
			}
			got <- string(all)
			c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))
		}()
		e := newEnv(t, []*config.Upstream{ups("app", nil, ln.Addr().String())})
		cp := http11("http://app")
		cp.RequestBuffering = boolp(false)
		p := e.proxy(cp)
		e.start()
		r := post("/", "")
		r.ContentLength, r.Chunked = -1, true
		r.Body = &pieces{parts: []string{"ab", "cde"}, endWithData: endWithData}
		res, _ := e.do(p, r)
		ln.Close()
		body := <-got
		if _, b, _ := strings.Cut(body, "\r\n\r\n"); b != "2\r\nab\r\n3\r\ncde\r\n0\r\n\r\n" || res.Status != 200 {
			t.Errorf("end with data %v: upstream got body %q, status %d", endWithData, b, res.Status)
		}
	}
}

// pieces is a body read in the given parts; the last part comes with
// io.EOF when endWithData is set.
type pieces struct {
	parts       []string
	endWithData bool
}

func (p *pieces) Read(b []byte) (int, error) {
	if len(p.parts) == 0 {
		return 0, io.EOF
	}
	n := copy(b, p.parts[0])
	p.parts = p.parts[1:]
	if len(p.parts) == 0 && p.endWithData {
		return n, io.EOF
	}
	return n, nil
}
