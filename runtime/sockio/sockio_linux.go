package sockio

import (
	"syscall"
	"unsafe"
)

// Read reads from the socket fd into p; EINTR is retried. An empty p reads
// nothing and returns 0, 0.
func Read(fd int, p []byte) (int, syscall.Errno) {
	return call(syscall.SYS_READ, fd, p)
}

// Write writes p to the socket fd; EINTR is retried. An empty p writes
// nothing and returns 0, 0.
func Write(fd int, p []byte) (int, syscall.Errno) {
	return call(syscall.SYS_WRITE, fd, p)
}

func call(trap uintptr, fd int, p []byte) (int, syscall.Errno) {
	if len(p) == 0 {
		return 0, 0
	}
	for {
		n, _, e := syscall.RawSyscall(trap, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
		if e != syscall.EINTR {
			if e != 0 {
				return 0, e
			}
			return int(n), 0
		}
	}
}
