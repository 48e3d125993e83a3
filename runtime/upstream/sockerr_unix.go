//go:build unix

package upstream

import (
	"errors"
	"io"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
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
		n, err := unix.Write(int(fd), p.wb[p.wOff:])
		if n > 0 {
			p.wOff += n
		}
		switch {
		case err == unix.EINTR:
		case err == unix.EAGAIN:
			p.wErr = errWouldBlock
			return true
		case err != nil:
			p.wErr = err
			return true
		case n <= 0:
			p.wErr = io.ErrShortWrite
			return true
		}
	}
	return false // all sent: wait for the response
}
