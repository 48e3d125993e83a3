//go:build unix

package upstream

import (
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
