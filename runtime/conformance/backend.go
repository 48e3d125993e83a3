package conformance

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"
)

// backend is a running scripted backend.
type backend struct {
	spec *BackendSpec
	ln   net.Listener
	rec  *recorder

	mu     sync.Mutex
	conns  map[net.Conn]bool
	closed bool
	done   chan struct{}
	wg     sync.WaitGroup
}

func startBackend(spec *BackendSpec) (*backend, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	b := &backend{spec: spec, ln: ln, rec: newRecorder(spec.Name, spec.Show), conns: map[net.Conn]bool{}, done: make(chan struct{})}
	b.wg.Add(1)
	go b.acceptLoop()
	return b, nil
}

func (b *backend) port() int { return b.ln.Addr().(*net.TCPAddr).Port }

// close stops the listener and every connection, and waits for the goroutines.
func (b *backend) close() {
	b.mu.Lock()
	b.closed = true
	close(b.done)
	b.ln.Close()
	for c := range b.conns {
		c.Close()
	}
	b.mu.Unlock()
	b.wg.Wait()
}

func (b *backend) acceptLoop() {
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
		b.conns[c] = true
		b.wg.Add(1)
		b.mu.Unlock()
		go b.serve(c)
	}
}

// defaultResponse answers 200 with the backend's name as the body.
func (b *backend) defaultResponse() []byte {
	body := b.spec.Name + "\n"
	return []byte(fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(body), body))
}

func (b *backend) match(q *reqRecord, nth, connID int) *BackendRule {
	method, rest, _ := strings.Cut(q.Line, " ")
	target, _, _ := strings.Cut(rest, " ")
	path, _, _ := strings.Cut(target, "?")
	for _, r := range b.spec.Rules {
		if r.Path != "" && r.Path != path {
			continue
		}
		if r.Method != "" && r.Method != method {
			continue
		}
		if r.Nth != 0 && r.Nth != nth {
			continue
		}
		if r.Conn != 0 && r.Conn != connID {
			continue
		}
		return r
	}
	return &BackendRule{}
}

// sleep waits d, or less if the backend closes. While waiting it watches the
// connection so that a peer close is recorded when it happens.
func (b *backend) sleep(c net.Conn, br *bufio.Reader, cr *connRecord, d time.Duration) {
	until := time.Now().Add(d)
	for time.Now().Before(until) {
		c.SetReadDeadline(until)
		if _, err := br.Peek(1); err != nil {
			if how := classifyErr(err); how == "FIN" || how == "RST" {
				b.rec.end(cr, how)
				return
			}
			if !isTimeout(err) {
				return
			}
		} else {
			// Pipelined bytes are waiting; sleep without reading them.
			select {
			case <-time.After(time.Until(until)):
			case <-b.done:
			}
			return
		}
	}
}

func (b *backend) serve(c net.Conn) {
	defer b.wg.Done()
	defer func() {
		b.mu.Lock()
		delete(b.conns, c)
		b.mu.Unlock()
		c.Close()
	}()
	cr := b.rec.newConn()
	br := bufio.NewReaderSize(c, 64*1024)
	for nth := 1; ; nth++ {
		idle := 60 * time.Second
		if b.spec.IdleClose > 0 && nth > 1 {
			idle = b.spec.IdleClose
		}
		c.SetReadDeadline(time.Now().Add(idle))
		line, hdr, err := readHead(br)
		if err != nil {
			how := classifyErr(err)
			if how == "timeout" && b.spec.IdleClose > 0 && line == "" {
				how = "idle-closed by backend"
			}
			if line != "" {
				b.rec.addReq(cr, &reqRecord{Line: line, Headers: hdr, BodyErr: true})
			}
			b.rec.end(cr, how)
			return
		}
		q := &reqRecord{Line: line, Headers: hdr}
		b.rec.addReq(cr, q)
		rule := b.match(q, nth, cr.ID)
		readBodyNow := func() bool {
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			n, err := readBody(br, hdr, nil)
			b.rec.update(func() { q.Body = n; q.BodyErr = err != nil })
			if err != nil {
				b.rec.end(cr, classifyErr(err))
				return false
			}
			return true
		}
		if !rule.Early && !readBodyNow() {
			return
		}
		if rule.Delay > 0 {
			b.sleep(c, br, cr, rule.Delay)
			if cr.ended(b.rec) {
				return
			}
		}
		switch {
		case rule.Drop:
			b.rec.update(func() { q.Action = "dropped" })
			b.rec.end(cr, "closed by backend")
			return
		case rule.Reset:
			b.rec.update(func() { q.Action = "reset" })
			if tc, ok := c.(*net.TCPConn); ok {
				tc.SetLinger(0)
			}
			b.rec.end(cr, "reset by backend")
			return
		}
		resp := rule.Response
		if resp == nil {
			resp = b.defaultResponse()
		}
		closeAfter := rule.Close
		if b.spec.HonorClose && strings.Contains(strings.ToLower(hdr["connection"]), "close") {
			if i := bytes.Index(resp, []byte("\r\n")); i >= 0 {
				resp = append(append(append([]byte{}, resp[:i+2]...), "Connection: close\r\n"...), resp[i+2:]...)
			}
			closeAfter = true
		}
		c.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Write(resp); err != nil {
			b.rec.end(cr, classifyErr(err))
			return
		}
		b.rec.touch(cr)
		if rule.Early && !readBodyNow() {
			return
		}
		if closeAfter {
			b.rec.end(cr, "closed by backend")
			return
		}
	}
}

func (cr *connRecord) ended(r *recorder) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return cr.End != ""
}
