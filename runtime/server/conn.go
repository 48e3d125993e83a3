package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ngxkeep/ngxkeep/runtime/config"
	"github.com/ngxkeep/ngxkeep/runtime/h1"
)

// connState is where a connection is in its life; the worker uses it to
// decide what graceful shutdown and connection pressure may close.
type connState uint8

const (
	stateNew       connState = iota // accepted, no request byte yet: reusable
	stateActive                     // reading a request or answering it
	stateIdle                       // keep-alive wait: idle and reusable
	stateIdleMin                    // keepalive_min_timeout phase: neither
	stateLingering                  // lingering close: reusable (1.19.7+)
	stateClosed
)

var (
	errReadTimeout    = errors.New("read timed out")
	errCloseRequested = errors.New("close requested by the worker")
)

// headState values.
const (
	headNone          = iota // waiting for a request, or answering one
	headReading              // part of a request head has arrived
	headReadingFailed        // ... and worker_shutdown_timeout has passed
)

// conn is one client connection, served by one goroutine (conn.serve)
// while it reads or answers a request. Between requests it holds no
// buffers (reqState goes back to a pool, as ngx_http_set_keepalive frees
// the header buffer) and, on Linux, no goroutine (idle_linux.go).
//
// Its fields are ordered by size: thousands of idle connections each keep
// one.
type conn struct {
	w   *Worker
	ic  *instanceConf
	nc  net.Conn
	tcp *net.TCPConn
	id  uint64
	ls  *listenerStats
	ac  *addrConf
	cx  *connCtx // created by the first Request.Context call

	start    int64 // accept time, UnixNano
	requests int64

	// st is the connState, with connReleased set once the worker took
	// the connection's slot back (reclaimed, or closed). The connection
	// changes it without the worker's lock (setState); the worker reads
	// it under its lock (drain, shutdown, snapshot).
	st atomic.Uint32
	// closeReq holds Reason+1 when the worker asked the connection to close.
	closeReq atomic.Uint32
	// headState says whether a request head is being read (headReading)
	// and whether the shutdown timer fired meanwhile (headReadingFailed).
	headState atomic.Uint32
	// reuseAt orders reusable connections for reclaiming, in UnixNano:
	// accept time, then the start of the last write to the client (before
	// the client could see its bytes and act on them). Only writes of an
	// active connection move it, so a reusable connection keeps the
	// place of its last write before it became reusable.
	reuseAt atomic.Int64

	// now is the time of the connection's last wake-up (a read returned,
	// a write waited, a handler gave control back), as nginx uses the
	// time cached when its event loop last woke up: timers, Date and the
	// keep-alive checks take it instead of reading the clock each time.
	now time.Time
	rdl time.Time // read deadline currently set
	wdl int64     // write deadline currently set, UnixNano

	kaLoc *locConf // location of the last response, for the idle wait
	// idleDeadline is the end of the current idle phase (UnixNano);
	// idleMin says it is the keepalive_min_timeout phase (waitKeepalive).
	idleDeadline int64

	// *reqState is what only a request needs; nil while idle.
	*reqState

	idlePark // parking state of an idle connection (park_linux.go)

	pipelined    bool // the client pipelined at least once
	timedout     bool // nginx c->timedout: RST with reset_timedout_connection
	eof          bool
	failed       bool // nginx c->error
	writeFailed  bool
	lingered     bool
	isClosed     bool
	lastReadFull bool
	end          End
	idleMin      bool
}

// startTime is the connection's accept time.
func (c *conn) startTime() time.Time { return time.Unix(0, c.start) }

// connCtx is a connection's context, made when a handler first asks for
// it (most connections never do).
type connCtx struct {
	ctx  context.Context
	stop context.CancelFunc
}

// context returns the connection's context, canceled when the connection
// ends or the worker closes it by force.
func (c *conn) context() context.Context {
	if c.cx == nil {
		c.w.mu.Lock()
		ctx, stop := context.WithCancel(c.w.ctx)
		c.cx = &connCtx{ctx, stop}
		c.w.mu.Unlock()
		if c.closeReq.Load() != 0 {
			// forceClose came first and found no context to cancel.
			stop()
		}
	}
	return c.cx.ctx
}

// cancelContext cancels the connection's context if it has one. Only the
// connection's owner calls it, or the worker with its lock held.
func (c *conn) cancelContext() {
	if c.cx != nil {
		c.cx.stop()
	}
}

// reqState is the part of a connection that only a request being read or
// answered needs: buffers, the parsed head, the request and its response
// writer. A connection takes one from a pool when bytes arrive and gives
// it back when it goes idle in keep-alive.
type reqState struct {
	// Header buffer (nginx c->buffer / large header buffers).
	hbuf     []byte
	buf      []byte
	pos      int
	last     int
	nbusy    int
	busyBufs [][]byte // large buffers holding parts of the current head
	spare    [][]byte // large buffers kept for reuse

	// Body buffer for reads past the header buffer.
	bbuf  []byte
	bpos  int
	blast int

	scratch []byte
	wbuf    []byte

	head   h1.Head
	req    Request
	uriBuf []byte

	reqStart time.Time

	// reqVars is the variable state of the current request (vars.go).
	reqVars reqVars

	rc  syscall.RawConn // the socket's; nil: reads and writes through nc
	rwv rawWriter
	rw  *rawWriter // nil: writes through nc.Write
}

