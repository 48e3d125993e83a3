//go:build unix

package server

import (
	"io"
	"syscall"
	"time"

	"github.com/ngxkeep/ngxkeep/runtime/sockio"
)

// idleRead reads the first bytes of the next request into a header buffer
// taken from the pool only once they are there: while the client is
// silent the connection holds no buffer.
func (c *conn) idleRead(deadline time.Time) (int, error) {
	if c.reqState == nil {
		c.attach()
	}
	if c.rc == nil || len(c.wbuf) > 0 {
		return c.read(c.buf, deadline)
	}
	c.armRead(deadline)
	if c.closeReq.Load() != 0 {
		return 0, errCloseRequested
	}
	rc := c.rc
	var n int
	var rerr error
	var err error
	for retry := 0; ; retry++ {
		n, rerr = 0, nil
		err = rc.Read(func(fd uintptr) bool {
			if c.reqState == nil {
				c.attach()
			}
			var e syscall.Errno
			n, e = sockio.Read(int(fd), c.buf)
			if e != 0 {
				rerr = e
			}
			if e == syscall.EAGAIN {
				c.detach() // nothing yet: wait without a buffer
				n, rerr = 0, nil
				return false
			}
			return true
		})
		c.now = time.Now()
		if err != nil && retry < 2 && c.closeReq.Load() == 0 && c.now.Before(deadline) && isTimeout(err) {
			// An earlier deadline kept by armRead fired: wait on
			// until the one asked for.
			c.setReadDeadline(deadline)
			continue
		}
		break
	}
	if c.reqState == nil {
		c.attach()
	}
	c.lastReadFull = n > 0 && n == len(c.buf)
	if err == nil && rerr == nil {
		if n > 0 {
			return n, nil
		}
		c.eof = true // ZeroReadIsEOF
		return 0, io.EOF
	}
	if c.closeReq.Load() != 0 {
		return n, errCloseRequested
	}
	if err != nil && isTimeout(err) {
		return 0, errReadTimeout
	}
	c.failed = true
	return 0, io.EOF
}
