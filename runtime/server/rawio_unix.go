//go:build unix && !linux

package server

import "syscall"

// sysRead and sysWrite go through syscall.Read and syscall.Write outside
// Linux: some systems (OpenBSD) allow system calls only through libc, so
// the raw calls of rawio_linux.go are not used there. EINTR is retried.
func sysRead(fd int, p []byte) (int, syscall.Errno) {
	if len(p) == 0 {
		return 0, 0
	}
	for {
		n, err := syscall.Read(fd, p)
		if err == nil {
			return n, 0
		}
		if err != syscall.EINTR {
			return 0, errnoOf(err)
		}
	}
}

func sysWrite(fd int, p []byte) (int, syscall.Errno) {
	if len(p) == 0 {
		return 0, 0
	}
	for {
		n, err := syscall.Write(fd, p)
		if err == nil {
			return n, 0
		}
		if err != syscall.EINTR {
			return 0, errnoOf(err)
		}
	}
}

func errnoOf(err error) syscall.Errno {
	if e, ok := err.(syscall.Errno); ok {
		return e
	}
	return syscall.EIO
}
