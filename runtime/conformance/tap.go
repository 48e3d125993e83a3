package conformance

import (
	"bufio"
	"bytes"
	"net"
	"sync"
	"syscall"
	"time"
)

// tap is a running TCP relay between an nginx instance and its upstream. It
// parses the requests that go through it and records which side closed each
// connection first.
type tap struct {
	spec *TapSpec
	ln   net.Listener
	to   string // address to dial
	rec  *recorder

	mu     sync.Mutex
	conns  map[net.Conn]bool
	closed bool
	wg     sync.WaitGroup
}

func startTap(spec *TapSpec) (*tap, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	return &tap{spec: spec, ln: ln, rec: newRecorder(spec.Name, nil), conns: map[net.Conn]bool{}}, nil
}

func (t *tap) port() int { return t.ln.Addr().(*net.TCPAddr).Port }

// run starts relaying to addr (known once every port is allocated).
func (t *tap) run(addr string) {
	t.to = addr
	t.wg.Add(1)
	go t.acceptLoop()
}

func (t *tap) close() {
	t.mu.Lock()
	t.closed = true
	t.ln.Close()
	for c := range t.conns {
		c.Close()
	}
	t.mu.Unlock()
	t.wg.Wait()
}

func (t *tap) track(c net.Conn) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		c.Close()
		return false
	}
	t.conns[c] = true
	return true
}

func (t *tap) acceptLoop() {
	defer t.wg.Done()
	for {
		c, err := t.ln.Accept()
		if err != nil {
			return
		}
		if !t.track(c) {
			return
		}
		t.wg.Add(1)
		go t.relay(c.(*net.TCPConn))
	}
}

func (t *tap) relay(client *net.TCPConn) {
	defer t.wg.Done()
	cr := t.rec.newConn()
	d, err := net.DialTimeout("tcp", t.to, 3*time.Second)
	if err != nil {
		t.rec.end(cr, "upstream refused")
		client.Close()
		return
	}
	server := d.(*net.TCPConn)
	if !t.track(server) {
		client.Close()
		return
	}
	var inner sync.WaitGroup
	inner.Add(2)
	var once sync.Once
	first := func(how string) { once.Do(func() { t.rec.end(cr, how) }) }
	// ended propagates the end of one direction to the other side.
	ended := func(dst *net.TCPConn, side string, err error) {
		how := classifyErr(err)
		first(side + " " + how)
		if how == "RST" {
			dst.SetLinger(0)
			dst.Close()
		} else {
			dst.CloseWrite()
		}
	}
	pump := func(dst, src *net.TCPConn, side string) {
		defer inner.Done()
		buf := make([]byte, 32*1024)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				t.rec.touch(cr)
				// Server data is held for tapHold before it is passed on,
				// and a FIN that arrives with it or during the hold is
				// recorded first: the client cannot react to data it has
				// not received, so "who closed first" does not depend on
				// goroutine scheduling.
				if side == "server" && !finPending(src) {
					time.Sleep(tapHold)
				}
				if finPending(src) {
					first(side + " FIN")
				}
				if _, werr := dst.Write(buf[:n]); werr != nil {
					first(side + " write failed")
					src.Close()
					dst.Close()
					return
				}
			}
			if err != nil {
				ended(dst, side, err)
				return
			}
		}
	}
	// Requests are forwarded whole (head and body in one write), so that
	// the server always finds the body it was sent right behind the head:
	// what it does then does not depend on how the bytes were split.
	forward := func() {
		br := bufio.NewReaderSize(client, 64*1024)
		for {
			var raw bytes.Buffer
			client.SetReadDeadline(time.Time{})
			line, hdr, err := readHeadRaw(br, &raw)
			if err == nil {
				q := &reqRecord{Line: line, Headers: hdr}
				t.rec.addReq(cr, q)
				var n int
				n, err = readBodyRaw(br, hdr, &raw)
				t.rec.update(func() { q.Body = n; q.BodyErr = err != nil })
			}
			t.rec.touch(cr)
			if err == nil && br.Buffered() == 0 && finPending(client) {
				first("client FIN")
			}
			if raw.Len() > 0 {
				if _, werr := server.Write(raw.Bytes()); werr != nil {
					first("client write failed")
					client.Close()
					server.Close()
					inner.Done()
					return
				}
			}
			if err != nil {
				how := classifyErr(err)
				if how == "FIN" || how == "RST" || how == "closed" {
					ended(server, "client", err)
					inner.Done()
					return
				}
				// Not HTTP as far as we can tell: relay the rest as is.
				if n := br.Buffered(); n > 0 {
					b, _ := br.Peek(n)
					server.Write(b)
				}
				pump(server, client, "client")
				return
			}
		}
	}
	go forward()
	go pump(client, server, "server")
	inner.Wait()
	client.Close()
	server.Close()
	t.mu.Lock()
	delete(t.conns, client)
	delete(t.conns, server)
	t.mu.Unlock()
}

// tapHold is how long a tap holds data from the server before relaying it.
const tapHold = 50 * time.Millisecond

// finPending reports whether the next read on c would return EOF right away
// (the peer's FIN is queued and no data precedes it).
func finPending(c *net.TCPConn) bool {
	raw, err := c.SyscallConn()
	if err != nil {
		return false
	}
	eof := false
	raw.Read(func(fd uintptr) bool {
		var b [1]byte
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		eof = n == 0 && err == nil
		return true
	})
	return eof
}
