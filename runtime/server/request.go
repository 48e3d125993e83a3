package server

import (
	"context"
	"errors"
	"io"
	"net"
	"time"

	"github.com/ngxkeep/ngxkeep/runtime/config"
	"github.com/ngxkeep/ngxkeep/runtime/h1"
)

// Request is one client request as a handler sees it. It is valid only
// during the handler call; the connection reuses it for the next request.
type Request struct {
	c *conn

	// Head is the parsed request head: request line, headers in order and
	// what nginx derives from them (host, Content-Length, chunked,
	// Connection, User-Agent class).
	Head *h1.Head
	// Method is the request method (GET/HEAD after an error_page redirect
	// of a non-HEAD request, as in nginx).
	Method h1.Method
	// Path is the decoded, normalized URI path (nginx $uri); it changes on
	// internal redirects.
	Path []byte
	// Args is the query string (nginx $args).
	Args []byte
	// Exten is the extension of the last path segment.
	Exten []byte
	// Version is the client's HTTP version: 9, 1000 or 1001.
	Version int

	srv *serverConf
	loc *locConf

	status     int // head error status (400, 414, 494, ...) or 0
	headReason string

	keepalive      bool
	closeReason    Reason
	lingeringClose bool
	internal       bool
	uriChanges     int
	errorPage      bool
	expectTested   bool
	headerSent     bool
	done           bool

	// body state
	bodyLeft        int64 // remaining Content-Length bytes, or -1 for chunked
	chunked         h1.ChunkedDecoder
	chunkedReceived int64
	bodyStarted     bool // a handler asked for the body
	bodyDone        bool
	discardPending  bool
	discardStarted  bool
	lingeringTime   int64 // unix seconds deadline, 0 = unset
	bodyErr         error

	w ResponseWriter

	pathBuf []byte
}

// Location returns the model of the location the request is in, or nil
// when it matched none (the server's unmatched settings apply).
func (r *Request) Location() *config.Location {
	if r.loc == nil || r.loc.match == "" {
		return nil
	}
	return r.loc.src
}

// Server returns the model of the virtual server that handles the request.
func (r *Request) Server() *config.Server { return r.srv.src }

// RemoteAddr is the client's address.
func (r *Request) RemoteAddr() net.Addr { return r.c.nc.RemoteAddr() }

// LocalAddr is the address the client connected to.
func (r *Request) LocalAddr() net.Addr { return r.c.nc.LocalAddr() }

// Worker is the worker that owns the connection; handlers keep per-worker
// state (such as upstream keep-alive caches) there.
func (r *Request) Worker() *Worker { return r.c.w }

// ConnID is the connection's number, unique within the instance.
func (r *Request) ConnID() uint64 { return r.c.id }

// ConnRequests is the number of requests on this connection so far,
// this one included (nginx $connection_requests).
func (r *Request) ConnRequests() int64 { return r.c.requests }

// Context is canceled when the connection is forcibly closed (shutdown
// timeout, fast shutdown). Handlers waiting on upstreams select on it.
func (r *Request) Context() context.Context { return r.c.context() }

// Internal reports whether the request was internally redirected
// (error_page, index).
func (r *Request) Internal() bool { return r.internal }

// KeepAlive reports whether the connection is still to be kept after this
// response, as decided so far.
func (r *Request) KeepAlive() bool { return r.keepalive }

// veto turns keep-alive off and records why; the first veto wins, as the
// keepalive flag in nginx only ever goes from 1 to 0.
func (r *Request) veto(reason Reason) {
	if r.keepalive {
		r.keepalive = false
		r.closeReason = reason
	}
}

// Errors a handler gets from the request body.
var (
	// ErrBodyTimeout: client_body_timeout expired between two reads. The
	// handler should return StatusRequestTimeout; the connection is then
	// closed without a response (reset with reset_timedout_connection).
	ErrBodyTimeout = errors.New("client_body_timeout expired")
	// ErrBodyTooLarge: a chunked body exceeded client_max_body_size;
	// return 413.
	ErrBodyTooLarge = errors.New("client intended to send too large chunked body")
	// ErrBadChunk: invalid chunked framing; return 400.
	ErrBadChunk = errors.New("client sent invalid chunked body")
	// ErrClientClosed: the client closed the connection before the body
	// ended; return StatusClientClosed.
	ErrClientClosed = errors.New("client prematurely closed connection")
)

