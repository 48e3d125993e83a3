package server

import (
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/ngxkeep/ngxkeep/runtime/config"
	"github.com/ngxkeep/ngxkeep/runtime/h1"
)

// ResponseWriter builds the response to a request. Handlers set the status,
// length and headers, then write the body; the server adds what nginx's
// header filter adds (Server, Date, Content-Type, Content-Length, Location,
// Transfer-Encoding, Connection, Keep-Alive) and applies add_header.
type ResponseWriter struct {
	c *conn
	r *Request

	status        int
	statusLine    []byte // "101 Switching Protocols" as an upstream sent it, or empty
	contentLength int64  // -1: unknown
	contentType   []byte
	lastModified  int64 // unix seconds, -1: none
	location      []byte
	acceptRanges  bool

	names, values []span // extra headers, in order
	arena         []byte

	headerSent bool
	headerOnly bool
	chunked    bool
	sent       int64
	aborted    bool
	dropUnsent bool // AbortUnsent: what is still buffered is not sent
	errStatus  int  // nginx r->err_status: overrides the status
}

type span struct{ off, n int }

func (w *ResponseWriter) reset(r *Request) {
	w.c, w.r = r.c, r
	w.status, w.contentLength, w.lastModified = 0, -1, -1
	w.statusLine = w.statusLine[:0]
	w.contentType, w.location = w.contentType[:0], nil
	w.acceptRanges = false
	w.names, w.values, w.arena = w.names[:0], w.values[:0], w.arena[:0]
	w.headerSent, w.headerOnly, w.chunked, w.aborted = false, false, false, false
	w.dropUnsent = false
	w.sent, w.errStatus = 0, 0
}

// SetStatus sets the response status.
func (w *ResponseWriter) SetStatus(code int) { w.status = code }

// SetStatusLine sets the text of the status line after "HTTP/1.1 ": the
// code and reason phrase exactly as an upstream sent them ("101 Switching
// Protocols", "200 Fine"). nginx passes a proxied status line through
// unchanged (ngx_http_upstream_process_headers copies it into
// r->headers_out.status_line, which ngx_http_header_filter prefers to its
// own table); an error status set later drops it (ngx_http_send_header).
// SetStatus must still be called with the code.
func (w *ResponseWriter) SetStatusLine(line string) {
	w.statusLine = append(w.statusLine[:0], line...)
}

// SetContentLength sets the body length; -1 means unknown (the body is
// then chunked for HTTP/1.1 clients with chunked_transfer_encoding on, and
// close-delimited otherwise, which ends keep-alive).
func (w *ResponseWriter) SetContentLength(n int64) { w.contentLength = n }

// SetContentType sets the Content-Type; without one the server picks it
// from the URI extension and default_type, as nginx does for files and
// "return" texts.
func (w *ResponseWriter) SetContentType(ct string) {
	w.contentType = append(w.contentType[:0], ct...)
}

// SetLastModified sets Last-Modified (kept only for 200, 206 and 304).
func (w *ResponseWriter) SetLastModified(t time.Time) { w.lastModified = t.Unix() }

// SetLocation sets the Location header; a value starting with "/" is made
// absolute from the Host (absolute_redirect, port_in_redirect,
// server_name_in_redirect).
func (w *ResponseWriter) SetLocation(loc string) { w.location = append(w.location[:0], loc...) }

// AddHeader adds a response header line.
func (w *ResponseWriter) AddHeader(name, value string) {
	w.names = append(w.names, span{len(w.arena), len(name)})
	w.arena = append(w.arena, name...)
	w.values = append(w.values, span{len(w.arena), len(value)})
	w.arena = append(w.arena, value...)
}

// AddHeaderBytes is AddHeader for byte slices.
func (w *ResponseWriter) AddHeaderBytes(name, value []byte) {
	w.names = append(w.names, span{len(w.arena), len(name)})
	w.arena = append(w.arena, name...)
	w.values = append(w.values, span{len(w.arena), len(value)})
	w.arena = append(w.arena, value...)
}

// HeaderSent reports whether the response head was written.
func (w *ResponseWriter) HeaderSent() bool { return w.headerSent }

// Abort reports that the response cannot be completed after its head was
// sent (e.g. the upstream failed mid-body): the client gets the truncated
// body, no final chunk, and the connection is closed (nginx sets
// keepalive = 0 in ngx_http_upstream_finalize_request).
func (w *ResponseWriter) Abort() {
	w.aborted = true
	w.r.veto(ReasonUpstreamTruncated)
}

