package upstream

import (
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// clientBodyError wraps an error reading the client's request body while
// it is streamed to the upstream.
type clientBodyError struct{ err error }

func (e *clientBodyError) Error() string { return "client request body: " + e.err.Error() }
func (e *clientBodyError) Unwrap() error { return e.err }

// bodyPump streams the client body to the upstream (proxy_request_buffering
// off) while the exchange reads the response, as nginx does with its
// event loop.
type bodyPump struct {
	x        *exchange
	done     chan struct{}
	err      error
	complete atomic.Bool
	stopping atomic.Bool
	failed   atomic.Bool // set before the exchange's read is woken
}

type deadliner interface{ SetReadDeadline(time.Time) error }

func startPump(x *exchange) *bodyPump {
	p := &bodyPump{x: x, done: make(chan struct{})}
	go p.run()
	return p
}

// pumpBufs holds the pump's buffers between requests.
var pumpBufs = sync.Pool{New: func() any { b := make([]byte, pumpHead+pumpData+pumpTail); return &b }}

const (
	pumpHead = 18 // room for a chunk-size line: 16 hex digits and CRLF
	pumpData = 16 << 10
	pumpTail = 7 // CRLF after the data and the last chunk "0\r\n\r\n"
)

// run copies the body to the upstream, one write per read: for a chunked
// body the chunk-size line, the data, its CRLF and, with the body's last
// bytes, the last chunk go out together, as nginx's output chain sends a
// chunk's buffers in one writev (ngx_http_proxy_body_output_filter).
func (p *bodyPump) run() {
	defer close(p.done)
	x := p.x
	c := x.c
	chunked := x.req.Chunked
	bp := pumpBufs.Get().(*[]byte)
	defer pumpBufs.Put(bp)
	buf := *bp
	data := buf[pumpHead : pumpHead+pumpData]
	for {
		n, rerr := x.req.Body.Read(data)
		start, end := pumpHead, pumpHead+n
		if chunked {
			if n > 0 {
				var hex [16]byte
				h := strconv.AppendInt(hex[:0], int64(n), 16)
				start -= len(h) + 2
				copy(buf[start:], h)
				copy(buf[start+len(h):], "\r\n")
				end += copy(buf[end:], "\r\n")
			}
			if rerr == io.EOF {
				end += copy(buf[end:], "0\r\n\r\n")
			}
		}
		if end > start {
			_ = c.nc.SetWriteDeadline(time.Now().Add(x.p.sendTO))
			if _, err := c.nc.Write(buf[start:end]); err != nil {
				p.fail(err)
				return
			}
		}
		if rerr == io.EOF {
			p.complete.Store(true)
			return
		}
		if rerr != nil {
			p.fail(&clientBodyError{rerr})
			return
		}
	}
}

// fail records an error and wakes the exchange reading the response.
func (p *bodyPump) fail(err error) {
	if p.stopping.Load() {
		return
	}
	p.err = err
	p.failed.Store(true)
	_ = p.x.c.nc.SetReadDeadline(time.Unix(1, 0))
}

// stop interrupts the pump if it is still running and waits for it.
func (p *bodyPump) stop() error {
	select {
	case <-p.done:
		return p.err
	default:
	}
	p.stopping.Store(true)
	if d, ok := p.x.req.Body.(deadliner); ok {
		_ = d.SetReadDeadline(time.Unix(1, 0))
	}
	_ = p.x.c.nc.SetWriteDeadline(time.Unix(1, 0))
	<-p.done
	return nil
}

func (p *bodyPump) finished() bool { return p.complete.Load() }

// stopPump stops the body pump of the current attempt and records whether
// the whole body was sent (u->request_body_sent).
func (x *exchange) stopPump() error {
	if x.pump == nil {
		return nil
	}
	err := x.pump.stop()
	x.bodySent = x.pump.finished()
	if x.c != nil {
		_ = x.c.nc.SetWriteDeadline(time.Time{})
		if x.pump.failed.Load() {
			x.c.rdl = time.Unix(1, 0) // fail woke the reader this way
		}
	}
	return err
}

// waitPump ends the pump once the response is complete. A body still
// being read means the backend answered early: the upstream connection
// cannot be reused and the client connection must close.
func (x *exchange) waitPump() {
	if x.pump == nil {
		return
	}
	_ = x.stopPump()
	x.res.ReadingBody = !x.pump.finished()
}