// Special status values a Handler can return besides HTTP statuses.
const (
	// StatusDone: the handler wrote the whole response.
	StatusDone = 0
	// StatusClose is nginx's 444: close without a response (RST with
	// reset_timedout_connection).
	StatusClose = 444
	// StatusRequestTimeout terminates the request without a response.
	StatusRequestTimeout = 408
	// StatusClientClosed (499) terminates the request without a response.
	StatusClientClosed = 499
	// StatusError terminates the request on an internal error.
	StatusError = -1
)

// BodyStatus maps an error from Body to the status a handler returns.
func BodyStatus(err error) int {
	switch {
	case errors.Is(err, ErrBodyTimeout):
		return StatusRequestTimeout
	case errors.Is(err, ErrBodyTooLarge):
		return 413
	case errors.Is(err, ErrBadChunk):
		return 400
	case errors.Is(err, ErrClientClosed):
		return StatusClientClosed
	}
	return StatusError
}

// HasBody reports whether the request announces a body (Content-Length
// > 0 or chunked).
func (r *Request) HasBody() bool {
	return r.Head.ContentLength > 0 || r.Head.Chunked
}

// Body returns the request body, de-chunked. Reads honour
// client_body_timeout between reads and client_max_body_size for chunked
// bodies; "100 Continue" is sent first when the client expects it. A body
// the handler starts but does not finish makes the connection close after
// the response (nginx: r->reading_body), with lingering close.
func (r *Request) Body() io.Reader {
	return bodyReader{r}
}

type bodyReader struct{ r *Request }

func (b bodyReader) Read(p []byte) (int, error) { return b.r.readBody(p) }

func (r *Request) readBody(p []byte) (int, error) {
	if r.bodyErr != nil {
		return 0, r.bodyErr
	}
	if r.bodyDone || r.discardStarted {
		return 0, io.EOF
	}
	c := r.c
	if !r.bodyStarted {
		r.bodyStarted = true
		if err := c.testExpect(r); err != nil {
			r.bodyErr = err
			return 0, err
		}
		if !r.HasBody() {
			r.bodyDone = true
			return 0, io.EOF
		}
	}
	if len(p) == 0 {
		return 0, nil
	}
	if !r.Head.Chunked {
		if r.bodyLeft == 0 {
			r.bodyDone = true
			return 0, io.EOF
		}
		if int64(len(p)) > r.bodyLeft {
			p = p[:r.bodyLeft]
		}
		n, err := c.readBodyBytes(p, r.loc.bodyTimeout)
		r.bodyLeft -= int64(n)
		if r.bodyLeft == 0 {
			r.bodyDone = true
		}
		if err != nil {
			r.bodyErr = err
			if n > 0 {
				return n, nil
			}
			return 0, err
		}
		return n, nil
	}
	for {
		src := c.avail()
		if len(src) == 0 {
			if err := c.fillBody(r.loc.bodyTimeout); err != nil {
				r.bodyErr = c.bodyReadError(err)
				return 0, r.bodyErr
			}
			src = c.avail()
		}
		if rem := r.chunked.Remaining(); rem > 0 {
			k := int(min(int64(len(p)), rem, int64(len(src))))
			copy(p, src[:k])
			c.consume(k)
			r.chunked.Consume(int64(k))
			return k, nil
		}
		n, res := r.chunked.Next(src)
		c.consume(n)
		switch res {
		case h1.ChunkData:
			size := r.chunked.Remaining()
			if r.loc.maxBodySize > 0 && r.loc.maxBodySize-r.chunkedReceived < size {
				r.lingeringClose = true
				r.bodyErr = ErrBodyTooLarge
				return 0, r.bodyErr
			}
			r.chunkedReceived += size
		case h1.ChunkDone:
			r.bodyDone = true
			return 0, io.EOF
		case h1.ChunkInvalid:
			r.bodyErr = ErrBadChunk
			return 0, r.bodyErr
		}
	}
}

// testExpect sends "HTTP/1.1 100 Continue" when the client asked for it
// (ngx_http_test_expect): HTTP/1.1, "Expect: 100-continue" exactly, once.
func (c *conn) testExpect(r *Request) error {
	if r.expectTested || !r.Head.HasExpect() || r.Version < 1001 {
		return nil
	}
	r.expectTested = true
	if !h1.EqualFold(r.Head.Expect, "100-continue") {
		return nil
	}
	c.wbuf = append(c.wbuf, "HTTP/1.1 100 Continue\r\n\r\n"...)
	if err := c.flush(r.loc.sendTimeout); err != nil {
		return ErrClientClosed
	}
	return nil
}

