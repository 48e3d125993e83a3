//go:build !unix

package server

import "time"

// idleRead reads the first bytes of the next request into the header
// buffer, which an idle connection keeps on this platform.
func (c *conn) idleRead(deadline time.Time) (int, error) {
	return c.read(c.buf, deadline)
}
