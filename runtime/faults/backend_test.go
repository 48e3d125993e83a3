package faults

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
)

// backend is an HTTP/1.1 backend on a fixed loopback port that can be
// killed and restarted, close idle keep-alive sockets at random, or answer
// slowly. It counts every X-Req-Id it receives, by method.
type backend struct {
	name string
	addr string

	// Faults, set before start.
	idleCloseProb float64       // after a response, close the idle socket with this probability
	idleCloseMax  time.Duration // ... within this time if no request comes
	slowMax       time.Duration // answer after a random delay up to this

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]bool
	seen  map[string]int // "METHOD id" -> times received
	wg    sync.WaitGroup
	up    bool
}

func newBackend(name string) (*backend, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	b := &backend{name: name, addr: ln.Addr().String(), conns: map[net.Conn]bool{}, seen: map[string]int{}}
	b.serveListener(ln)
	return b, nil
}

func (b *backend) serveListener(ln net.Listener) {
	b.mu.Lock()
	b.ln = ln
	b.up = true
	b.mu.Unlock()
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b.mu.Lock()
			if !b.up {
				b.mu.Unlock()
				c.Close()
				continue
			}
			b.conns[c] = true
			b.wg.Add(1)
			b.mu.Unlock()
			go b.serve(c)
		}
	}()
}

// kill closes the listener and every connection, as a crashed process's
// sockets are closed by the kernel.
func (b *backend) kill() {
	b.mu.Lock()
	b.up = false
	ln := b.ln
	for c := range b.conns {
		c.Close()
	}
	b.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
}

// restart listens again on the same port.
func (b *backend) restart() error {
	var ln net.Listener
	var err error
	for range 50 {
		if ln, err = net.Listen("tcp", b.addr); err == nil {
			b.serveListener(ln)
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return err
}

func (b *backend) close() {
	b.kill()
	b.wg.Wait()
}

// duplicates returns the POST ids received more than once.
func (b *backend) duplicates() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for k, n := range b.seen {
		if n > 1 && strings.HasPrefix(k, "POST ") {
			out = append(out, k)
		}
	}
	return out
}

func (b *backend) serve(c net.Conn) {
	defer b.wg.Done()
	defer func() {
		b.mu.Lock()
		delete(b.conns, c)
		b.mu.Unlock()
		c.Close()
	}()
	br := bufio.NewReader(c)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	idle := 30 * time.Second
	for {
		c.SetReadDeadline(time.Now().Add(idle))
		method, id, length, keep, err := readRequest(br)
		if err != nil {
			return
		}
		b.mu.Lock()
		b.seen[method+" "+id]++
		b.mu.Unlock()
		if b.slowMax > 0 {
			time.Sleep(time.Duration(rng.Int64N(int64(b.slowMax))))
		}
		body := b.name + " " + id + "\n"
		hdr := "HTTP/1.1 200 OK\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n"
		if !keep {
			hdr += "Connection: close\r\n"
		}
		c.SetWriteDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.WriteString(c, hdr+"\r\n"+body); err != nil || !keep {
			return
		}
		_ = length
		idle = 30 * time.Second
		if b.idleCloseProb > 0 && rng.Float64() < b.idleCloseProb {
			idle = time.Duration(rng.Int64N(int64(b.idleCloseMax) + 1))
		}
	}
}

// readRequest reads one request head and its Content-Length body.
func readRequest(br *bufio.Reader) (method, id string, length int, keep bool, err error) {
	line, err := br.ReadString('\n')
	if err != nil {
		return "", "", 0, false, err
	}
	method, _, _ = strings.Cut(line, " ")
	keep = strings.Contains(line, "HTTP/1.1")
	for {
		h, err := br.ReadString('\n')
		if err != nil {
			return "", "", 0, false, err
		}
		h = strings.TrimRight(h, "\r\n")
		if h == "" {
			break
		}
		name, val, _ := strings.Cut(h, ":")
		val = strings.TrimSpace(val)
		switch strings.ToLower(name) {
		case "x-req-id":
			id = val
		case "content-length":
			if length, err = strconv.Atoi(val); err != nil {
				return "", "", 0, false, fmt.Errorf("bad Content-Length %q", val)
			}
		case "connection":
			if strings.EqualFold(val, "close") {
				keep = false
			}
		case "transfer-encoding":
			return "", "", 0, false, fmt.Errorf("unexpected Transfer-Encoding %q", val)
		}
	}
	if _, err := io.CopyN(io.Discard, br, int64(length)); err != nil {
		return "", "", 0, false, err
	}
	return method, id, length, keep, nil
}
