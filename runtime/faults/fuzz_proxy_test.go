package faults

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ngxkeep/ngxkeep/runtime/conformance"
)

// conformanceSends returns the bytes each client connection of the
// conformance scenarios sends (its "send" steps, concatenated), as seeds.
func conformanceSends(tb testing.TB) [][]byte {
	scenarios, err := conformance.LoadDir("../../testdata/conformance")
	if err != nil {
		tb.Fatal(err)
	}
	var out [][]byte
	for _, sc := range scenarios {
		conns := map[string][]byte{}
		var order []string
		for _, st := range sc.Steps {
			if st.Verb != "send" {
				continue
			}
			if _, seen := conns[st.Conn]; !seen {
				order = append(order, st.Conn)
			}
			conns[st.Conn] = append(conns[st.Conn], st.Data...)
		}
		for _, c := range order {
			if len(conns[c]) > 0 && len(conns[c]) < 1<<16 {
				out = append(out, conns[c])
			}
		}
	}
	return out
}

// framingBackend accepts proxied requests and records every head whose
// framing is ambiguous: more than one Content-Length or Transfer-Encoding
// line, both kinds, a Transfer-Encoding other than chunked, or a
// hop-by-hop header (Keep-Alive, TE, Upgrade) from the client.
type framingBackend struct {
	ln  net.Listener
	wg  sync.WaitGroup
	mu  sync.Mutex
	bad []string
	n   int
}

func newFramingBackend(tb testing.TB) *framingBackend {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	b := &framingBackend{ln: ln}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b.wg.Add(1)
			go b.serve(c)
		}
	}()
	return b
}

func (b *framingBackend) close() {
	b.ln.Close()
	b.wg.Wait()
}

func (b *framingBackend) take() (n int, bad []string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, bad = b.n, b.bad
	b.n, b.bad = 0, nil
	return n, bad
}

func (b *framingBackend) serve(c net.Conn) {
	defer b.wg.Done()
	defer c.Close()
	br := bufio.NewReader(c)
	for {
		c.SetDeadline(time.Now().Add(5 * time.Second))
		var head bytes.Buffer
		cl, te := []string{}, []string{}
		var problems []string
		for {
			line, err := br.ReadString('\n')
			head.WriteString(line)
			if err != nil {
				return
			}
			line = strings.TrimRight(line, "\r\n")
			if line == "" {
				if head.Len() <= 2 {
					continue
				}
				break
			}
			name, val, ok := strings.Cut(line, ":")
			if !ok {
				continue // the request line
			}
			val = strings.TrimSpace(val)
			switch strings.ToLower(name) {
			case "content-length":
				cl = append(cl, val)
			case "transfer-encoding":
				te = append(te, val)
			case "keep-alive", "te", "upgrade":
				problems = append(problems, "hop-by-hop "+name)
			}
			if strings.ContainsAny(val, "\x00\r") {
				problems = append(problems, "CR or NUL in "+name)
			}
		}
		if len(cl)+len(te) > 1 {
			problems = append(problems, fmt.Sprintf("framing Content-Length %q Transfer-Encoding %q", cl, te))
		}
		if len(te) == 1 && !strings.EqualFold(te[0], "chunked") {
			problems = append(problems, "Transfer-Encoding "+te[0])
		}
		b.mu.Lock()
		b.n++
		if len(problems) > 0 {
			b.bad = append(b.bad, fmt.Sprintf("%v in %q", problems, head.String()))
		}
		b.mu.Unlock()
		if len(problems) > 0 {
			return
		}
		switch {
		case len(te) == 1:
			for {
				sz, err := br.ReadString('\n')
				if err != nil {
					return
				}
				n, err := strconv.ParseInt(strings.TrimSpace(strings.SplitN(sz, ";", 2)[0]), 16, 64)
				if err != nil || n < 0 {
					return
				}
				if _, err := io.CopyN(io.Discard, br, n+2); err != nil {
					return
				}
				if n == 0 {
					break
				}
			}
		case len(cl) == 1:
			n, err := strconv.ParseInt(cl[0], 10, 64)
			if err != nil || n < 0 {
				return
			}
			if _, err := io.CopyN(io.Discard, br, n); err != nil {
				return
			}
		}
		if _, err := io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n"); err != nil {
			return
		}
	}
}

// FuzzProxyForward sends arbitrary client bytes through the runtime's
// proxy (runtime/server with runtime/upstream, request buffering on and
// off, HTTP/1.0 and 1.1 upstream) and checks that whatever the client
// sends, every request reaching the backend is framed unambiguously and
// carries no client hop-by-hop header, and that the client connection
// ends.
func FuzzProxyForward(f *testing.F) {
	for _, seed := range conformanceSends(f) {
		f.Add(seed)
	}
	f.Add([]byte("POST /u/ HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nKeep-Alive: 1\r\nTE: x\r\nUpgrade: y\r\n\r\n3\r\nabc\r\n0\r\n\r\n"))
	f.Add([]byte("POST /h10/ HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcGET /u/ HTTP/1.1\r\nHost: a\r\n\r\n"))
	be := newFramingBackend(f)
	s := startInstance(f, fmt.Sprintf(`instance "fuzz" {
  version = "1.22.1"
  upstream "be" {
    server %q {}
    keepalive {
      connections = 4
      enabled     = true
    }
  }
  server {
    listen {
      address = "LISTEN"
    }
    client_header_timeout = "1s"
    location {
      match               = "prefix"
      path                = "/"
      client_body_timeout = "1s"
      lingering_timeout   = "100ms"
      lingering_time      = "1s"
      proxy {
        pass         = "http://be"
        http_version = "1.1"
        read_timeout = "2s"
        set_header "Connection" {
          value = ""
        }
      }
    }
    location {
      match               = "prefix"
      path                = "/u/"
      client_body_timeout = "1s"
      lingering_timeout   = "100ms"
      lingering_time      = "1s"
      proxy {
        pass              = "http://be"
        http_version      = "1.1"
        request_buffering = false
        read_timeout      = "2s"
        set_header "Connection" {
          value = ""
        }
      }
    }
    location {
      match               = "prefix"
      path                = "/h10/"
      client_body_timeout = "1s"
      lingering_timeout   = "100ms"
      lingering_time      = "1s"
      proxy {
        pass         = "http://be"
        read_timeout = "2s"
      }
    }
  }
}
`, be.ln.Addr().String()))
	f.Cleanup(func() {
		s.stop(f)
		be.close()
	})
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := net.Dial("tcp", s.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		c.Write(data)
		c.(*net.TCPConn).CloseWrite()
		if _, err := io.Copy(io.Discard, c); err != nil && isTimeout(err) {
			t.Fatalf("the server neither answered nor closed within 5s")
		}
		if _, bad := be.take(); len(bad) > 0 {
			t.Fatalf("ambiguous request forwarded: %s", bad[0])
		}
	})
}
