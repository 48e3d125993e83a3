//go:build !unix

package server

import "time"

// rawWriter is not available on this platform: writes go through
// net.Conn.Write with one deadline per call.
type rawWriter struct{}

func newRawWriter(c *conn) *rawWriter { return nil }

func (rw *rawWriter) write(p []byte, timeout time.Duration) (int, error) {
	panic("unreachable")
}
