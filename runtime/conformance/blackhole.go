package conformance

import (
	"fmt"
	"net"
	"syscall"
)

// blackhole is a listening port whose connection attempts hang: a socket
// listening with backlog 0 whose accept queue the harness fills itself, so
// the kernel drops further SYNs. It lets a scenario reach
// proxy_connect_timeout on loopback.
type blackhole struct {
	fd   int
	port int
	plug net.Conn
}

func startBlackhole() (*blackhole, error) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	h := &blackhole{fd: fd}
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		h.close()
		return nil, err
	}
	if err := syscall.Listen(fd, 0); err != nil {
		h.close()
		return nil, err
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		h.close()
		return nil, err
	}
	h.port = sa.(*syscall.SockaddrInet4).Port
	// One connection fills a backlog-0 accept queue.
	h.plug, err = net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", h.port))
	if err != nil {
		h.close()
		return nil, fmt.Errorf("blackhole: %v", err)
	}
	return h, nil
}

func (h *blackhole) close() {
	if h.plug != nil {
		h.plug.Close()
	}
	syscall.Close(h.fd)
}