// AbortUnsent is Abort for a failure nginx treats as an internal error
// (ngx_http_upstream_finalize_request with NGX_ERROR, e.g. an invalid
// chunked body from the upstream): it does not flush, so what is still
// buffered is dropped, the head too when it was not written yet (nginx
// holds a small head back under postpone_output), and the connection
// closes. Abort is for the failures nginx finalizes with 502 or 504,
// which flush first.
func (w *ResponseWriter) AbortUnsent() {
	w.Abort()
	w.dropUnsent = true
}

// WriteHeader sends the response head now (it is sent on the first Write
// otherwise).
func (w *ResponseWriter) WriteHeader() error {
	if w.headerSent {
		return nil
	}
	w.c.now = time.Now() // the handler may have waited
	return w.sendHeader()
}

// writeHeader is WriteHeader for a caller that keeps c.now current.
func (w *ResponseWriter) writeHeader() error {
	if w.headerSent {
		return nil
	}
	return w.sendHeader()
}

// Write appends body bytes. They are sent when the buffer fills, on Flush,
// and when the response ends (unless the client has pipelined another
// request, which is answered first).
func (w *ResponseWriter) Write(p []byte) (int, error) {
	w.c.now = time.Now() // the handler may have waited
	return w.write(p)
}

// write is Write for a caller that keeps c.now current.
func (w *ResponseWriter) write(p []byte) (int, error) {
	if !w.headerSent {
		if w.status == 0 {
			w.status = 200
		}
		if err := w.sendHeader(); err != nil {
			return 0, err
		}
	}
	if w.headerOnly || len(p) == 0 {
		return len(p), nil
	}
	c := w.c
	if w.chunked {
		c.wbuf = strconv.AppendInt(c.wbuf, int64(len(p)), 16)
		c.wbuf = append(c.wbuf, "\r\n"...)
		c.wbuf = append(c.wbuf, p...)
		c.wbuf = append(c.wbuf, "\r\n"...)
	} else {
		c.wbuf = append(c.wbuf, p...)
	}
	w.sent += int64(len(p))
	if len(c.wbuf) >= 64<<10 {
		if err := c.flush(w.r.loc.sendTimeout); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// Flush sends buffered bytes now.
func (w *ResponseWriter) Flush() error {
	w.c.now = time.Now() // the handler may have waited
	return w.flush()
}

// flush is Flush for a caller that keeps c.now current.
func (w *ResponseWriter) flush() error {
	if !w.headerSent {
		if err := w.sendHeader(); err != nil {
			return err
		}
	}
	return w.c.flush(w.r.loc.sendTimeout)
}

// SendFile sends n bytes of f as the body (sendfile where possible), with
// send_timeout between writes.
func (w *ResponseWriter) SendFile(f *os.File, n int64) error {
	w.c.now = time.Now() // the handler may have waited
	if !w.headerSent {
		if err := w.sendHeader(); err != nil {
			return err
		}
	}
	if w.headerOnly || n == 0 {
		return nil
	}
	c := w.c
	timeout := w.r.loc.sendTimeout
	if err := c.flush(timeout); err != nil {
		return err
	}
	c.reuseAt.Store(c.now.UnixNano())
	sent, ok, err := c.rw.sendFile(f, n, timeout)
	if ok {
		w.sent += sent
		if err != nil {
			return c.writeFailure(err)
		}
		return nil
	}
	// No sendfile: through the output buffer.
	_, err = io.CopyN(w, f, n)
	return err
}

// finish completes the response when the handler is done.
func (w *ResponseWriter) finish() error {
	c := w.c
	if !w.headerSent {
		if w.status == 0 {
			w.status = 200
		}
		if err := w.sendHeader(); err != nil {
			return err
		}
	}
	if !w.aborted && w.contentLength >= 0 && !w.headerOnly && w.sent < w.contentLength {
		// The handler wrote less than it announced: as truncated.
		w.Abort()
	}
	if w.aborted {
		if w.dropUnsent {
			c.wbuf = c.wbuf[:0]
		} else {
			c.flush(w.r.loc.sendTimeout)
		}
		return errAborted
	}
	if w.chunked && !w.headerOnly {
		c.wbuf = append(c.wbuf, "0\r\n\r\n"...)
	}
	if w.contentLength < 0 && !w.chunked && !w.headerOnly {
		// Close-delimited body: the connection must close (the
		// keep-alive veto was taken when the head was written).
		w.r.veto(ReasonUnknownLength)
	}
	// Pipelined requests are answered before the buffer is flushed.
	if len(c.avail()) == 0 || len(c.wbuf) >= 32<<10 {
		return c.flush(w.r.loc.sendTimeout)
	}
	return nil
}

var errAborted = errors.New("response aborted")

// sendHeader is nginx's header filter chain for the parts the runtime
// models: chunked decision (ngx_http_chunked_header_filter), add_header
// (ngx_http_headers_filter), and the head itself (ngx_http_header_filter).
func (w *ResponseWriter) sendHeader() error {
	r, c := w.r, w.c
	w.headerSent = true
	r.headerSent = true
	if w.errStatus != 0 {
		// ngx_http_send_header: r->err_status replaces the status and
		// its status line.
		w.status = w.errStatus
		w.statusLine = w.statusLine[:0]
	}
	status := w.status
	lc := r.loc
	if r.Version < 1000 {
		// HTTP/0.9: no status line, no headers.
		return nil
	}
	if r.Method == h1.MethodHEAD {
		w.headerOnly = true
	}
	// ngx_http_chunked_header_filter
	if status != 304 && status != 204 && status >= 200 && r.Method != h1.MethodHEAD && w.contentLength == -1 {
		if r.Version >= 1001 && lc.chunkedTE {
			w.chunked = true
		} else {
			r.veto(ReasonUnknownLength)
		}
	}
	if w.lastModified != -1 && status != 200 && status != 206 && status != 304 {
		w.lastModified = -1
	}
	// 1.21.6+: no keep-alive once the worker is shutting down.
	if r.keepalive && c.w.exiting.Load() && c.ic.version.AtLeast(config.V1_21_6) {
		r.veto(c.w.exitReason())
	}
	b := c.wbuf
	if len(w.statusLine) > 0 {
		b = append(b, "HTTP/1.1 "...)
		b = append(b, w.statusLine...)
		b = append(b, "\r\n"...)
	} else {
		b = h1.AppendStatusLine(b, status)
	}
	switch status {
	case 204:
		w.headerOnly = true
		w.contentType = w.contentType[:0]
		w.lastModified = -1
		w.contentLength = -1
	case 304:
		w.headerOnly = true
	}
	if !w.hasHeader("server") {
		b = append(b, "Server: "...)
		switch lc.tokens {
		case h1.TokensOff:
			b = append(b, "nginx"...)
		default:
			b = append(b, c.ic.software...)
		}
		b = append(b, "\r\n"...)
	}
	if !w.hasHeader("date") {
		b = append(b, "Date: "...)
		b = append(b, httpDate(c.now)...)
		b = append(b, "\r\n"...)
	}
	if len(w.contentType) > 0 {
		b = append(b, "Content-Type: "...)
		b = append(b, w.contentType...)
		b = append(b, "\r\n"...)
	}
	if w.contentLength >= 0 {
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, w.contentLength, 10)
		b = append(b, "\r\n"...)
	}
	if w.lastModified != -1 {
		b = append(b, "Last-Modified: "...)
		b = h1.AppendHTTPDate(b, w.lastModified)
		b = append(b, "\r\n"...)
	}
	absLocation := len(w.location) > 0 && w.location[0] == '/' && lc.absoluteRedirect
	if absLocation {
		b = append(b, "Location: http://"...)
		b = c.appendRedirectHost(b, r)
		b = append(b, w.location...)
		b = append(b, "\r\n"...)
	}
	if w.chunked {
		b = append(b, "Transfer-Encoding: chunked\r\n"...)
	}
	switch {
	case status == 101:
		b = append(b, "Connection: upgrade\r\n"...)
	case r.keepalive:
		b = append(b, "Connection: keep-alive\r\n"...)
		if lc.keepaliveHeader > 0 {
			b = append(b, "Keep-Alive: timeout="...)
			b = strconv.AppendInt(b, lc.keepaliveHeader, 10)
			b = append(b, "\r\n"...)
		}
	default:
		b = append(b, "Connection: close\r\n"...)
		c.ls.closeHeaders[r.closeReason].Add(1)
		c.w.inst.closeHeader(c, r)
	}
	if len(w.location) > 0 && !absLocation {
		b = append(b, "Location: "...)
		b = append(b, w.location...)
		b = append(b, "\r\n"...)
	}
	for i := range w.names {
		n, v := w.names[i], w.values[i]
		b = append(b, w.arena[n.off:n.off+n.n]...)
		b = append(b, ": "...)
		b = append(b, w.arena[v.off:v.off+v.n]...)
		b = append(b, "\r\n"...)
	}
	// ngx_http_headers_filter: add_header for "safe" statuses unless always.
	safe := false
	switch status {
	case 200, 201, 204, 206, 301, 302, 303, 304, 307, 308:
		safe = true
	}
	b = c.appendAddHeaders(b, r, safe) // values with variables: vars.go
	if w.acceptRanges && status == 200 && w.contentLength >= 0 {
		// ngx_http_range_header_filter
		b = append(b, "Accept-Ranges: bytes\r\n"...)
	}
	b = append(b, "\r\n"...)
	c.wbuf = b
	return nil
}

func (w *ResponseWriter) hasHeader(lower string) bool {
	for _, n := range w.names {
		if h1.EqualFold(w.arena[n.off:n.off+n.n], lower) {
			return true
		}
	}
	return false
}

// appendRedirectHost appends the host[:port] nginx puts in front of a
// relative Location (ngx_http_header_filter).
func (c *conn) appendRedirectHost(b []byte, r *Request) []byte {
	lc := r.loc
	switch {
	case lc.serverNameRedirect && r.srv.name != "":
		b = append(b, r.srv.name...)
	case len(c.head.Server) > 0:
		b = append(b, c.head.Server...)
	default:
		host, _, _ := net.SplitHostPort(c.nc.LocalAddr().String())
		if ip := net.ParseIP(host); ip != nil && ip.To4() == nil {
			host = "[" + host + "]"
		}
		b = append(b, host...)
	}
	if lc.portInRedirect {
		if a, ok := c.nc.LocalAddr().(*net.TCPAddr); ok && a.Port != 80 {
			b = append(b, ':')
			b = strconv.AppendInt(b, int64(a.Port), 10)
		}
	}
	return b
}

// armWrite sets the write deadline to send_timeout from now, lazily: a
// deadline less than min(300ms, timeout/10) old is kept (nginx likewise
// leaves a timer alone when it would move by less than
// NGX_TIMER_LAZY_DELAY), so a busy connection does not re-arm a timer on
// every response.
func (c *conn) armWrite(timeout time.Duration) {
	want := c.now.Add(timeout)
	slack := min(300*time.Millisecond, timeout/10)
	if d := time.Duration(want.UnixNano() - c.wdl); d >= 0 && d < slack {
		return
	}
	c.nc.SetWriteDeadline(want)
	c.wdl = want.UnixNano()
}

// flush writes the output buffer with send_timeout between writes
// (ngx_http_writer): a write that makes progress re-arms the timer.
// Without a raw socket (not TCP, or not unix) the deadline covers each
// Write call, and a call that progressed before it stalled is retried.
func (c *conn) flush(timeout time.Duration) error {
	if len(c.wbuf) == 0 {
		return nil
	}
	c.reuseAt.Store(c.now.UnixNano()) // before the client can see these bytes
	if c.rw != nil {
		_, err := c.rw.write(c.wbuf, timeout)
		c.wbuf = c.wbuf[:0]
		if err != nil {
			return c.writeFailure(err)
		}
		return nil
	}
	b := c.wbuf
	for len(b) > 0 {
		c.armWrite(timeout)
		if c.closeReq.Load() != 0 {
			c.writeFailed = true
			return errCloseRequested
		}
		n, err := c.nc.Write(b)
		b = b[n:]
		if err != nil {
			if isTimeout(err) && n > 0 && c.closeReq.Load() == 0 {
				c.now = time.Now() // progress: send_timeout from now
				continue
			}
			c.wbuf = c.wbuf[:0]
			return c.writeFailure(err)
		}
	}
	c.wbuf = c.wbuf[:0]
	return nil
}

func (c *conn) writeFailure(err error) error {
	c.writeFailed = true
	c.failed = true
	if c.closeReq.Load() != 0 {
		return errCloseRequested
	}
	if isTimeout(err) {
		c.timedout = true
	}
	return err
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// ---- Date header ----

type dateEntry struct {
	sec int64
	b   []byte
}

var dateCache atomic.Pointer[dateEntry]

func httpDate(t time.Time) []byte {
	now := t.Unix()
	if d := dateCache.Load(); d != nil && d.sec == now {
		return d.b
	}
	d := &dateEntry{sec: now, b: h1.AppendHTTPDate(nil, now)}
	dateCache.Store(d)
	return d.b
}
