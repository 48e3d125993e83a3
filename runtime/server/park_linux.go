package server

import (
	"encoding/binary"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// idlePark is the parking state of an idle keep-alive connection.
type idlePark struct {
	fd      int32  // socket descriptor; -1: the connection cannot be parked
	heapIdx int32  // index in the idler's timer heap; -1: not parked
	seq     uint32 // park generation carried by its epoll event
	parked  atomic.Bool
	inEpoll bool // fd is in the idler's epoll set (armed or not)
	// peer is the client's address, kept when the connection is first
	// parked: a socket the client resets while parked has none any more.
	peer netip.AddrPort
}

// idler parks a worker's idle keep-alive connections without a goroutine
// each, as nginx's event loop holds them: one epoll set for their sockets
// (one-shot readiness) and one timer heap for their idle deadlines. When a
// socket becomes readable its connection gets a goroutine again
// (conn.resume); when its deadline passes or the worker asks it to close,
// the idler's own goroutine ends the wait or closes it.
type idler struct {
	w    *Worker
	epfd int
	evfd int // eventfd: wakes the loop for close requests and stop

	mu       sync.Mutex
	byFD     []*conn // parked connections by descriptor
	heap     []*conn // parked connections by idleDeadline
	woken    []*conn // parked connections asked to close
	seq      uint32
	stopping bool
	one      [8]byte

	done chan struct{}
}

// newIdler starts a worker's idler, or returns nil when epoll is not
// available (idle connections then keep their goroutines).
func newIdler(w *Worker) *idler {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil
	}
	evfd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(epfd)
		return nil
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(evfd)} // Pad 0: the eventfd
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, evfd, &ev); err != nil {
		unix.Close(evfd)
		unix.Close(epfd)
		return nil
	}
	p := &idler{w: w, epfd: epfd, evfd: evfd, done: make(chan struct{})}
	binary.NativeEndian.PutUint64(p.one[:], 1) // eventfd counter increment
	go p.loop()
	return p
}

// stop ends the idler's goroutine once no connection is parked; the worker
// calls it after its last connection closed.
func (p *idler) stop() {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.stopping = true
	p.mu.Unlock()
	p.signal()
	<-p.done
	unix.Close(p.evfd)
	unix.Close(p.epfd)
}

func (p *idler) signal() {
	unix.Write(p.evfd, p.one[:])
}

// wake asks the idler to close c if it is parked (a close request of the
// worker: reclaim, graceful shutdown, forced close).
func (p *idler) wake(c *conn) {
	p.mu.Lock()
	p.woken = append(p.woken, c)
	p.mu.Unlock()
	p.signal()
}

func (c *conn) initPark() {
	c.fd, c.heapIdx = -1, -1
	if c.rc == nil {
		return
	}
	// newConn runs under the worker's lock: one function value for all.
	if c.rc.Control(c.w.ctl) == nil {
		c.fd = c.w.ctlFD
	}
}

// sockFD is the socket's descriptor while the connection has its
// net.Conn, or -1.
func (c *conn) sockFD() int {
	if c.nc == nil {
		return -1
	}
	return int(c.fd)
}

// parkable reports whether the connection can be parked.
func (c *conn) parkable() bool { return c.w.idler != nil && c.fd >= 0 }

// park hands an idle keep-alive connection waiting until c.idleDeadline
// to the worker's idler and gives its reqState back to the pool
// (ngx_http_set_keepalive: the buffers are freed, the read event waits).
// It reports false when the connection cannot be parked; once it reports
// true the goroutine must not touch the connection again: another one may
// own it (or, if its socket was lost, it is closed).
func (c *conn) park() bool {
	p := c.w.idler
	if p == nil || c.fd < 0 || c.reqState == nil || len(c.wbuf) > 0 || c.closeReq.Load() != 0 {
		return false
	}
	if !c.peer.IsValid() {
		if a, ok := c.nc.RemoteAddr().(*net.TCPAddr); ok {
			c.peer = a.AddrPort()
		}
	}
	c.detach()
	if !c.release() {
		c.attach()
		return false
	}
	if !p.park(c) {
		if err := c.reopen(); err != nil {
			// Neither parked nor usable any more: closed here, as the
			// idler would close it.
			c.w.inst.log.Error("idle connection lost its socket", "conn", c.id, "error", err.Error())
			c.closeParked(ReasonInternalError)
			return true
		}
		c.attach()
		return false
	}
	if c.closeReq.Load() != 0 {
		// The worker asked while the connection was being parked and
		// did not see it parked yet.
		p.wake(c)
	}
	return true
}

