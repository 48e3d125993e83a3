package upstream

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"

	"github.com/ngxkeep/ngxkeep/runtime/config"
)

// BenchmarkPoolGetPut measures one cache take (with stopping the idle
// watcher) and one save (with arming it) on a loopback connection.
func BenchmarkPoolGetPut(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			buf := make([]byte, 1)
			c.Read(buf) // hold until the client closes
			c.Close()
		}
	}()
	s, err := NewSet([]*config.Upstream{{Name: "u", Keepalive: ka(8), Servers: []config.UpstreamServer{{Address: ln.Addr().String()}}}}, Options{})
	if err != nil {
		b.Fatal(err)
	}
	p, _ := s.CompileProxy(&config.Proxy{Pass: "http://u"}, LocationInfo{}, true)
	w := s.NewWorker(0)
	defer w.Shutdown()
	g := w.group(p.static)
	x := &exchange{w: w, p: p, g: g, up: p.static, tag: p}
	x.pick.init(g, nil, netipZero)
	pr := x.pick.get(unixNow())
	c, err := w.dial(context.Background(), g, pr, 1e9)
	if err != nil {
		b.Fatal(err)
	}
	x.c, x.keepalive, x.bodySent = c, true, true
	x.release(false, CloseNotReusable, nil)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		x.pick.init(g, nil, netipZero)
		g.mu.Lock()
		pr := x.pick.get(unixNow())
		cand := g.cache.take(pr.name, x.tag)
		g.mu.Unlock()
		c := x.takeCached(pr, cand)
		if c == nil {
			b.Fatal("cache miss")
		}
		c.requests = 0
		x.c, x.keepalive, x.bodySent = c, true, true
		x.release(false, CloseNotReusable, nil)
	}
}

// BenchmarkExchange measures a whole proxied GET over a cached connection
// to a raw backend that answers from memory.
func BenchmarkExchange(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	resp := []byte("HTTP/1.1 200 OK\r\nContent-Length: 16\r\n\r\nhello from box2\n")
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 4096)
				for {
					n, err := c.Read(buf)
					if err != nil {
						return
					}
					// one request per read in this benchmark
					_ = n
					if _, err := c.Write(resp); err != nil {
						return
					}
				}
			}()
		}
	}()
	s, _ := NewSet([]*config.Upstream{{Name: "box2", Keepalive: ka(512), Servers: []config.UpstreamServer{{Address: ln.Addr().String()}}}}, Options{})
	p, _ := s.CompileProxy(&config.Proxy{Pass: "http://box2", HTTPVersion: "1.1", SetHeaders: []config.ProxyHeader{{Name: "Connection", Value: ""}, {Name: "Host", Value: "$host"}}}, LocationInfo{Prefix: "/"}, true)
	w := s.NewWorker(0)
	defer w.Shutdown()
	req := get("GET", "/")
	rec := &recorder{}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rec.body.Reset()
		res := w.Proxy(context.Background(), p, req, rec)
		if res.Status != 200 {
			b.Fatal(res)
		}
	}
}

// BenchmarkHeadPath measures the CPU-only part of a proxied request that
// depends on the headers: the request head built for the upstream, the
// upstream's response head parsed (as nginx 1.22.1 sends it) and the
// client's head filtered from it.
func BenchmarkHeadPath(b *testing.B) {
	s, _ := NewSet([]*config.Upstream{{Name: "be", Keepalive: ka(64), Servers: []config.UpstreamServer{{Address: "127.0.0.1:1"}}}}, Options{})
	p, _ := s.CompileProxy(&config.Proxy{Pass: "http://be", HTTPVersion: "1.1", SetHeaders: []config.ProxyHeader{{Name: "Connection", Value: ""}}}, LocationInfo{Prefix: "/"}, true)
	req := get("GET", "/", Field{"User-Agent", "wrk"}, Field{"Accept", "*/*"})
	resp := "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Thu, 26 Nov 2026 15:28:24 GMT\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok"
	x := &exchange{p: p, req: req}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ev := evaluator{req: req, proxyHost: p.proxyHost, proxyPort: p.proxyPort, bodyLen: -1}
		x.reqHead = x.buildRequest(x.reqHead[:0], "GET", p.uri, p.hasURI, &ev, -1, false)
		if _, err := parseResponseHeadInto(&x.rh, resp, true); err != nil {
			b.Fatal(err)
		}
		if ch := x.clientHead(&x.rh, framing(&x.rh, false), false); len(ch.Header) != 1 {
			b.Fatal(ch.Header)
		}
	}
}

// BenchmarkUnbufferedChunkedUpload measures a request whose chunked body
// (4 reads) is streamed to the upstream with request buffering off.
func BenchmarkUnbufferedChunkedUpload(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	resp := []byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 8192)
				have := 0
				for {
					n, err := c.Read(buf[have:])
					if err != nil {
						return
					}
					have += n
					if i := bytes.Index(buf[:have], []byte("0\r\n\r\n")); i >= 0 && bytes.HasSuffix(buf[:have], []byte("\r\n0\r\n\r\n")) {
						have = 0
						if _, err := c.Write(resp); err != nil {
							return
						}
					}
				}
			}()
		}
	}()
	s, _ := NewSet([]*config.Upstream{{Name: "be", Keepalive: ka(8), Servers: []config.UpstreamServer{{Address: ln.Addr().String()}}}}, Options{})
	p, _ := s.CompileProxy(&config.Proxy{Pass: "http://be", HTTPVersion: "1.1", RequestBuffering: boolp(false), SetHeaders: []config.ProxyHeader{{Name: "Connection", Value: ""}}}, LocationInfo{Prefix: "/"}, true)
	w := s.NewWorker(0)
	defer w.Shutdown()
	rec := &recorder{}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := get("POST", "/")
		r.ContentLength, r.Chunked = -1, true
		r.Body = &pieces{parts: []string{"hello ", "chunked ", "upload ", "body"}, endWithData: true}
		rec.body.Reset()
		if res := w.Proxy(context.Background(), p, r, rec); res.Status != 200 {
			b.Fatal(res.Status)
		}
	}
}

// BenchmarkLargePost measures a buffered 64 KiB request body sent to the
// upstream after its head.
func BenchmarkLargePost(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	const size = 64 << 10
	resp := []byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 128<<10)
				have := 0
				for {
					n, err := c.Read(buf[have:])
					if err != nil {
						return
					}
					have += n
					if i := bytes.Index(buf[:have], []byte("\r\n\r\n")); i >= 0 && have >= i+4+size {
						have = 0
						if _, err := c.Write(resp); err != nil {
							return
						}
					}
				}
			}()
		}
	}()
	s, _ := NewSet([]*config.Upstream{{Name: "be", Keepalive: ka(8), Servers: []config.UpstreamServer{{Address: ln.Addr().String()}}}}, Options{})
	p, _ := s.CompileProxy(&config.Proxy{Pass: "http://be", HTTPVersion: "1.1", SetHeaders: []config.ProxyHeader{{Name: "Connection", Value: ""}}}, LocationInfo{Prefix: "/"}, true)
	w := s.NewWorker(0)
	defer w.Shutdown()
	body := strings.Repeat("x", size)
	rec := &recorder{}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rec.body.Reset()
		if res := w.Proxy(context.Background(), p, post("/", body), rec); res.Status != 200 {
			b.Fatal(res.Status)
		}
	}
}
