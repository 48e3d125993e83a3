//go:build unix

package server

import "golang.org/x/sys/unix"

// socketReadable reports whether a read on fd would not block: bytes, EOF
// or an error are pending (recv MSG_PEEK|MSG_DONTWAIT consumes nothing).
func socketReadable(fd int) bool {
	var b [1]byte
	_, _, err := unix.Recvfrom(fd, b[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
	return err != unix.EAGAIN && err != unix.EINTR
}
