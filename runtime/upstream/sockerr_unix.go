//go:build unix

package upstream

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/ngxkeep/ngxkeep/runtime/sockio"
)

// sockProbe checks an upstream socket without blocking or reading. It is
// created once per connection so that checks do not allocate.
type sockProbe struct {
	rc     syscall.RawConn
	errFn  func(fd uintptr)
	pollFn func(fd uintptr)
	soErr  int
	gerr   error
	fds    [1]unix.PollFd
	n      int
	perr   error

	// writeAndWait state
	stepFn func(fd uintptr) bool
	wb     []byte
	wOff   int
	wErr   error
}

func newSockProbe(nc net.Conn) *sockProbe {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	p := &sockProbe{rc: rc}
	p.errFn = func(fd uintptr) {
		p.soErr, p.gerr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_ERROR)
	}
	p.stepFn = p.step
	p.pollFn = func(fd uintptr) {
		p.fds[0] = unix.PollFd{Fd: int32(fd), Events: unix.POLLIN | pollRDHUP}
		p.n, p.perr = unix.Poll(p.fds[:], 0)
	}
	return p
}

// socketError is ngx_http_upstream_test_connect: a pending socket error
// (SO_ERROR), e.g. a reset that arrived before the request was sent.
func (p *sockProbe) socketError() error {
	if p == nil {
		return nil
	}
	if err := p.rc.Control(p.errFn); err != nil || p.gerr != nil {
		return nil
	}
	if p.soErr != 0 {
		return syscall.Errno(p.soErr)
	}
	return nil
}

// probe reports a read event pending on an idle connection (EOF, an
// error, or data the backend should not have sent) without reading it:
// what ngx_http_upstream_keepalive_close_handler would have acted on.
func (p *sockProbe) probe() error {
	if p == nil {
		return nil
	}
	p.n, p.perr = 0, nil
	if err := p.rc.Control(p.pollFn); err != nil || p.perr != nil || p.n == 0 {
		return nil
	}
	ev := p.fds[0].Revents
	switch {
	case ev&unix.POLLERR != 0:
		if err := p.socketError(); err != nil {
			return err
		}
		return io.ErrUnexpectedEOF
	case ev&(unix.POLLHUP|pollRDHUP) != 0:
		return io.EOF
	case ev&unix.POLLIN != 0:
		return errUnexpectedData
	}
	return nil
}

// errWouldBlock means writeAndWait could not write everything at once.
var errWouldBlock = errors.New("upstream write would block")

// writeAndWait writes b without blocking and then waits, under the read
// deadline already set, until the socket is readable: the response is
// awaited on the poller's readiness (as nginx waits for the read event)
// instead of with a read that first fails with EAGAIN. The readiness
// state is reset before the write, so the response's event cannot be
// missed. It returns how much of b was written; werr is errWouldBlock
// when the socket did not take it all (the caller writes the rest the
// usual way) or the write error; waitErr is the wait's own error, which
// the caller may ignore (its next read sees the same condition).
func (p *sockProbe) writeAndWait(b []byte) (written int, werr, waitErr error) {
	if p == nil {
		return 0, errWouldBlock, nil
	}
	p.wb, p.wOff, p.wErr = b, 0, nil
	waitErr = p.rc.Read(p.stepFn)
	written, werr = p.wOff, p.wErr
	p.wb = nil
	if written == 0 && werr == nil && waitErr != nil {
		werr = errWouldBlock // the wait could not even start
	}
	return written, werr, waitErr
}

func (p *sockProbe) step(fd uintptr) bool {
	if p.wOff >= len(p.wb) {
		return true // readable
	}
	for p.wOff < len(p.wb) {
		n, err := sockio.Write(int(fd), p.wb[p.wOff:])
		if n > 0 {
			p.wOff += n
		}
		switch {
		case err == unix.EINTR:
		case err == unix.EAGAIN:
			p.wErr = errWouldBlock
			return true
		case err != 0:
			p.wErr = err
			return true
		case n <= 0:
			p.wErr = io.ErrShortWrite
			return true
		}
	}
	return false // all sent: wait for the response
}

// reader returns the io.Reader of the connection's bufio.Reader: nc
// itself, or for a TCP or unix socket a sockReader, which reads without
// entering the scheduler.
func (p *sockProbe) reader(nc net.Conn) io.Reader {
	switch nc.(type) {
	case *net.TCPConn, *net.UnixConn:
	default:
		return nc
	}
	if p == nil {
		return nc
	}
	r := &sockReader{nc: nc, rc: p.rc}
	r.fn = r.step
	return r
}

// sockReader reads an upstream socket like net.Conn.Read (same errors:
// io.EOF, *net.OpError with a timeout or the read's errno), with the
// read(2) itself done by sockio.Read.
type sockReader struct {
	nc net.Conn
	rc syscall.RawConn
	fn func(fd uintptr) bool
	p  []byte
	n  int
	e  syscall.Errno
}

// Read implements io.Reader.
func (r *sockReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	r.p, r.n, r.e = p, 0, 0
	err := r.rc.Read(r.fn)
	n, e := r.n, r.e
	r.p = nil
	switch {
	case err != nil:
		if oe, ok := err.(*net.OpError); ok {
			o := *oe
			o.Op = "read" // as net.Conn.Read says it, not "raw-read"
			return 0, &o
		}
		return 0, err
	case e != 0:
		la := r.nc.LocalAddr()
		return 0, &net.OpError{Op: "read", Net: la.Network(), Source: la, Addr: r.nc.RemoteAddr(), Err: os.NewSyscallError("read", e)}
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

func (r *sockReader) step(fd uintptr) bool {
	n, e := sockio.Read(int(fd), r.p)
	if e == syscall.EAGAIN {
		return false // wait for readability, until the deadline
	}
	r.n, r.e = n, e
	return true
}