var reqStatePool = sync.Pool{New: func() any {
	rs := &reqState{wbuf: make([]byte, 0, 1024)}
	rs.head.ContentLength = -1
	return rs
}}

// attach takes a reqState from the pool for the connection, with an empty
// header buffer of the default server's client_header_buffer_size
// (ngx_http_wait_request_handler, ngx_http_keepalive_handler).
func (c *conn) attach() {
	rs := reqStatePool.Get().(*reqState)
	if size := c.ac.defaultServer.headerBufSize; len(rs.hbuf) != size {
		rs.hbuf = make([]byte, size)
	}
	rs.buf, rs.pos, rs.last = rs.hbuf, 0, 0
	rs.rw, rs.rc = nil, nil
	if c.tcp != nil {
		if rc, err := c.tcp.SyscallConn(); err == nil {
			rs.rc = rc
		}
	}
	if rs.rc != nil && rawWrites {
		rs.rwv.init(c, rs.rc)
		rs.rw = &rs.rwv
	}
	rs.reqVars.gen = -1 // no variable state of another connection's request
	c.reqState = rs
}

// detach gives the connection's reqState back to the pool; the
// connection must hold no unread input and no pending output.
func (c *conn) detach() {
	rs := c.reqState
	c.reqState = nil
	if cap(rs.wbuf) > 64<<10 {
		// Do not pool a big output buffer.
		rs.wbuf = make([]byte, 0, 1024)
	}
	rs.wbuf = rs.wbuf[:0]
	rs.bpos, rs.blast = 0, 0
	rs.req = Request{w: rs.req.w}
	rs.req.w.c, rs.req.w.r = nil, nil
	rs.rwv.init(nil, nil)
	rs.rc = nil
	reqStatePool.Put(rs)
}

func newConn(w *Worker, nc net.Conn, ac *addrConf, ls *listenerStats) *conn {
	c := &conn{w: w, ic: w.ic, nc: nc, ac: ac, ls: ls, now: time.Now()}
	c.start = c.now.UnixNano()
	c.reuseAt.Store(c.start)
	c.tcp, _ = nc.(*net.TCPConn)
	c.id = w.inst.connID.Add(1)
	c.attach()
	c.initPark()
	return c
}