// park registers c: its socket armed in the epoll set for one event, its
// deadline in the heap.
func (p *idler) park(c *conn) bool {
	first, ok := p.register(c)
	if first {
		// The loop may be waiting for a later deadline, or none.
		p.signal()
	}
	return ok
}

func (p *idler) register(c *conn) (first, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seq++
	if p.seq == 0 {
		p.seq = 1
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLONESHOT, Fd: c.fd, Pad: int32(p.seq)}
	op := unix.EPOLL_CTL_ADD
	if c.inEpoll {
		op = unix.EPOLL_CTL_MOD
	}
	err := unix.EpollCtl(p.epfd, op, int(c.fd), &ev)
	if err == unix.ENOENT && op == unix.EPOLL_CTL_MOD {
		err = unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, int(c.fd), &ev)
	}
	if err != nil {
		return false, false
	}
	c.inEpoll = true
	c.seq = p.seq
	if int(c.fd) >= len(p.byFD) {
		p.byFD = append(p.byFD, make([]*conn, int(c.fd)+1-len(p.byFD))...)
	}
	p.byFD[c.fd] = c
	c.heapIdx = int32(len(p.heap))
	p.heap = append(p.heap, c)
	p.up(int(c.heapIdx))
	c.parked.Store(true)
	return c.heapIdx == 0, true
}

// unparkLocked takes c out of the idler; the caller owns it then.
func (p *idler) unparkLocked(c *conn) {
	c.parked.Store(false)
	p.byFD[c.fd] = nil
	i := int(c.heapIdx)
	last := len(p.heap) - 1
	if i != last {
		p.heap[i] = p.heap[last]
		p.heap[i].heapIdx = int32(i)
	}
	p.heap[last] = nil
	p.heap = p.heap[:last]
	if i != last {
		p.down(i)
		p.up(i)
	}
	c.heapIdx = -1
}

func (p *idler) less(i, j int) bool {
	return p.heap[i].idleDeadline < p.heap[j].idleDeadline
}

func (p *idler) swap(i, j int) {
	p.heap[i], p.heap[j] = p.heap[j], p.heap[i]
	p.heap[i].heapIdx, p.heap[j].heapIdx = int32(i), int32(j)
}

func (p *idler) up(i int) {
	for i > 0 {
		parent := (i - 1) / 2
		if !p.less(i, parent) {
			return
		}
		p.swap(i, parent)
		i = parent
	}
}

func (p *idler) down(i int) {
	n := len(p.heap)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && p.less(r, l) {
			m = r
		}
		if !p.less(m, i) {
			return
		}
		p.swap(i, m)
		i = m
	}
}

// loop is the idler's goroutine (an event loop like nginx's, for idle
// connections only).
func (p *idler) loop() {
	defer close(p.done)
	events := make([]unix.EpollEvent, 128)
	var ready, expired, closing []*conn
	var drain [8]byte
	for {
		p.mu.Lock()
		timeout := -1
		if len(p.heap) > 0 {
			d := time.Duration(p.heap[0].idleDeadline - time.Now().UnixNano())
			timeout = int((d + time.Millisecond - 1) / time.Millisecond)
			timeout = max(timeout, 0)
		}
		stop := p.stopping && len(p.heap) == 0
		p.mu.Unlock()
		if stop {
			return
		}
		n, err := unix.EpollWait(p.epfd, events, timeout)
		if err != nil {
			n = 0
		}
		now := time.Now()
		p.mu.Lock()
		for _, ev := range events[:n] {
			if ev.Pad == 0 {
				unix.Read(p.evfd, drain[:])
				continue
			}
			fd := int(ev.Fd)
			if fd >= len(p.byFD) {
				continue
			}
			c := p.byFD[fd]
			if c == nil || c.seq != uint32(ev.Pad) {
				continue // stale: the connection left meanwhile
			}
			p.unparkLocked(c)
			ready = append(ready, c)
		}
		for nowNano := now.UnixNano(); len(p.heap) > 0 && p.heap[0].idleDeadline <= nowNano; {
			c := p.heap[0]
			p.unparkLocked(c)
			expired = append(expired, c)
		}
		for _, c := range p.woken {
			if c.heapIdx >= 0 && p.byFD[c.fd] == c {
				p.unparkLocked(c)
				closing = append(closing, c)
			}
		}
		clear(p.woken)
		p.woken = p.woken[:0]
		p.mu.Unlock()
		for _, c := range ready {
			go c.resume()
		}
		for _, c := range expired {
			c.now = now
			c.expire()
		}
		for _, c := range closing {
			c.closeParked(c.requestedReason())
		}
		clear(ready)
		clear(expired)
		clear(closing)
		ready, expired, closing = ready[:0], expired[:0], closing[:0]
	}
}

