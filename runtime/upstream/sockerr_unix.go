//go:build unix

package upstream

import (
	"net"
	"syscall"
)

// socketError is ngx_http_upstream_test_connect: a pending socket error
// (SO_ERROR), e.g. a reset that arrived while the connection was cached.
func socketError(nc net.Conn) error {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	var soErr int
	var gerr error
	if err := rc.Control(func(fd uintptr) {
		soErr, gerr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_ERROR)
	}); err != nil || gerr != nil {
		return nil
	}
	if soErr != 0 {
		return syscall.Errno(soErr)
	}
	return nil
}
