//go:build unix && !linux

package upstream

import "syscall"

// rawRead and rawWrite go through syscall.Read and syscall.Write outside
// Linux: some systems (OpenBSD) allow system calls only through libc, so
// the raw calls of rawio_linux.go are not used there. EINTR is retried.
func rawRead(fd int, p []byte) (int, syscall.Errno) {
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

func rawWrite(fd int, p []byte) (int, syscall.Errno) {
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