// expire ends an idle phase of a parked connection on the idler's
// goroutine: closes it, or parks it again for the next phase.
func (c *conn) expire() {
	reason, done := c.idleTimedOut()
	switch {
	case done:
		c.closeParked(reason)
	case c.closeReq.Load() != 0:
		c.closeParked(c.requestedReason())
	case c.w.idler.park(c):
		if c.closeReq.Load() != 0 {
			c.w.idler.wake(c)
		}
	default:
		go c.resume() // cannot park again: wait on a goroutine
	}
}

// release closes the connection's net.TCPConn and keeps a duplicate of its
// descriptor instead: a parked connection holds no runtime poller entry
// and no net structures (nginx holds a parked connection in its
// ngx_connection_t only). The worker may read c.nc only under its lock.
func (c *conn) release() bool {
	fd, err := unix.FcntlInt(uintptr(c.fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return false
	}
	old := c.nc
	c.w.mu.Lock()
	c.nc, c.tcp = nil, nil
	c.w.mu.Unlock()
	old.Close()
	c.fd, c.inEpoll = int32(fd), false
	c.rdl, c.wdl = time.Time{}, 0
	return true
}

// reopen makes a net.TCPConn again for a released connection.
func (c *conn) reopen() error {
	if c.nc != nil {
		return nil
	}
	if c.inEpoll {
		// Before the descriptor stops being the socket's only one: an
		// epoll entry lives as long as the open file does.
		unix.EpollCtl(c.w.idler.epfd, unix.EPOLL_CTL_DEL, int(c.fd), nil)
		c.inEpoll = false
	}
	dup, err := unix.FcntlInt(uintptr(c.fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(dup), "")
	nc, err := net.FileConn(f)
	f.Close()
	if err != nil {
		return err
	}
	tcp, ok := nc.(*net.TCPConn)
	if !ok {
		nc.Close()
		return os.ErrInvalid
	}
	rc, err := tcp.SyscallConn()
	if err != nil {
		nc.Close()
		return err
	}
	fd := -1
	rc.Control(func(s uintptr) { fd = int(s) })
	unix.Close(int(c.fd))
	c.w.mu.Lock()
	c.nc, c.tcp = nc, tcp
	c.w.mu.Unlock()
	c.fd = int32(fd)
	return nil
}

// clientAddr is the client's address for the log.
func (c *conn) clientAddr() string {
	if c.nc != nil {
		if a := c.nc.RemoteAddr(); a != nil {
			return a.String()
		}
	}
	if c.peer.IsValid() {
		return c.peer.String()
	}
	return ""
}

// resume serves a parked connection that became readable.
func (c *conn) resume() {
	if err := c.reopen(); err != nil {
		c.w.inst.log.Error("idle connection lost its socket", "conn", c.id, "error", err.Error())
		c.closeParked(ReasonInternalError)
		return
	}
	c.attach()
	if !c.serve(true) {
		c.w.wg.Done()
	}
}

// closeParked closes a parked connection the idler took back.
func (c *conn) closeParked(reason Reason) {
	if c.nc != nil {
		c.close(reason)
	} else if !c.isClosed {
		// Released: the socket is the duplicate descriptor alone.
		c.isClosed = true
		if pendingBytes(int(c.fd)) > 0 {
			c.end = EndRST // the kernel resets a socket closed with unread data
		}
		c.w.closed(c, reason)
		unix.Close(int(c.fd))
	}
	c.cancelContext()
	c.w.wg.Done()
}
