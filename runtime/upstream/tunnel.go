package upstream

import (
	"errors"
	"io"
	"net"
	"sync/atomic"
	"time"
)

// tunnel runs the byte tunnel after a 101 response
// (ngx_http_upstream_upgrade, ngx_http_upstream_process_upgraded): bytes
// flow both ways until either side closes or proxy_read_timeout passes
// without data; then both connections close.
func (x *exchange) tunnel() {
	x.res.KeepaliveOff = true
	x.res.Upgraded = true
	t, ok := x.rw.(Tunneler)
	if !ok {
		x.release(false, CloseNotReusable, errors.New("upgrade not supported by the client connection"))
		return
	}
	cc, pre, err := t.Tunnel()
	if err != nil {
		x.release(false, CloseNotReusable, err)
		return
	}
	up := x.c
	if len(pre) > 0 {
		_ = up.nc.SetWriteDeadline(time.Now().Add(x.p.sendTO))
		if _, err := up.nc.Write(pre); err != nil {
			x.release(false, CloseNotReusable, err)
			return
		}
	}
	done := make(chan struct{})
	var stop atomic.Bool
	go func() {
		defer close(done)
		copyIdle(up.nc, cc, cc, x.p.readTO, x.p.sendTO, &stop)
		// either side finished: wake the other direction
		stop.Store(true)
		_ = up.nc.SetReadDeadline(time.Unix(1, 0))
	}()
	copyIdle(cc, up.br, up.nc, x.p.readTO, x.p.sendTO, &stop)
	stop.Store(true)
	_ = cc.SetReadDeadline(time.Unix(1, 0))
	<-done
	x.res.Complete = true
	x.keepalive = false
	x.release(false, CloseNotReusable, errors.New("upgraded connection"))
}

// copyIdle copies src to dst with an idle timeout on each read.
func copyIdle(dst net.Conn, src io.Reader, srcConn net.Conn, readTO, sendTO time.Duration, stop *atomic.Bool) {
	buf := make([]byte, 16<<10)
	for {
		_ = srcConn.SetReadDeadline(time.Now().Add(readTO))
		if stop.Load() {
			return
		}
		n, err := src.Read(buf)
		if n > 0 {
			_ = dst.SetWriteDeadline(time.Now().Add(sendTO))
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