// discardBody starts discarding the request body, like
// ngx_http_discard_request_body: what is already buffered is skipped now;
// the rest is read and dropped after the response (discardRest). It
// returns a status (400 for a bad chunk) when the body cannot be
// discarded.
func (c *conn) discardBody(r *Request) int {
	if r.bodyStarted || r.discardStarted {
		return 0
	}
	if err := c.testExpect(r); err != nil {
		return StatusError
	}
	r.discardStarted = true
	if r.Head.ContentLength <= 0 && !r.Head.Chunked {
		return 0
	}
	if !r.Head.Chunked {
		k := min(int64(len(c.avail())), r.bodyLeft)
		c.consume(int(k))
		r.bodyLeft -= k
		if r.bodyLeft == 0 {
			r.bodyDone = true
			r.lingeringClose = false
			return 0
		}
		r.discardPending = true
		return 0
	}
	switch c.skipChunked(r) {
	case h1.ChunkDone:
		r.bodyDone = true
		r.lingeringClose = false
		return 0
	case h1.ChunkInvalid:
		return 400
	}
	r.discardPending = true
	return 0
}

// skipChunked drops the chunked body bytes already read.
func (c *conn) skipChunked(r *Request) h1.ChunkResult {
	for {
		src := c.avail()
		if len(src) == 0 {
			return h1.ChunkAgain
		}
		if rem := r.chunked.Remaining(); rem > 0 {
			k := int(min(rem, int64(len(src))))
			c.consume(k)
			r.chunked.Consume(int64(k))
			continue
		}
		n, res := r.chunked.Next(src)
		c.consume(n)
		if res == h1.ChunkDone || res == h1.ChunkInvalid {
			return res
		}
	}
}

// discardRest reads and drops the rest of the body after the response
// (ngx_http_discarded_request_body_handler): each read waits at most
// lingering_timeout, all of it at most lingering_time. It returns
// ReasonNone when the body ended.
func (c *conn) discardRest(r *Request) (Reason, bool) {
	lc := r.loc
	if r.lingeringTime == 0 {
		r.lingeringTime = time.Now().Unix() + int64(lc.lingeringTime/time.Second)
	}
	for !r.bodyDone {
		left := r.lingeringTime - time.Now().Unix()
		if left <= 0 {
			r.lingeringClose = false
			return ReasonDiscardTimeout, false
		}
		timer := time.Duration(left) * time.Second
		if timer > lc.lingeringTimeout {
			timer = lc.lingeringTimeout
		}
		if !r.Head.Chunked {
			n, err := c.readDiscard(r.bodyLeft, timer)
			r.bodyLeft -= int64(n)
			if r.bodyLeft == 0 {
				break
			}
			if err != nil {
				return c.discardError(err)
			}
			continue
		}
		if len(c.avail()) == 0 {
			if err := c.fillBody(timer); err != nil {
				return c.discardError(err)
			}
		}
		switch c.skipChunked(r) {
		case h1.ChunkDone:
			r.bodyDone = true
		case h1.ChunkInvalid:
			return ReasonBodyNotDiscarded, false
		}
	}
	r.bodyDone = true
	r.discardPending = false
	r.lingeringClose = false
	r.lingeringTime = 0
	return ReasonNone, true
}

func (c *conn) discardError(err error) (Reason, bool) {
	switch {
	case errors.Is(err, errReadTimeout):
		c.timedout = true
		return ReasonDiscardTimeout, false
	case errors.Is(err, io.EOF):
		// Client EOF ends the discard; the connection then closes on
		// the EOF (1.19.9+: "EOF in discard body").
		c.eof = true
		return ReasonPeerClosed, false
	case errors.Is(err, errCloseRequested):
		return c.requestedReason(), false
	}
	return ReasonPeerClosed, false
}

// ClientClosed reports whether the client has closed or reset the
// connection, without reading from it (nginx ngx_http_test_reading). A
// proxy polls it while waiting for an upstream to answer with 499 when
// proxy_ignore_client_abort is off. It also reports true once the worker
// is closing the connection (worker_shutdown_timeout, fast shutdown):
// there nginx sets c->close and ngx_http_request_handler terminates the
// request, upstream included.
func (r *Request) ClientClosed() bool {
	c := r.c
	if c.eof || c.closeReq.Load() != 0 {
		return true
	}
	if c.tcp == nil || len(c.avail()) > 0 {
		return false
	}
	rc, err := c.tcp.SyscallConn()
	if err != nil {
		return false
	}
	closed := false
	rc.Control(func(fd uintptr) { closed = peekClosed(int(fd)) })
	if closed {
		c.eof = true
	}
	return closed
}
