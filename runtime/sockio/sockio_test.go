//go:build unix

package sockio

import (
	"syscall"
	"testing"
)

func socketPair(t *testing.T) (a, b int) {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, fd := range fds {
		if err := syscall.SetNonblock(fd, true); err != nil {
			t.Fatal(err)
		}
	}
	return fds[0], fds[1]
}

func TestReadWrite(t *testing.T) {
	a, b := socketPair(t)
	defer syscall.Close(a)
	bOpen := true
	defer func() {
		if bOpen {
			syscall.Close(b)
		}
	}()
	if n, e := Read(a, make([]byte, 8)); n != 0 || e != syscall.EAGAIN {
		t.Fatalf("Read of an empty non-blocking socket = %d, %v; want 0, EAGAIN", n, e)
	}
	if n, e := Write(b, []byte("hello")); n != 5 || e != 0 {
		t.Fatalf("Write = %d, %v; want 5, 0", n, e)
	}
	buf := make([]byte, 3)
	if n, e := Read(a, buf); n != 3 || e != 0 || string(buf) != "hel" {
		t.Fatalf("Read = %d, %v, %q; want 3, 0, \"hel\"", n, e, buf[:n])
	}
	if n, e := Read(a, buf); n != 2 || e != 0 || string(buf[:n]) != "lo" {
		t.Fatalf("Read = %d, %v, %q; want 2, 0, \"lo\"", n, e, buf[:n])
	}
	// Empty slices make no call (a raw call would need &p[0]).
	if n, e := Read(a, nil); n != 0 || e != 0 {
		t.Errorf("Read(nil) = %d, %v", n, e)
	}
	if n, e := Write(b, []byte{}); n != 0 || e != 0 {
		t.Errorf("Write(empty) = %d, %v", n, e)
	}
	syscall.Close(b)
	bOpen = false
	if n, e := Read(a, buf); n != 0 || e != 0 {
		t.Errorf("Read after the peer closed = %d, %v; want 0, 0 (EOF)", n, e)
	}
	if _, e := Write(-1, []byte("x")); e != syscall.EBADF {
		t.Errorf("Write to fd -1: errno %v, want EBADF", e)
	}
}
