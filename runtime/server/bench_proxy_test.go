package server

import (
	"bufio"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// BenchmarkProxyRequest measures one proxied GET end to end over loopback:
// client keep-alive connection → server → upstream keep-alive cache → a raw
// backend answering from memory, and back. allocs/op is the number of
// allocations per proxied request (client, server, proxy and backend
// together; the client and backend loops here do not allocate).
func BenchmarkProxyRequest(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	resp := []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nok\n")
	var wg sync.WaitGroup
	var mu sync.Mutex
	var backendConns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			backendConns = append(backendConns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					// One request head per response (GET, no body).
					for {
						line, err := br.ReadSlice('\n')
						if err != nil {
							return
						}
						if len(line) <= 2 {
							break
						}
					}
					if _, err := c.Write(resp); err != nil {
						return
					}
				}
			}()
		}
	}()
	defer func() {
		ln.Close()
		mu.Lock()
		for _, c := range backendConns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	}()

	src := `instance "bench" {
  version            = "1.22.1"
  worker_processes   = 1
  worker_connections = 1024
  upstream "be" {
    server "` + ln.Addr().String() + `" {}
    keepalive {
      connections = 64
      enabled     = true
    }
  }
  server {
    listen {
      address = "127.0.0.1:0"
    }
    location {
      match              = "prefix"
      path               = "/"
      keepalive_requests = 1000000000
      proxy {
        pass         = "http://be"
        http_version = "1.1"
        set_header "Connection" {
          value = ""
        }
      }
    }
  }
}
`
	s := startBench(b, src)
	c, err := net.Dial("tcp", s.Addr("127.0.0.1:0").String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	req := []byte("GET / HTTP/1.1\r\nHost: localhost\r\nUser-Agent: wrk\r\nAccept: */*\r\n\r\n")
	br := bufio.NewReader(c)
	c.SetDeadline(time.Now().Add(10 * time.Second))
	c.Write(req)
	size := benchProxyReadResponse(b, br)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Write(req); err != nil {
			b.Fatal(err)
		}
		// The response size is fixed (the Date header has a fixed width).
		if _, err := br.Discard(size); err != nil {
			b.Fatal(err)
		}
	}
}

// benchProxyReadResponse reads one response with a Content-Length body and returns its
// size in bytes.
func benchProxyReadResponse(b *testing.B, br *bufio.Reader) int {
	n, length := 0, -1
	for {
		l, err := br.ReadString('\n')
		if err != nil {
			b.Fatal(err)
		}
		n += len(l)
		if v, ok := strings.CutPrefix(strings.ToLower(l), "content-length:"); ok {
			length = benchProxyAtoi(v)
		}
		if l == "\r\n" {
			break
		}
	}
	if length < 0 {
		b.Fatal("proxied response without Content-Length")
	}
	if _, err := br.Discard(length); err != nil {
		b.Fatal(err)
	}
	return n + length
}

func benchProxyAtoi(s string) int {
	n := 0
	for _, ch := range strings.TrimSpace(s) {
		if ch < '0' || ch > '9' {
			return -1
		}
		n = n*10 + int(ch-'0')
	}
	return n
}
