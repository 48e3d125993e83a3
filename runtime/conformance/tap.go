package conformance

import (
	"bufio"
	"io"
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
	// Requests are parsed from a copy of the client-to-server stream.
	pr, pw := io.Pipe()
	var inner sync.WaitGroup
	inner.Add(3)
	go func() {
		defer inner.Done()
		br := bufio.NewReader(pr)
		for {
			line, hdr, err := readHead(br)
			if err != nil {
				io.Copy(io.Discard, pr)
				return
			}
			q := &reqRecord{Line: line, Headers: hdr}
			t.rec.addReq(cr, q)
			n, err := readBody(br, hdr, nil)
			t.rec.update(func() { q.Body = n; q.BodyErr = err != nil })
			if err != nil {
				io.Copy(io.Discard, pr)
				return
			}
		}
	}()
	var once sync.Once
	first := func(how string) { once.Do(func() { t.rec.end(cr, how) }) }
	pump := func(dst, src *net.TCPConn, side string, mirror *io.PipeWriter) {
		defer inner.Done()
		buf := make([]byte, 32*1024)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				t.rec.touch(cr)
				// A FIN that came with this data is recorded before the
				// data is passed on: the other side cannot react to data
				// it has not yet received, so "who closed first" is exact.
				if finPending(src) {
					first(side + " FIN")
				}
				if mirror != nil {
					mirror.Write(buf[:n])
				}
				if _, werr := dst.Write(buf[:n]); werr != nil {
					first(side + " write failed")
					src.Close()
					dst.Close()
					break
				}
			}
			if err != nil {
				how := classifyErr(err)
				first(side + " " + how)
				if how == "RST" {
					dst.SetLinger(0)
					dst.Close()
				} else {
					dst.CloseWrite()
				}
				break
			}
		}
		if mirror != nil {
			mirror.Close()
		}
	}
	go pump(server, client, "client", pw)
	go pump(client, server, "server", nil)
	inner.Wait()
	client.Close()
	server.Close()
	t.mu.Lock()
	delete(t.conns, client)
	delete(t.conns, server)
	t.mu.Unlock()
}

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
