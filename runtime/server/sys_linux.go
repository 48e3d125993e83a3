package server

import "golang.org/x/sys/unix"

// pendingBytes returns the number of unread bytes in a socket's receive
// queue (SIOCINQ).
func pendingBytes(fd int) int {
	n, err := unix.IoctlGetInt(fd, unix.SIOCINQ)
	if err != nil {
		return 0
	}
	return n
}

// peekClosed reports whether the peer has closed or reset the connection,
// without consuming data (recv MSG_PEEK|MSG_DONTWAIT, as
// ngx_http_test_reading does).
func peekClosed(fd int) bool {
	var b [1]byte
	n, _, err := unix.Recvfrom(fd, b[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
	if err != nil {
		return err != unix.EAGAIN && err != unix.EINTR
	}
	return n == 0
}