// serve is the connection loop: wait for a request, answer it, and decide
// in finalizeConnection whether to go round again. resumed says that the
// connection was parked idle and became readable. serve reports whether
// the connection is parked again (it is not closed then).
func (c *conn) serve(resumed bool) (parked bool) {
	defer func() {
		if p := recover(); p != nil {
			// A handler bug takes down its connection, not the process.
			c.w.inst.log.Error("handler panic", "conn", c.id, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			c.close(ReasonInternalError)
			parked = false
		}
		if !parked {
			c.cancelContext()
		}
	}()
	for {
		var r *Request
		var reason Reason
		if resumed {
			resumed = false
			r, reason = c.readResumed()
		} else {
			r, reason = c.readRequest()
		}
		if reason == reasonParked {
			return true
		}
		if !c.headState.CompareAndSwap(headReading, headNone) && c.headState.Swap(headNone) == headReadingFailed && r != nil {
			// The shutdown timer set nginx's c->error while the head
			// was read: the request cannot be answered
			// (ngx_http_write_filter fails), the connection closes.
			c.close(ReasonShutdownTimeout)
			return false
		}
		if r == nil {
			c.close(reason)
			return false
		}
		rc := c.handleRequest(r)
		if rc != StatusDone {
			c.close(c.terminateReason(r, rc))
			return false
		}
		action, reason := c.finalizeConnection(r)
		switch action {
		case actionKeepalive:
			continue
		case actionLinger:
			c.lingeringClose(r, reason)
			return false
		default:
			c.close(reason)
			return false
		}
	}
}

// reasonParked is returned instead of a close reason when the connection
// was parked idle: its goroutine ends, the connection stays open.
const reasonParked Reason = 255

// ---- reading ----

// read reads from the socket until deadline. It flushes pending output
// first, and checks for a close request after arming the deadline, so that
// a concurrent wake-up by the worker is never lost.
func (c *conn) read(p []byte, deadline time.Time) (int, error) {
	if len(c.wbuf) > 0 {
		// Never wait for the client with a response still buffered
		// (a partly pipelined request must see the previous answer).
		if err := c.flush(c.sendTimeout()); err != nil {
			return 0, err
		}
	}
	for retry := 0; ; retry++ {
		c.armRead(deadline)
		if c.closeReq.Load() != 0 {
			return 0, errCloseRequested
		}
		var n int
		var err error
		if c.rw != nil {
			n, err = c.rw.read(p)
		} else {
			n, err = c.nc.Read(p)
		}
		c.now = time.Now()
		// nginx keeps rev->ready set after a read that filled the buffer
		// (ngx_unix_recv): more data may be waiting.
		c.lastReadFull = n > 0 && n == len(p)
		if err == nil {
			return n, nil
		}
		if c.closeReq.Load() != 0 {
			return n, errCloseRequested
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			if n == 0 && retry < 2 && c.now.Before(deadline) {
				// An earlier deadline kept by armRead fired: wait on
				// until the one asked for.
				c.setReadDeadline(deadline)
				continue
			}
			return n, errReadTimeout
		}
		if err == io.EOF {
			c.eof = true
			return n, io.EOF
		}
		c.failed = true
		return n, io.EOF
	}
}

// armRead arms the read deadline for a read that must end at deadline.
// An armed deadline a little earlier than that is kept (read waits on
// when it fires), so that a connection answering request after request
// does not move its timer each time; nginx likewise leaves a timer that
// would move by less than NGX_TIMER_LAZY_DELAY (300 ms) alone.
func (c *conn) armRead(deadline time.Time) {
	if deadline.Equal(c.rdl) {
		return
	}
	if !deadline.IsZero() && c.rdl.Before(deadline) && c.rdl.After(c.now) &&
		deadline.Sub(c.rdl) < min(300*time.Millisecond, deadline.Sub(c.now)/10) {
		return
	}
	c.setReadDeadline(deadline)
}

func (c *conn) setReadDeadline(deadline time.Time) {
	c.nc.SetReadDeadline(deadline)
	c.rdl = deadline
}

func (c *conn) requestedReason() Reason {
	return Reason(c.closeReq.Load() - 1)
}

// avail returns the bytes read but not consumed yet.
func (c *conn) avail() []byte {
	if c.pos < c.last {
		return c.buf[c.pos:c.last]
	}
	return c.bbuf[c.bpos:c.blast]
}

func (c *conn) consume(n int) {
	if c.pos < c.last {
		c.pos += n
	} else {
		c.bpos += n
	}
}

// fillBody reads more body bytes into the body buffer.
func (c *conn) fillBody(timeout time.Duration) error {
	if c.bbuf == nil {
		c.bbuf = make([]byte, 16<<10)
	}
	c.bpos, c.blast = 0, 0
	n, err := c.read(c.bbuf, time.Now().Add(timeout))
	c.blast = n
	if n > 0 {
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return err
}

// readBodyBytes reads Content-Length body bytes into p (never more than
// len(p), which the caller bounds by the bytes left).
func (c *conn) readBodyBytes(p []byte, timeout time.Duration) (int, error) {
	if src := c.avail(); len(src) > 0 {
		n := copy(p, src)
		c.consume(n)
		return n, nil
	}
	n, err := c.read(p, time.Now().Add(timeout))
	if n > 0 || err == nil {
		return n, nil
	}
	return 0, c.bodyReadError(err)
}

// bodyReadError maps a failed read of request body bytes to the error the
// request ends with (ngx_http_do_read_client_request_body): a timeout is
// client_body_timeout, anything else (EOF included: the body is not
// complete) the client closing mid-body.
func (c *conn) bodyReadError(err error) error {
	if errors.Is(err, errReadTimeout) {
		c.timedout = true
		return ErrBodyTimeout
	}
	return ErrClientClosed
}

// readDiscard reads and drops up to left bytes, at most 4 KB at a time
// (ngx_http_read_discarded_request_body).
func (c *conn) readDiscard(left int64, timeout time.Duration) (int, error) {
	if src := c.avail(); len(src) > 0 {
		k := int(min(left, int64(len(src))))
		c.consume(k)
		return k, nil
	}
	if c.scratch == nil {
		c.scratch = make([]byte, 4096)
	}
	n := int(min(left, int64(len(c.scratch))))
	k, err := c.read(c.scratch[:n], time.Now().Add(timeout))
	if k > 0 {
		return k, nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return 0, err
}

// ---- waiting for and reading a request head ----

// readRequest waits for the next request and reads its head with nginx's
// limits (ngx_http_wait_request_handler, ngx_http_keepalive_handler,
// ngx_http_process_request_line, ngx_http_process_request_headers). It
// returns nil and the close reason when the connection ends instead.
func (c *conn) readRequest() (*Request, Reason) {
	if c.pos < c.last || c.bpos < c.blast {
		// Pipelined request: processed at once, no idle timer.
		c.pipelined = true
		cur := c.buf
		c.releaseLargeBuffers()
		if c.pos == c.last {
			c.moveBodyLeftover()
		} else if &cur[0] != &c.hbuf[0] {
			// Go on in the large buffer (ngx_http_set_keepalive keeps it busy).
			c.takeSpare(cur)
			c.busyBufs = append(c.busyBufs, cur)
			c.nbusy = 1
		}
		c.w.setState(c, stateActive)
	} else {
		c.releaseLargeBuffers()
		c.buf, c.pos, c.last = c.hbuf, 0, 0
		if err := c.flush(c.sendTimeout()); err != nil {
			return nil, c.writeErrorReason(err)
		}
		if cap(c.wbuf) > 64<<10 {
			// Do not keep a big output buffer on an idle connection.
			c.wbuf = make([]byte, 0, 1024)
		}
		var reason Reason
		if c.requests == 0 {
			reason = c.waitFirstByte(c.startTime().Add(c.ac.defaultServer.headerTimeout))
		} else {
			reason = c.waitKeepalive()
		}
		if reason != ReasonNone {
			return nil, reason
		}
	}
	return c.readHeadNow()
}

// readResumed goes on with the idle keep-alive wait of a parked
// connection that became readable, then reads the request head.
func (c *conn) readResumed() (*Request, Reason) {
	if reason := c.idleWait(false); reason != ReasonNone {
		return nil, reason
	}
	return c.readHeadNow()
}

// readHeadNow reads a request head whose first bytes are in the buffer.
func (c *conn) readHeadNow() (*Request, Reason) {
	var headerDeadline time.Time
	if c.requests == 0 {
		// For the first request client_header_timeout runs from accept.
		headerDeadline = c.startTime().Add(c.ac.defaultServer.headerTimeout)
	}
	c.headState.Store(headReading)
	c.requests++
	c.reqStart = c.now
	c.ls.requests.Add(1)
	r := &c.req
	c.head.Reset()
	// Clear the request in place, keeping the response writer's buffers:
	// assigning a composite literal that reads r.w would build the whole
	// struct in a temporary and copy it over, three copies per request.
	w := &r.w
	sl, ct, names, values, arena := w.statusLine, w.contentType, w.names, w.values, w.arena
	*r = Request{}
	w.statusLine, w.contentType, w.names, w.values, w.arena = sl, ct, names, values, arena
	r.c, r.Head, r.srv, r.uriChanges, r.Version = c, &c.head, c.ac.defaultServer, 11, 1000
	w.reset(r)
	r.loc = r.srv.unmatched

	// Request line.
	lineStart := c.pos
	var rl = &c.head.Line
	for {
		n, res := h1.ParseRequestLine(c.buf[lineStart:c.last], rl)
		if res == h1.Done {
			lineStart += n
			break
		}
		if res != h1.Again {
			c.pos = lineStart + rl.Start
			if res == h1.ErrInvalid09Method {
				r.Version = 9
			}
			return c.headError(r, res.Status(), res.String())
		}
		if !rl.Started {
			lineStart += rl.Start // skip the CR/LF bytes seen so far
		}
		if c.last == len(c.buf) {
			if !c.largeHeaderBuffer(r, true, &lineStart, rl.Started) {
				c.pos = c.last
				return c.headError(r, 414, "client sent too long URI")
			}
		}
		if reason := c.readHead(r, &headerDeadline); reason != ReasonNone {
			return nil, reason
		}
	}
	c.pos = lineStart

	u, uriBuf, ok := h1.ProcessURI(rl, r.srv.headOpts.MergeSlashes, c.uriBuf)
	c.uriBuf = uriBuf
	if !ok {
		return c.headError(r, 400, "client sent invalid request")
	}
	r.Path, r.Args, r.Exten = u.Path, u.Args, u.Exten
	r.Method = rl.Method
	r.Version = rl.Version
	if err := c.head.SetRequestLineHost(); err != nil {
		return c.headError(r, 400, err.Error())
	}
	if c.head.Server != nil {
		c.selectServer(r)
	}
	if r.Version < 1000 {
		if c.head.Server == nil {
			c.selectServer(r)
		}
		r.bodyLeft = 0
		return r, ReasonNone
	}

	// Header lines.
	var hl h1.HeaderLine
	for {
		n, res, started := h1.ParseHeaderLine(c.buf[lineStart:c.last], r.srv.headOpts.AllowUnderscores, &hl)
		switch res {
		case h1.Done:
			lineStart += n
			c.pos = lineStart
			if hl.Invalid && r.srv.headOpts.IgnoreInvalid {
				continue
			}
			hostChanged, err := c.head.AddHeader(hl.Name, hl.Value)
			if err != nil {
				e := err.(*h1.HeaderError)
				return c.headError(r, e.Status, e.Reason)
			}
			if hostChanged {
				c.selectServer(r)
			}
			continue
		case h1.HeadersEnd:
			lineStart += n
			c.pos = lineStart
			if c.head.Server == nil {
				c.selectServer(r)
			}
			if err := c.head.Finish(); err != nil {
				e := err.(*h1.HeaderError)
				r.bodyLeft = max(c.head.ContentLength, 0)
				return c.headError(r, e.Status, e.Reason)
			}
			r.bodyLeft = max(c.head.ContentLength, 0)
			return r, ReasonNone
		case h1.Again:
			if c.last == len(c.buf) {
				if !c.largeHeaderBuffer(r, false, &lineStart, started) {
					r.lingeringClose = true
					c.pos = c.last
					reason := "client sent too long header line"
					if !started {
						reason = "client sent too large request"
					}
					return c.headError(r, 494, reason)
				}
			}
			if reason := c.readHead(r, &headerDeadline); reason != ReasonNone {
				return nil, reason
			}
		default:
			c.pos = lineStart
			return c.headError(r, 400, "client sent invalid header line")
		}
	}
}

// headError returns r marked with the status nginx answers a bad head
// with; such requests never get keep-alive.
func (c *conn) headError(r *Request, status int, why string) (*Request, Reason) {
	r.status = status
	r.headReason = why
	r.keepalive = false
	r.closeReason = ReasonBadRequest
	return r, ReasonNone
}

// selectServer picks the virtual server for the request's host
// (ngx_http_set_virtual_server); without a match the default server stays.
func (c *conn) selectServer(r *Request) {
	if c.ac.onlyDefault {
		// The lookup could only return the default server, which r
		// already has (selectServer runs only while the head is read).
		return
	}
	host := c.head.Server
	if host == nil {
		host = []byte{}
	}
	if sc := c.ac.findServer(host); sc != nil {
		r.srv = sc
		r.loc = sc.unmatched
	}
}

// readHead reads more of a request head. The client_header_timeout timer
// is armed the first time a read has to wait and is never re-armed: it
// bounds the whole head (for the first request it runs from accept).
// [V1.22 checked]: a head sent in pieces every 0.6 s still ends at the
// timeout.
func (c *conn) readHead(r *Request, deadline *time.Time) Reason {
	if deadline.IsZero() {
		*deadline = c.now.Add(r.srv.headerTimeout)
	}
	n, err := c.read(c.buf[c.last:], *deadline)
	c.last += n
	if n > 0 {
		return ReasonNone
	}
	switch {
	case errors.Is(err, errReadTimeout):
		// ngx_http_process_request_line: c->timedout, close, no 408.
		c.timedout = true
		c.resetIfConfigured(r.loc)
		return ReasonHeaderTimeout
	case errors.Is(err, errCloseRequested):
		return c.requestedReason()
	}
	return ReasonPeerClosed
}

// largeHeaderBuffer moves the line being parsed into a large header
// buffer, like ngx_http_alloc_large_header_buffer. It reports false when
// nginx declines: the partial line does not fit in one large buffer, or all
// large buffers are in use.
func (c *conn) largeHeaderBuffer(r *Request, requestLine bool, lineStart *int, started bool) bool {
	if requestLine && !started {
		// The buffer holds only CR/LF bytes: start over in it.
		c.pos, c.last, *lineStart = 0, 0, 0
		return true
	}
	partial := c.last - *lineStart
	if started && partial >= r.srv.largeBufSize {
		return false
	}
	if c.nbusy >= r.srv.largeBufNum {
		return false
	}
	var nb []byte
	for i, b := range c.spare {
		if len(b) == r.srv.largeBufSize {
			nb = b
			c.spare = append(c.spare[:i], c.spare[i+1:]...)
			break
		}
	}
	if nb == nil {
		nb = make([]byte, r.srv.largeBufSize)
	}
	n := 0
	if started {
		n = copy(nb, c.buf[*lineStart:c.last])
	}
	c.busyBufs = append(c.busyBufs, nb)
	c.nbusy++
	c.buf, c.pos, c.last, *lineStart = nb, 0, n, 0
	return true
}

// releaseLargeBuffers returns the large buffers of the last head to the
// spare list.
func (c *conn) releaseLargeBuffers() {
	c.spare = append(c.spare, c.busyBufs...)
	clear(c.busyBufs)
	c.busyBufs = c.busyBufs[:0]
	c.nbusy = 0
}

// takeSpare removes b from the spare list.
func (c *conn) takeSpare(b []byte) {
	for i, s := range c.spare {
		if &s[0] == &b[0] {
			c.spare = append(c.spare[:i], c.spare[i+1:]...)
			return
		}
	}
}

// ---- idle waits ----

// waitFirstByte waits for the first byte of the first request; the
// client_header_timeout from accept applies and a timeout closes with FIN
// whatever reset_timedout_connection says (no request exists yet).
func (c *conn) waitFirstByte(deadline time.Time) Reason {
	n, err := c.read(c.buf, deadline)
	c.last = n
	if n > 0 {
		if !c.w.setState(c, stateActive) {
			return c.requestedReason() // reclaimed as the data arrived
		}
		return ReasonNone
	}
	switch {
	case errors.Is(err, errReadTimeout):
		return ReasonHeaderTimeout
	case errors.Is(err, errCloseRequested):
		return c.requestedReason()
	}
	return ReasonPeerClosed
}

// waitKeepalive is the idle keep-alive wait (ngx_http_set_keepalive,
// ngx_http_keepalive_handler): keepalive_timeout of the last location, in
// two phases with keepalive_min_timeout. The idle timer closes with FIN
// even with reset_timedout_connection on. [V1.22 checked]
func (c *conn) waitKeepalive() Reason {
	if testHookBeforeIdle != nil {
		testHookBeforeIdle(c)
	}
	lc := c.kaLoc
	timeout := lc.keepaliveTimeout
	if m := lc.keepaliveMinTimeout; m > 0 {
		c.idleMin = true
		c.idleDeadline = c.now.Add(min(m, timeout)).UnixNano()
		c.w.setState(c, stateIdleMin)
	} else {
		c.idleMin = false
		c.idleDeadline = c.now.Add(timeout).UnixNano()
		c.w.setState(c, stateIdle)
	}
	return c.idleWait(true)
}

// idleGrace is how long an idle keep-alive connection keeps its goroutine
// and buffer before it is parked, after its first request: a busy
// client's next request usually comes sooner, and is then read at once.
// The grace doubles with each further request up to maxIdleGrace, so that
// a connection under load (whose next request may come a few ms later)
// does not pay for parking on every request.
const (
	idleGrace    = time.Millisecond
	maxIdleGrace = 64 * idleGrace
)

// grace returns the idle grace of the connection's next idle wait.
func (c *conn) grace() time.Duration {
	return min(idleGrace<<min(max(c.requests-1, 0), 6), maxIdleGrace)
}

// idleWait waits for the first bytes of the next request until
// c.idleDeadline; with mayPark the connection may be parked (it then
// returns reasonParked) instead of waiting on its goroutine.
func (c *conn) idleWait(mayPark bool) Reason {
	for {
		var n int
		var err error
		deadline := time.Unix(0, c.idleDeadline)
		if grace := c.now.Add(c.grace()); mayPark && c.parkable() && grace.Before(deadline) {
			n, err = c.read(c.buf, grace)
			if n == 0 && errors.Is(err, errReadTimeout) {
				if c.park() {
					return reasonParked
				}
				n, err = c.idleRead(deadline)
			}
		} else {
			n, err = c.idleRead(deadline)
		}
		mayPark = true
		if n > 0 {
			c.last = n
			if !c.w.setState(c, stateActive) {
				return c.requestedReason() // reclaimed as the data arrived
			}
			return ReasonNone
		}
		switch {
		case errors.Is(err, errReadTimeout):
			if reason, done := c.idleTimedOut(); done {
				return reason
			}
			continue
		case errors.Is(err, errCloseRequested):
			return c.requestedReason()
		}
		return ReasonPeerClosed
	}
}

// idleTimedOut handles the end of an idle phase: the keepalive_min_timeout
// phase gives way to the rest of keepalive_timeout unless the worker is
// exiting; the last phase closes. done is false when the wait goes on
// until the new c.idleDeadline.
func (c *conn) idleTimedOut() (reason Reason, done bool) {
	if !c.idleMin {
		return ReasonIdleTimeout, true
	}
	c.idleMin = false
	if c.w.exiting.Load() {
		return c.w.exitReason(), true
	}
	lc := c.kaLoc
	if lc.keepaliveMinTimeout >= lc.keepaliveTimeout {
		return ReasonIdleTimeout, true
	}
	c.idleDeadline = c.now.Add(lc.keepaliveTimeout - lc.keepaliveMinTimeout).UnixNano()
	c.w.setState(c, stateIdle)
	return ReasonNone, false
}

// testHookBeforeIdle, when set by a test, runs when a connection has
// answered and is about to wait idle: a goroutine scheduled late.
var testHookBeforeIdle func(c *conn)

// moveBodyLeftover makes bytes read past a chunked body the start of the
// next request (ngx_http_copy_pipelined_header).
func (c *conn) moveBodyLeftover() {
	left := c.bbuf[c.bpos:c.blast]
	if len(left) <= len(c.hbuf) {
		c.buf = c.hbuf
	} else {
		c.buf = make([]byte, len(left))
	}
	c.pos, c.last = 0, copy(c.buf, left)
	c.bpos, c.blast = 0, 0
	c.nbusy = 0
}

// ---- request processing ----

// handleRequest runs a request to completion (ngx_http_handler and
// ngx_http_finalize_request). It returns StatusDone when the response was
// produced, or the status that terminates the connection.
func (c *conn) handleRequest(r *Request) int {
	if r.status != 0 {
		// The head was rejected before ngx_http_handler: keepalive is 0.
		c.w.inst.logf(c, "bad request", r.headReason, r.status)
		return c.finalizeRequest(r, r.status)
	}
	// ngx_http_handler: the initial keep-alive flag.
	switch c.head.Connection {
	case h1.ConnectionNone:
		r.keepalive = r.Version > 1000
		if !r.keepalive {
			r.closeReason = ReasonHTTP10
			if r.Version < 1000 {
				r.closeReason = ReasonHTTP09
			}
		}
	case h1.ConnectionClose:
		r.closeReason = ReasonClientClose
	case h1.ConnectionKeepAlive:
		r.keepalive = true
	}
	r.lingeringClose = c.head.ContentLength > 0 || c.head.Chunked
	if c.head.Chunked {
		r.bodyLeft = -1
	}
	return c.finalizeRequest(r, c.runPhases(r))
}

// runPhases runs the phases nginx runs for a request: server-level return,
// location lookup with the keep-alive vetoes and the body size check,
// location-level return, then the content handler.
func (c *conn) runPhases(r *Request) int {
	srv := r.srv
	// NGX_HTTP_SERVER_REWRITE_PHASE
	c.serverRewrite(r)
	if srv.ret != nil {
		r.loc = srv.unmatched
		return c.doReturn(r, srv.ret)
	}
	// NGX_HTTP_FIND_CONFIG_PHASE (ngx_http_core_find_config_phase)
	loc, redirect := srv.findLocation(r.Path)
	if loc == nil {
		loc = srv.unmatched
	}
	if !r.internal && loc.internal {
		// Before ngx_http_update_location_config: no keep-alive vetoes.
		r.loc = loc
		return 404
	}
	r.loc = loc
	c.updateLocationConfig(r)
	if c.head.ContentLength != -1 && !r.discardStarted && loc.maxBodySize > 0 && loc.maxBodySize < c.head.ContentLength {
		c.w.inst.logf(c, "client intended to send too large body", "", 413)
		r.expectTested = true
		c.discardBody(r)
		return 413
	}
	if redirect {
		loc := append([]byte(nil), loc.name...)
		if len(r.Args) > 0 {
			loc = append(append(loc, '?'), r.Args...)
		}
		r.w.location = loc
		return 301
	}
	return c.runLocation(r)
}

// runLocation runs the location rewrite (return) and content phases.
func (c *conn) runLocation(r *Request) int {
	c.locationRewrite(r) // NGX_HTTP_REWRITE_PHASE: set
	loc := r.loc
	if loc.ret != nil && loc != r.srv.unmatched {
		return c.doReturn(r, loc.ret)
	}
	rc := loc.handler.Serve(&r.w, r)
	if _, ok := loc.handler.(*proxyHandler); !ok {
		// The handler may have waited (a file, anything): what follows
		// (a special response, the keep-alive timer) starts from now.
		// The proxy keeps c.now at its last wake-up itself.
		c.now = time.Now()
	}
	return rc
}

// updateLocationConfig applies the per-location keep-alive vetoes in
// nginx's order (ngx_http_update_location_config).
func (c *conn) updateLocationConfig(r *Request) {
	if !r.keepalive {
		return
	}
	lc := r.loc
	switch {
	case lc.keepaliveTimeout == 0:
		r.veto(ReasonKeepaliveOff)
	case c.requests >= lc.keepaliveRequests:
		r.veto(ReasonKeepaliveRequests)
	case lc.keepaliveTime >= 0 && (c.now.UnixNano()-c.start)/1e6 > lc.keepaliveTime.Milliseconds():
		r.veto(ReasonKeepaliveTime)
	case c.head.MSIE6 && r.Method == h1.MethodPOST && lc.disableMSIE6:
		r.veto(ReasonDisabledAgent)
	case c.head.Safari && lc.disableSafari:
		r.veto(ReasonDisabledAgent)
	}
}

// finalizeRequest follows a handler result the way ngx_http_finalize_request
// does for a main request: special responses for error and redirect
// statuses (which may redirect internally), termination for 444, 408, 499
// and errors.
func (c *conn) finalizeRequest(r *Request, rc int) int {
	for {
		switch {
		case rc == StatusDone:
			if c.failed {
				return StatusError
			}
			if err := r.w.finish(); err != nil {
				return StatusError
			}
			return StatusDone
		case rc == StatusError || rc == StatusRequestTimeout || rc == StatusClientClosed || rc == StatusClose:
			return rc
		case rc >= 300 || rc == 201 || rc == 204:
			if r.w.headerSent {
				return StatusError
			}
			rc = c.specialResponse(r, rc)
		default:
			// A handler returned a 1xx/2xx code without a response.
			rc = StatusDone
		}
	}
}

// terminateReason is the close reason of a terminated request
// (ngx_http_terminate_request); 444 sets c->timedout so it resets with
// reset_timedout_connection.
func (c *conn) terminateReason(r *Request, rc int) Reason {
	switch {
	case rc == StatusClose:
		c.timedout = true
		c.resetIfConfigured(r.loc)
		return ReasonReturn444
	case c.closeReq.Load() != 0:
		return c.requestedReason()
	case r.w.aborted:
		return ReasonUpstreamTruncated
	case rc == StatusRequestTimeout && c.timedout:
		c.resetIfConfigured(r.loc)
		if r.w.headerSent {
			return ReasonSendTimeout
		}
		return ReasonBodyTimeout
	case rc == StatusRequestTimeout, rc == StatusClientClosed && !c.eof && !c.failed:
		return ReasonReturn408
	case c.writeFailed:
		if c.timedout {
			c.resetIfConfigured(r.loc)
			return ReasonSendTimeout
		}
		return ReasonWriteError
	case c.eof || c.failed:
		return ReasonPeerClosed
	}
	return ReasonInternalError
}

// ---- after the response ----

type action uint8

const (
	actionClose action = iota
	actionKeepalive
	actionLinger
)

// finalizeConnection decides what happens to the connection once a
// response is complete; it is the one place that returns the close reason
// (ngx_http_finalize_connection).
func (c *conn) finalizeConnection(r *Request) (action, Reason) {
	lc := r.loc
	if !r.bodyStarted && !r.discardStarted {
		// The handler neither read nor discarded the body: discard it
		// now, as nginx handlers do; no "100 Continue" after the answer.
		r.expectTested = true
		if c.discardBody(r) != 0 {
			r.veto(ReasonBodyNotDiscarded)
			return actionClose, r.closeReason
		}
	}
	if r.discardPending {
		reason, ok := c.discardRest(r)
		if !ok {
			if reason == ReasonDiscardTimeout && c.timedout {
				c.resetIfConfigured(lc)
			}
			if !r.keepalive && r.closeReason != ReasonNone {
				// The response already said close; that is the reason.
				reason = r.closeReason
			}
			return actionClose, reason
		}
	}
	if c.eof {
		return actionClose, ReasonPeerClosed
	}
	if r.bodyStarted && !r.bodyDone {
		// nginx r->reading_body: the handler answered before the body ended.
		r.veto(ReasonBodyUnread)
		r.lingeringClose = true
	}
	exiting := c.w.exiting.Load()
	if r.keepalive && lc.keepaliveMinTimeout > 0 {
		c.kaLoc = lc
		return actionKeepalive, ReasonNone
	}
	if r.keepalive && !exiting && lc.keepaliveTimeout > 0 {
		c.kaLoc = lc
		return actionKeepalive, ReasonNone
	}
	reason := r.closeReason
	switch {
	case r.keepalive && exiting:
		reason = c.w.exitReason()
	case r.keepalive:
		// Keep-alive survived every veto (e.g. a server-level return,
		// which skips the location checks) but keepalive_timeout is 0.
		reason = ReasonKeepaliveOff
	}
	if lc.lingering == lingeringAlways ||
		(lc.lingering == lingeringOn && (r.lingeringClose || c.pos < c.last || c.bpos < c.blast ||
			(c.pipelined && c.ic.version.AtLeast(config.V1_23_4)) || c.readReady())) {
		return actionLinger, reason
	}
	return actionClose, reason
}

// readReady mirrors nginx's rev->ready at the end of a request: set when
// the last read filled its buffer, or when data arrived while the request
// waited for something (nginx's event loop saw it; a request answered
// within one event is not told about later data).
func (c *conn) readReady() bool {
	if c.lastReadFull {
		return true
	}
	if time.Since(c.reqStart) > time.Millisecond && c.last < len(c.buf) {
		n, _ := c.read(c.buf[c.last:], time.Unix(1, 0))
		c.last += n
		return n > 0
	}
	return false
}

// lingeringClose half-closes the connection and reads and drops what the
// client still sends (ngx_http_set_lingering_close,
// ngx_http_lingering_close_handler): lingering_timeout per read,
// lingering_time in total.
func (c *conn) lingeringClose(r *Request, reason Reason) {
	lc := r.loc
	if err := c.flush(lc.sendTimeout); err != nil {
		c.close(c.writeErrorReason(err))
		return
	}
	if r.lingeringTime == 0 {
		r.lingeringTime = time.Now().Unix() + int64(lc.lingeringTime/time.Second)
	}
	if c.tcp != nil {
		if err := c.tcp.CloseWrite(); err != nil {
			c.close(reason)
			return
		}
	}
	c.lingered = true
	if c.ic.version.AtLeast(config.V1_19_7) {
		c.w.setState(c, stateLingering)
	}
	if c.scratch == nil {
		c.scratch = make([]byte, 4096)
	}
	for {
		left := r.lingeringTime - time.Now().Unix()
		if left <= 0 {
			break
		}
		timer := min(time.Duration(left)*time.Second, lc.lingeringTimeout)
		_, err := c.read(c.scratch, time.Now().Add(timer))
		if err != nil {
			if errors.Is(err, errCloseRequested) && reason == ReasonNone {
				reason = c.requestedReason()
			}
			break
		}
	}
	c.close(reason)
}

// resetIfConfigured arms an RST for the close when the location says
// reset_timedout_connection (ngx_http_free_request, SO_LINGER {1, 0}).
func (c *conn) resetIfConfigured(lc *locConf) {
	if c.timedout && lc != nil && lc.resetTimedout && c.tcp != nil {
		c.tcp.SetLinger(0)
		c.end = EndRST
	}
}

// close closes the socket and reports the close.
func (c *conn) close(reason Reason) {
	if c.isClosed {
		return
	}
	c.isClosed = true
	if c.reqState != nil && len(c.wbuf) > 0 && !c.writeFailed && c.end != EndRST {
		// A response held back because the client had pipelined the
		// next request goes out before the close, as nginx sent it
		// before ngx_http_finalize_connection chose to close.
		if err := c.flush(c.sendTimeout()); err != nil {
			reason = c.writeErrorReason(err)
			c.resetIfConfigured(c.req.loc)
		}
	}
	if c.end != EndRST && c.unreadInKernel() {
		c.end = EndRST // the kernel resets a socket closed with unread data
	}
	c.nc.Close()
	c.w.closed(c, reason)
}

// unreadInKernel reports whether the socket's receive queue holds bytes
// nobody read (close then sends RST).
func (c *conn) unreadInKernel() bool {
	if c.tcp == nil {
		return false
	}
	rc, err := c.tcp.SyscallConn()
	if err != nil {
		return false
	}
	var n int
	rc.Control(func(fd uintptr) {
		n = pendingBytes(int(fd))
	})
	return n > 0
}

func (c *conn) sendTimeout() time.Duration {
	if c.reqState != nil && c.req.loc != nil {
		return c.req.loc.sendTimeout
	}
	if c.kaLoc != nil {
		return c.kaLoc.sendTimeout
	}
	return c.ac.defaultServer.unmatched.sendTimeout
}

func (c *conn) writeErrorReason(err error) Reason {
	switch {
	case errors.Is(err, errCloseRequested):
		return c.requestedReason()
	case c.timedout:
		return ReasonSendTimeout
	}
	return ReasonWriteError
}
