package server

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/ngxkeep/ngxkeep/runtime/config"
)

// rawBackend answers every request head it reads with resp, from one
// goroutine per connection and without allocating per request.
func rawBackend(b *testing.B, resp []byte) net.Listener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
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
					for {
						i := bytes.Index(buf[:have], []byte("\r\n\r\n"))
						if i < 0 {
							break
						}
						copy(buf, buf[i+4:have])
						have -= i + 4
						if _, err := c.Write(resp); err != nil {
							return
						}
					}
				}
			}()
		}
	}()
	return ln
}

// BenchmarkProxyExchange measures one whole proxied request over loopback:
// client -> server (BOX1's proxy location) -> cached upstream connection
// -> a raw backend answering from memory, one request at a time on a
// keep-alive client connection. Allocations count the whole process; the
// raw client and backend allocate nothing per request.
func BenchmarkProxyExchange(b *testing.B) {
	be := rawBackend(b, []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 16\r\nConnection: keep-alive\r\n\r\nhello from box2\n"))
	defer be.Close()
	src := fmt.Sprintf(box1HCL, be.Addr().String())
	cfg, diags := config.Decode("b.hcl", []byte(src))
	if diags.HasErrors() {
		b.Fatal(diags)
	}
	inst := cfg.Instances[0]
	one := 1
	many := 1 << 30
	inst.WorkerProcesses = &one
	inst.Upstreams[0].KeepaliveRequests = many
	inst.Servers[0].Locations[0].KeepaliveRequests = &many
	s, err := New(inst, Options{})
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Start(); err != nil {
		b.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	c, err := net.Dial("tcp", s.Addr("127.0.0.1:0").String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	req := []byte("GET / HTTP/1.1\r\nHost: localhost\r\nUser-Agent: wrk\r\nAccept: */*\r\n\r\n")
	br := bufio.NewReader(c)
	c.Write(req)
	size := readResp(b, br) - 2 + 16 // readResp consumed 2 body bytes
	br.Discard(14)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.Write(req)
		c.SetReadDeadline(time.Now().Add(time.Second))
		if _, err := br.Discard(size); err != nil {
			b.Fatal(err)
		}
	}
}
