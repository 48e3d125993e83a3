package server

import (
	"io"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

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

// sendFile sends n bytes of f from offset 0 with sendfile(2), re-arming
// send_timeout after each call that made progress, like rawWriter.write.
// ok is false when the file or socket gives no descriptor.
func (rw *rawWriter) sendFile(f *os.File, n int64, timeout time.Duration) (sent int64, ok bool, err error) {
	if rw == nil {
		return 0, false, nil
	}
	frc, ferr := f.SyscallConn()
	if ferr != nil {
		return 0, false, nil
	}
	var off int64
	rw.timeout, rw.err = timeout, nil
	cerr := frc.Control(func(ffd uintptr) {
		if !rw.progress() {
			return
		}
		waited := false
		err = rw.rc.Write(func(sfd uintptr) bool {
			if waited {
				rw.c.now = time.Now() // woken up: timers start from now
			}
			waited = true
			for sent < n {
				k, serr := syscall.Sendfile(int(sfd), int(ffd), &off, int(min(n-sent, 1<<30)))
				if k > 0 {
					sent += int64(k)
					if !rw.progress() {
						return true
					}
				}
				switch serr {
				case nil:
					if k == 0 {
						rw.err = io.ErrUnexpectedEOF // the file shrank
						return true
					}
				case syscall.EINTR:
				case syscall.EAGAIN:
					return false
				default:
					rw.err = serr
					return true
				}
			}
			return true
		})
	})
	if rw.err != nil {
		err = rw.err
	}
	rw.err = nil
	if cerr != nil && err == nil {
		err = cerr
	}
	return sent, true, err
}
