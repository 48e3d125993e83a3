//go:build unix

package server

import (
	"io"
	"syscall"
	"time"

	"github.com/ngxkeep/ngxkeep/runtime/sockio"
)

// rawWriter writes to a client socket through the runtime poller with
// nginx's send_timeout semantics: the timer is re-armed after every write
// that makes progress and fires only after send_timeout without any
// (ngx_http_writer re-adds the write timer on each write event). A plain
// net.Conn.Write cannot do that: its deadline covers the whole call, so a
// write that progressed and then stalled could not tell how long it has
// been stalled.
type rawWriter struct {
	c       *conn
	rc      syscall.RawConn
	step    func(fd uintptr) bool
	p       []byte
	n       int
	timeout time.Duration
	err     error
	// waited is set once writeStep has been called: a further call
	// comes after a wait for writability.
	waited bool

	// read's state, for readStep.
	rstep func(fd uintptr) bool
	rp    []byte
	rn    int
	rerr  syscall.Errno
}

// rawWrites says that writes go through rawWriter on this platform.
const rawWrites = true

// init binds the writer to c's socket, or unbinds it (c nil).
func (rw *rawWriter) init(c *conn, rc syscall.RawConn) {
	rw.c, rw.rc = c, rc
	if c == nil {
		return
	}
	if rw.step == nil {
		rw.step = rw.writeStep
		rw.rstep = rw.readStep
	}
}

// read reads into p like net.Conn.Read (io.EOF when the client closed,
// a timeout error when the read deadline passes), with the read(2) itself
// done by sockio.Read.
func (rw *rawWriter) read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	rw.rp, rw.rn, rw.rerr = p, 0, 0
	err := rw.rc.Read(rw.rstep)
	n, rerr := rw.rn, rw.rerr
	rw.rp = nil
	switch {
	case err != nil:
		return 0, err
	case rerr != 0:
		return 0, rerr
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

func (rw *rawWriter) readStep(fd uintptr) bool {
	n, err := sockio.Read(int(fd), rw.rp)
	if err == syscall.EAGAIN {
		return false // wait for readability, until the deadline
	}
	rw.rn, rw.rerr = n, err
	return true
}

// write writes all of p unless the socket fails, send_timeout passes
// without progress, or the worker asks the connection to close.
func (rw *rawWriter) write(p []byte, timeout time.Duration) (int, error) {
	done := 0
	if fd := rw.c.sockFD(); fd >= 0 && rw.c.closeReq.Load() == 0 {
		// First try one write(2) without the poller: a response that
		// fits in the socket buffer is sent without taking the fd's
		// lock, and needs no send_timeout (ngx_http_write_filter sets
		// no timer when all was sent). Only the connection's goroutine
		// closes the socket, so fd stays valid during the call.
		n, err := sockio.Write(fd, p)
		switch err {
		case 0:
			if n == len(p) {
				return n, nil
			}
			done, p = n, p[n:]
		case syscall.EAGAIN:
		default:
			return n, err
		}
	}
	rw.p, rw.n, rw.timeout, rw.err, rw.waited = p, 0, timeout, nil, false
	var err error
	if rw.progress() {
		err = rw.rc.Write(rw.step)
	}
	n := done + rw.n
	if rw.err != nil {
		err = rw.err
	}
	rw.p, rw.err = nil, nil
	return n, err
}

func (rw *rawWriter) writeStep(fd uintptr) bool {
	if rw.waited {
		rw.c.now = time.Now() // woken up: timers start from now
	}
	rw.waited = true
	for len(rw.p) > 0 {
		n, err := sockio.Write(int(fd), rw.p)
		if n > 0 {
			rw.p = rw.p[n:]
			rw.n += n
			if !rw.progress() {
				return true
			}
		}
		switch err {
		case 0:
			if n == 0 {
				rw.err = syscall.EPIPE
				return true
			}
		case syscall.EAGAIN:
			return false // wait for writability, until the deadline
		default:
			rw.err = err
			return true
		}
	}
	return true
}

// progress arms the send_timeout before the first write and re-arms it
// after each write that made progress; it reports false when the worker
// asked the connection to close, which no write may outlive. The
// close request is checked after arming, so that a concurrent wake-up by
// the worker (a deadline in the past) is never overwritten.
func (rw *rawWriter) progress() bool {
	rw.c.armWrite(rw.timeout)
	if rw.c.closeReq.Load() != 0 {
		rw.err = errCloseRequested
		return false
	}
	return true
}
