//go:build unix && !linux

package sockio

import "syscall"

// Read reads from the socket fd into p; EINTR is retried. An empty p reads
// nothing and returns 0, 0.
func Read(fd int, p []byte) (int, syscall.Errno) {
	return call(syscall.Read, fd, p)
}

// Write writes p to the socket fd; EINTR is retried. An empty p writes
// nothing and returns 0, 0.
func Write(fd int, p []byte) (int, syscall.Errno) {
	return call(syscall.Write, fd, p)
}

func call(f func(int, []byte) (int, error), fd int, p []byte) (int, syscall.Errno) {
	if len(p) == 0 {
		return 0, 0
	}
	for {
		n, err := f(fd, p)
		if err == nil {
			return n, 0
		}
		if err != syscall.EINTR {
			if e, ok := err.(syscall.Errno); ok {
				return 0, e
			}
			return 0, syscall.EIO
		}
	}
}
