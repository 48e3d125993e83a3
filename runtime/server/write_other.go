//go:build !unix

package server

import (
	"syscall"
	"time"
)

// rawWriter is not available on this platform: writes go through
// net.Conn.Write with one deadline per call.
type rawWriter struct{}

// rawWrites says that writes go through rawWriter on this platform.
const rawWrites = false

func (rw *rawWriter) init(c *conn, rc syscall.RawConn) {}

func (rw *rawWriter) write(p []byte, timeout time.Duration) (int, error) {
	panic("unreachable")
}

func (rw *rawWriter) read(p []byte) (int, error) {
	panic("unreachable")
}
