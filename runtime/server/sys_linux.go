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
