package upstream

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Request is the client request being proxied, as the server parsed it.
type Request struct {
	// Method is the request method ("GET").
	Method string
	// RawURI is the request target as received ($request_uri).
	RawURI string
	// Path is the normalized, decoded URI path ($uri).
	Path string
	// Args is the query string without '?' ($args).
	Args string
	// Rewritten is set when the URI was changed by a rewrite, so the
	// original request target can no longer be sent as is.
	Rewritten bool
	// Header holds the request headers in order.
	Header []Field
	// Body is the decoded request body (nil: none). With request
	// buffering off it is read while the request is sent; if it
	// implements SetReadDeadline, a backend that answers before the body
	// is complete stops the reading at once. An error that implements
	// BodyError ends the request with its status (408, 413, 400, 499).
	Body io.Reader
	// ContentLength is the body length, -1 when unknown (chunked) or absent.
	ContentLength int64
	// Chunked is set when the client sent a chunked body.
	Chunked bool
	// BodyArrived reports that the rest of the body, or the error that
	// ends it, has already arrived, so reading it never waits. With
	// request buffering off nginx then reads it whole before it
	// contacts the upstream and sends it like a buffered body, with a
	// Content-Length and retries allowed (ngx_http_read_client_request_body
	// clears request_body_no_buffering when the body was preread).
	BodyArrived bool
	// RemoteAddr is the client's address ($remote_addr, $remote_port,
	// ip_hash).
	RemoteAddr netip.AddrPort
	// Vars resolves the server's variables ($host, $connection, map
	// results, ...); may be nil.
	Vars Vars
	// Intercept reports whether the server has an error_page for a status
	// (proxy_intercept_errors intercepts only those); may be nil.
	Intercept func(status int) bool
	// LocationTag identifies the location for `keepalive N local`; nil
	// uses the compiled Proxy.
	LocationTag any
	// ClientClosed reports whether the client has gone away; it is polled
	// while the response head is awaited, unless ignore_client_abort (a
	// closed client ends the request with 499 and the upstream connection
	// is closed). May be nil.
	ClientClosed func() bool
	// AttemptBuf, when it has capacity, holds Result.Attempts (which is
	// appended to AttemptBuf[:0]): a caller that keeps the returned
	// Attempts[:0] for its next request allocates no attempt list.
	AttemptBuf []Attempt
	// Now is the time the caller last woke up (zero: read the clock).
	// The exchange takes its timers from it and sets it to the time of
	// each of its own wake-ups, so that the caller's timers after the
	// exchange start from the last event without reading the clock, as
	// nginx uses the time cached at its event loop's last wake-up.
	Now time.Time
}

// ClientHead is the response head the server must send to the client.
// The server adds its own Server, Date and Connection headers, and chunks
// or closes when ContentLength is -1 and the response has a body.
type ClientHead struct {
	Status     int
	StatusLine string // "200 OK" as the upstream sent it
	Header     []Field
	// ContentLength is -1 when unknown.
	ContentLength int64
	// NoBody is set for responses without a body (HEAD, 204, 304).
	NoBody bool
	// Upgrade is set for a 101 response that becomes a tunnel: the server
	// writes "Connection: upgrade" and turns client keep-alive off.
	Upgrade bool
}

// ResponseWriter is the client side of an exchange.
type ResponseWriter interface {
	// WriteHead sends (or buffers) the response head. h is valid only
	// during the call (the strings in it stay valid).
	WriteHead(h *ClientHead) error
	// Write sends body bytes (unencoded; the server applies chunking).
	Write(p []byte) (int, error)
	// Flush pushes buffered output to the client.
	Flush() error
}

// Tunneler is implemented by a ResponseWriter that can hand over the
// client connection for a WebSocket (101) tunnel.
type Tunneler interface {
	// Tunnel flushes the head and returns the client connection and any
	// bytes the client already sent beyond the request.
	Tunnel() (net.Conn, []byte, error)
}

// Attempt is one try of an exchange ($upstream_addr, $upstream_status).
type Attempt struct {
	Peer   string
	Status int // the response status, or 502/504 for a failed attempt
	Cached bool
}

// Result tells the server what happened.
type Result struct {
	// Status is the response status. When HeaderSent is false the server
	// must produce its own response with this status (502, 504, 500, or
	// an intercepted upstream status), or nothing for 499.
	Status int
	// HeaderSent reports that WriteHead was called.
	HeaderSent bool
	// Complete reports that the whole body was relayed.
	Complete bool
	// KeepaliveOff means the client connection must be closed after the
	// response (upstream failed mid-body, tunnel, client write failed).
	KeepaliveOff bool
	// ReadingBody means the request body was not read completely
	// (unbuffered upload answered early): close with lingering close.
	ReadingBody bool
	// Upgraded reports that the exchange ran a tunnel.
	Upgraded bool
	// DropUnsent means the exchange ended as nginx's internal error
	// (ngx_http_upstream_finalize_request with NGX_ERROR: an invalid
	// chunked body): output nginx's write filter still held back
	// (postpone_output) must be dropped, not flushed, the head too when
	// it is still buffered, and the connection closed. The bytes of the
	// failing upstream read are never written. Set with KeepaliveOff.
	DropUnsent bool
	// Attempts lists every try in order.
	Attempts []Attempt
	// Err is the last error, for the log.
	Err error
}

// UpstreamStatus formats $upstream_status.
func (r *Result) UpstreamStatus() string {
	var b strings.Builder
	for i, a := range r.Attempts {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Itoa(a.Status))
	}
	return b.String()
}

// UpstreamAddr formats $upstream_addr.
func (r *Result) UpstreamAddr() string {
	var b strings.Builder
	for i, a := range r.Attempts {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(a.Peer)
	}
	return b.String()
}

// exchange is one request's upstream state (ngx_http_upstream_t).
type exchange struct {
	w   *Worker
	p   *Proxy
	req *Request
	rw  ResponseWriter
	ctx context.Context

	g    *group
	up   *Upstream
	pick pick
	tag  any

	reqHead []byte // request line and headers
	body    []byte // buffered request body
	head    bool   // HEAD sent upstream (ctx->head)
	nonIdem bool   // POST, LOCK, PATCH
	unbuf   bool   // request_body_no_buffering
	start   time.Time
	// now is the time deadlines are computed from, refreshed after every
	// wait, as nginx uses the time cached at the last event loop wake-up.
	now time.Time

	c           *upConn
	requestSent bool
	bodySent    bool
	gotBytes    bool // any response byte arrived on this attempt
	keepalive   bool // u->keepalive
	connClose   bool // headers_in.connection_close
	pump        *bodyPump

	res   Result
	buf   []byte
	bodyR bodyReader

	// Reused between requests by the exchange pool.
	rh      ResponseHead
	ch      ClientHead
	acc     []byte
	wbuf    []byte      // request head and small body, written at once
	bufs    net.Buffers // sendRequest's writev, over bufsArr
	bufsArr [2][]byte

	headArmed bool      // the first read deadline of readHead is set
	headUntil time.Time // ... and the proxy_read_timeout it waits for
}

var exchangePool = sync.Pool{New: func() any { return &exchange{buf: make([]byte, 16<<10)} }}

var nonIdempotent = map[string]bool{"POST": true, "LOCK": true, "PATCH": true}

// Proxy runs one request through the upstream (ngx_http_upstream_init_request
// to ngx_http_upstream_finalize_request).
func (w *Worker) Proxy(ctx context.Context, p *Proxy, req *Request, rw ResponseWriter) Result {
	x := exchangePool.Get().(*exchange)
	buf, reqHead, tried := x.buf, x.reqHead[:0], x.pick.tried[:0]
	rhHeader, chHeader, acc, wbuf := x.rh.Header[:0], x.ch.Header[:0], x.acc[:0], x.wbuf[:0]
	now := req.Now
	if now.IsZero() {
		now = time.Now()
	}
	*x = exchange{w: w, p: p, req: req, rw: rw, ctx: ctx, buf: buf, reqHead: reqHead, start: now, now: now}
	x.pick.tried = tried
	x.rh.Header, x.ch.Header, x.acc, x.wbuf = rhHeader, chHeader, acc, wbuf
	x.res.Attempts = req.AttemptBuf[:0]
	x.run()
	res := x.res
	x.req, x.rw, x.ctx, x.body, x.c, x.pump = nil, nil, nil, nil, nil, nil
	x.res = Result{}
	clear(x.rh.Header)
	clear(x.ch.Header)
	x.rh.StatusLine, x.ch.StatusLine = "", ""
	if cap(x.acc) > 64<<10 {
		x.acc = nil // do not keep a large body's buffer
	}
	if cap(x.wbuf) > 64<<10 {
		x.wbuf = nil
	}
	exchangePool.Put(x)
	return res
}

// tick reads the clock after a wait: the exchange's timers, and the
// caller's after it, start from this wake-up.
func (x *exchange) tick() {
	x.now = time.Now()
	x.req.Now = x.now
}

func (x *exchange) run() {
	p, req := x.p, x.req
	method := req.Method
	if p.method != "" {
		method = p.method
	}
	x.head = method == "HEAD"
	x.nonIdem = nonIdempotent[method]
	x.tag = req.LocationTag
	if x.tag == nil {
		x.tag = p
	}

	// target
	up, proxyHost, proxyPort, uri, hasURI, err := x.target()
	if err != nil {
		x.w.logger.LogAttrs(x.ctx, slog.LevelError, err.Error())
		x.finish(502, err)
		return
	}
	x.up = up
	x.g = x.w.group(up)

	// request body
	hasBody := p.passBody && req.Body != nil && (req.ContentLength > 0 || req.Chunked)
	bodyLen := int64(-1)
	if hasBody {
		x.unbuf = !p.reqBuffer && (!req.Chunked || p.version11) && !req.BodyArrived
		if !x.unbuf {
			var b []byte
			if req.ContentLength > 0 {
				b = make([]byte, 0, req.ContentLength)
			}
			b, err = readAll(req.Body, b)
			if err != nil {
				x.finish(clientBodyStatus(err), err)
				return
			}
			x.tick()
			x.body = b
			bodyLen = int64(len(b))
		} else if !req.Chunked {
			bodyLen = req.ContentLength
		}
	} else if req.ContentLength == 0 && p.passBody {
		bodyLen = 0
	}
	ev := evaluator{req: req, proxyHost: proxyHost, proxyPort: proxyPort, bodyLen: bodyLen}
	x.reqHead = x.buildRequest(x.reqHead, method, uri, hasURI, &ev, bodyLen, hasBody)

	// balancer
	var key []byte
	if up.key != nil {
		key = up.key.appendTo(nil, &ev)
	}
	// init reads only what the group was compiled with: no lock.
	x.pick.init(x.g, key, req.clientIP())
	if p.tries > 0 && x.pick.tries > p.tries {
		x.pick.tries = p.tries
	}
	x.connectLoop()
}

// target resolves the upstream and the URI part of proxy_pass.
func (x *exchange) target() (u *Upstream, proxyHost, proxyPort, uri string, hasURI bool, err error) {
	p := x.p
	if p.static != nil {
		return p.static, p.proxyHost, p.proxyPort, p.uri, p.hasURI, nil
	}
	ev := evaluator{req: x.req, bodyLen: -1}
	s := string(p.pass.appendTo(nil, &ev))
	host, port, noPort, uri, hasURI, err := splitPass(s)
	if err != nil {
		return nil, "", "", "", false, err
	}
	proxyHost, proxyPort = proxyHostPort(host, port, noPort)
	if u = p.set.lookup(host, port, noPort); u != nil {
		return u, proxyHost, proxyPort, uri, hasURI, nil
	}
	if _, e := netip.ParseAddr(host); e != nil && !strings.HasPrefix(strings.ToLower(host), "unix:") {
		return nil, "", "", "", false, errors.New("no resolver defined to resolve " + host)
	}
	if noPort {
		port = "80"
	}
	// a run-time address: a temporary upstream, never pooled
	u = &Upstream{name: net.JoinHostPort(host, port), implicit: true, idx: -1}
	addrs, err := p.set.resolve(u.name, port)
	if err != nil {
		return nil, "", "", "", false, err
	}
	for _, a := range addrs {
		u.primary = append(u.primary, peerConf{name: a.name, server: u.name, net: a.net, addr: a.addr, weight: 1, maxFails: 1, failTimeout: 10})
	}
	return u, proxyHost, proxyPort, uri, hasURI, nil
}

// buildRequest is ngx_http_proxy_create_request without the body.
func (x *exchange) buildRequest(b []byte, method, uri string, hasURI bool, ev *evaluator, bodyLen int64, hasBody bool) []byte {
	p, req := x.p, x.req
	b = append(b, method...)
	b = append(b, ' ')
	switch {
	case hasURI && p.pass != nil:
		b = append(b, uri...)
	case !hasURI && !req.Rewritten:
		b = append(b, req.RawURI...)
	default:
		path := req.Path
		if hasURI && p.loc.Prefix != "" && strings.HasPrefix(path, p.loc.Prefix) {
			path = path[len(p.loc.Prefix):]
		}
		b = append(b, uri...)
		if strings.ContainsAny(req.RawURI, "%") || req.Rewritten {
			b = append(b, escapeURI(path)...)
		} else {
			b = append(b, path...)
		}
		if req.Args != "" {
			b = append(b, '?')
			b = append(b, req.Args...)
		}
	}
	if p.version11 {
		b = append(b, " HTTP/1.1\r\n"...)
	} else {
		b = append(b, " HTTP/1.0\r\n"...)
	}
	if !p.hostSet {
		b = append(b, "Host: "...)
		b = append(b, ev.proxyHost...)
		b = append(b, "\r\n"...)
	}
	for _, h := range p.headers {
		if h.lname == "content-length" || h.lname == "transfer-encoding" {
			continue
		}
		n := len(b)
		b = append(b, h.name...)
		b = append(b, ": "...)
		m := len(b)
		b = h.value.appendTo(b, ev)
		if len(b) == m {
			if h.lname == "host" && p.version11 {
				// an HTTP/1.1 request needs a Host: $proxy_host (nginx 1.31.4)
				b = append(b, ev.proxyHost...)
			} else {
				b = b[:n]
				continue
			}
		}
		b = append(b, "\r\n"...)
	}
	if bodyLen >= 0 && (hasBody || req.ContentLength >= 0) {
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, bodyLen, 10)
		b = append(b, "\r\n"...)
	} else if hasBody && x.unbuf && req.Chunked {
		b = append(b, "Transfer-Encoding: chunked\r\n"...)
	}
	if p.passHeaders {
		for _, f := range req.Header {
			if p.skip.has(f.Name) {
				continue
			}
			b = append(b, f.Name...)
			b = append(b, ": "...)
			b = append(b, f.Value...)
			b = append(b, "\r\n"...)
		}
	}
	return append(b, "\r\n"...)
}

func readAll(r io.Reader, b []byte) ([]byte, error) {
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// BodyError is implemented by errors from Request.Body that know the
// status the request must end with (the server's client_body_timeout,
// client_max_body_size and bad-chunk errors).
type BodyError interface {
	error
	BodyStatus() int
}

func clientBodyStatus(err error) int {
	var be BodyError
	if errors.As(err, &be) {
		return be.BodyStatus()
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return 408
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
		return 499
	}
	return 400
}

// connectLoop is ngx_http_upstream_connect plus the retries of
// ngx_http_upstream_next.
func (x *exchange) connectLoop() {
	for try := 0; ; try++ {
		x.requestSent, x.bodySent, x.gotBytes, x.keepalive, x.connClose = false, false, false, false, false
		g := x.g
		if try > 0 {
			x.tick()
		}
		g.mu.Lock()
		pr := x.pick.get(x.now.Unix())
		var cached *upConn
		if pr != nil && g.cache != nil {
			// the first cache candidate under the same lock
			cached = g.cache.take(pr.name, x.tag)
		}
		g.mu.Unlock()
		if pr == nil {
			x.w.logger.LogAttrs(x.ctx, slog.LevelError, "no live upstreams", slog.String("upstream", x.up.name))
			x.res.Attempts = append(x.res.Attempts, Attempt{Peer: x.up.name, Status: 502})
			if !x.next(ftNoLive, errors.New("no live upstreams")) {
				return
			}
			continue
		}
		x.res.Attempts = append(x.res.Attempts, Attempt{Peer: pr.name})
		c := x.takeCached(pr, cached)
		if c == nil {
			var err error
			c, err = x.w.dial(x.ctx, g, pr, x.p.connectTO)
			x.tick()
			if err == errNoSlots {
				// ngx_event_connect_peer fails: 500, no retry, the peer
				// is not blamed.
				x.w.logger.LogAttrs(x.ctx, slog.LevelError, err.Error()+" while connecting to upstream",
					slog.String("upstream", x.up.name), slog.String("peer", pr.name))
				x.res.Attempts[len(x.res.Attempts)-1].Status = 500
				x.freePeer(false)
				x.finish(500, err)
				return
			}
			if err != nil {
				ft := ftError
				if isTimeout(err) {
					ft = ftTimeout
				}
				x.w.logger.LogAttrs(x.ctx, slog.LevelError, "connect() to upstream failed",
					slog.String("upstream", x.up.name), slog.String("peer", pr.name), slog.String("error", err.Error()))
				if !x.next(ft, err) {
					return
				}
				continue
			}
		}
		c.requests++
		pr.stats.Requests.Add(1)
		x.c = c
		if x.attempt() {
			return
		}
	}
}

// takeCached is the cache side of ngx_http_upstream_get_keepalive_peer,
// starting with c, the candidate taken with the balancer's choice.
func (x *exchange) takeCached(pr *peer, c *upConn) *upConn {
	g := x.g
	if g.cache == nil {
		return nil
	}
	for first := true; ; first = false {
		if !first {
			g.mu.Lock()
			c = g.cache.take(pr.name, x.tag)
			g.mu.Unlock()
		}
		if c == nil {
			return nil
		}
		c.pr.stats.Idle.Add(-1)
		if err := c.settle(); err != nil {
			x.w.closeConn(x.up, c, CloseBackendClosed, err)
			continue
		}
		// the connection may have been saved by another peer object with
		// the same address; it now belongs to this attempt's peer
		c.pr = pr
		c.cached = true
		pr.stats.Reused.Add(1)
		return c
	}
}

// attempt sends the request on x.c and handles the response. It returns
// true when the exchange is finished, false to try the next peer.
func (x *exchange) attempt() bool {
	c, p := x.c, x.p
	// ngx_http_upstream_test_connect: an error pending before anything
	// was sent lets even a POST be retried. A cached connection was just
	// probed by settle, which reports such an error too.
	if !c.cached {
		if err := c.sock.socketError(); err != nil {
			return !x.next(ftError, err)
		}
	}
	x.requestSent = true
	if x.unbuf {
		if err := x.write(x.reqHead); err != nil {
			return !x.next(writeFT(err), err)
		}
		x.pump = startPump(x)
	} else {
		if err := x.sendRequest(); err != nil {
			return !x.next(writeFT(err), err)
		}
		x.bodySent = true
	}

	h, err := x.readHead()
	if err == errClientAbort {
		x.w.logger.LogAttrs(x.ctx, slog.LevelInfo, err.Error(),
			slog.String("upstream", x.up.name), slog.String("peer", c.pr.name))
		x.stopPump()
		x.release(false, CloseNotReusable, err)
		x.finish(499, err)
		return true
	}
	if x.pump != nil && err != nil {
		perr := x.stopPump()
		var ce *clientBodyError
		if errors.As(perr, &ce) {
			x.release(false, CloseNotReusable, perr)
			x.finish(clientBodyStatus(ce.err), perr)
			return true
		}
		if perr != nil {
			err = perr
		}
	}
	if err != nil {
		ft := ftError
		var ih *invalidHeaderError
		switch {
		case isTimeout(err):
			ft = ftTimeout
		case errors.As(err, &ih):
			ft = ftInvalidHeader
		}
		x.logUpstreamError(err, "while reading response header from upstream")
		return !x.next(ft, err)
	}
	x.res.Attempts[len(x.res.Attempts)-1].Status = h.Status
	x.res.Attempts[len(x.res.Attempts)-1].Cached = c.cached

	mode := framing(h, x.head)
	x.connClose = h.ConnectionClose
	if h.Status == 101 {
		x.keepalive = false
	} else if mode == frameNone {
		x.keepalive = !h.ConnectionClose
	}

	// ngx_http_upstream_test_next
	if ft, ok := statusFT[h.Status]; ok {
		mask := ft
		if x.requestSent && x.nonIdem {
			mask |= ftNonIdempotent
		}
		if x.pick.tries > 1 && p.next&mask == mask && !(x.requestSent && x.unbuf) &&
			!(p.nextTimeout > 0 && time.Since(x.start) >= p.nextTimeout) {
			x.stopPump()
			if mode == frameNone {
				x.checkExtra()
			}
			return !x.next(ft, nil)
		}
	}
	// ngx_http_upstream_intercept_errors
	if p.intercept && h.Status >= 300 && x.req.Intercept != nil && x.req.Intercept(h.Status) {
		x.stopPump()
		if mode == frameNone {
			x.checkExtra()
		}
		x.release(false, CloseNotReusable, errors.New("response intercepted"))
		x.finish(h.Status, nil)
		return true
	}
	x.sendResponse(h, mode)
	return true
}

func writeFT(err error) uint32 {
	if isTimeout(err) {
		return ftTimeout
	}
	return ftError
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// sendRequest writes the request head and the buffered body. A small
// request goes out in one write that also starts the wait for the
// response (sockProbe.writeAndWait); the rest, or a request that would
// block, is written with proxy_send_timeout.
func (x *exchange) sendRequest() error {
	c := x.c
	if c.sock != nil && len(x.body) <= 16<<10 {
		b := x.reqHead
		if len(x.body) > 0 {
			x.wbuf = append(append(x.wbuf[:0], x.reqHead...), x.body...)
			b = x.wbuf
		}
		x.armHeadRead()
		n, werr, _ := c.sock.writeAndWait(b)
		x.tick() // woken up by the response (or the deadline)
		switch {
		case werr == nil:
			return nil
		case werr != errWouldBlock:
			return werr
		}
		return x.write(b[n:])
	}
	if len(x.body) == 0 {
		return x.write(x.reqHead)
	}
	// head and body in one writev, as ngx_output_chain sends the
	// request's buffers
	_ = x.c.nc.SetWriteDeadline(x.now.Add(x.p.sendTO))
	x.bufs = append(x.bufsArr[:0], x.reqHead, x.body)
	_, err := x.bufs.WriteTo(x.c.nc) // consumes x.bufs, not bufsArr
	clear(x.bufsArr[:])
	return err
}

// write sends b with proxy_send_timeout.
func (x *exchange) write(b []byte) error {
	_ = x.c.nc.SetWriteDeadline(x.now.Add(x.p.sendTO))
	_, err := x.c.nc.Write(b)
	return err
}

// readHead reads and parses the response head with proxy_read_timeout
// between reads and proxy_buffer_size as the limit.
func (x *exchange) readHead() (*ResponseHead, error) {
	c := x.c
	if c.br.Size() < x.p.bufferSize {
		c.br = bufio.NewReaderSize(c.sock.reader(c.nc), x.p.bufferSize)
	}
	limit := x.p.bufferSize
	check := x.checksClient()
	until := x.now.Add(x.p.readTO) // proxy_read_timeout since the last progress
	if x.headArmed {
		until = x.headUntil // armed before sendRequest's wait
	}
	for first := true; ; first = false {
		if !first || !x.headArmed {
			dl := until
			if check && x.now.Add(clientCheckEvery).Before(dl) {
				dl = x.now.Add(clientCheckEvery)
			}
			c.setReadDeadline(dl)
		}
		x.headArmed = false
		n := c.br.Buffered()
		var buf []byte
		var err error
		if n == 0 {
			buf, err = c.br.Peek(1)
		} else {
			buf, err = c.br.Peek(n)
		}
		if len(buf) > 0 {
			x.gotBytes = true
			buf, _ = c.br.Peek(c.br.Buffered())
			used, perr := parseResponseHeadInto(&x.rh, string(buf), x.p.strict)
			if perr == nil {
				_, _ = c.br.Discard(used)
				return &x.rh, nil
			}
			if perr != errIncomplete {
				return nil, perr
			}
			if len(buf) >= limit {
				return nil, invalidHeader("upstream sent too big header")
			}
			buf, err = c.br.Peek(len(buf) + 1)
			if err == nil {
				x.tick()
				until = x.now.Add(x.p.readTO)
				continue
			}
		}
		x.tick() // the read waited
		if err == io.EOF {
			return nil, errPrematureClose
		}
		if isTimeout(err) && (x.pump == nil || !x.pump.failed.Load()) && x.now.Before(until) {
			// A client check, or an earlier deadline kept by
			// upConn.armRead: wait on.
			if check && x.req.ClientClosed() {
				// ngx_http_upstream_check_broken_connection
				return nil, errClientAbort
			}
			continue
		}
		if err != nil {
			return nil, err
		}
	}
}

// checksClient reports whether the wait for the head polls the client.
func (x *exchange) checksClient() bool {
	return x.req.ClientClosed != nil && !x.p.ignoreAbort
}

// armHeadRead sets the deadline readHead's first wait uses.
func (x *exchange) armHeadRead() {
	x.headUntil = x.now.Add(x.p.readTO)
	dl := x.headUntil
	if x.checksClient() && x.now.Add(clientCheckEvery).Before(dl) {
		dl = x.now.Add(clientCheckEvery)
	}
	x.c.armRead(dl, x.now)
	x.headArmed = true
}

// clientCheckEvery is how often a request waiting for a response head
// checks whether its client went away (nginx learns it from the event
// loop at once).
const clientCheckEvery = 100 * time.Millisecond

var errClientAbort = errors.New("client prematurely closed connection, so upstream connection is closed too")

func (x *exchange) logUpstreamError(err error, while string) {
	x.w.logger.LogAttrs(x.ctx, slog.LevelError, err.Error()+" "+while,
		slog.String("upstream", x.up.name), slog.String("peer", x.c.pr.name), slog.Bool("cached", x.c.cached))
}

// checkExtra marks a response with bytes beyond its end as not reusable
// ("upstream sent more data than specified").
func (x *exchange) checkExtra() {
	if x.c.br.Buffered() > 0 {
		x.keepalive = false
	}
}

// next is ngx_http_upstream_next: it frees the peer (failed unless the
// condition is http_403/http_404), returns the free try of a cached
// connection, and decides whether to try again. It returns false after
// finishing the request with the error status.
func (x *exchange) next(ft uint32, cause error) bool {
	cached := x.c != nil && x.c.cached
	if x.c != nil || ft != ftNoLive {
		failed := ft != ftHTTP403 && ft != ftHTTP404
		reason := CloseNotReusable
		if failed {
			reason = CloseError
			if x.c != nil && x.c.cached && ft == ftError && !x.gotBytes {
				reason = CloseStaleOnReuse
			}
		}
		if x.c == nil {
			x.freePeer(failed)
		} else {
			x.stopPump()
			x.release(failed, reason, cause)
		}
	}
	if ft == ftTimeout {
		x.w.logger.LogAttrs(x.ctx, slog.LevelError, "upstream timed out", slog.String("upstream", x.up.name))
	}
	x.c = nil
	if cached && ft == ftError {
		x.pick.tries++
	}
	status := 502
	switch ft {
	case ftTimeout, ftHTTP504:
		status = 504
	case ftHTTP500:
		status = 500
	case ftHTTP503:
		status = 503
	case ftHTTP403:
		status = 403
	case ftHTTP404:
		status = 404
	case ftHTTP429:
		status = 429
	}
	if n := len(x.res.Attempts); n > 0 && x.res.Attempts[n-1].Status == 0 {
		x.res.Attempts[n-1].Status = status
	}
	if x.ctx.Err() != nil {
		x.finish(499, x.ctx.Err())
		return false
	}
	if x.requestSent && x.nonIdem {
		ft |= ftNonIdempotent
	}
	if x.pick.tries == 0 || x.p.next&ft != ft || (x.requestSent && x.unbuf) ||
		(x.p.nextTimeout > 0 && time.Since(x.start) >= x.p.nextTimeout) {
		x.finish(status, cause)
		return false
	}
	return true
}

// freePeer runs the balancer's free without a connection.
func (x *exchange) freePeer(failed bool) {
	g := x.g
	g.mu.Lock()
	pr := x.pick.current
	disabled := x.pick.free(failed, unixNow())
	g.mu.Unlock()
	if disabled && pr != nil {
		x.w.logger.LogAttrs(x.ctx, slog.LevelWarn, "upstream server temporarily disabled",
			slog.String("upstream", x.up.name), slog.String("peer", pr.name))
	}
}

// release is ngx_http_upstream_free_keepalive_peer followed by the
// balancer's free: the connection goes back to the cache only if every
// condition of §4.3 holds; otherwise it is closed with a reason.
// failReason is used when failed is set or the response is not reusable.
func (x *exchange) release(failed bool, failReason CloseReason, cause error) {
	c, g := x.c, x.g
	if c == nil {
		x.freePeer(failed)
		return
	}
	x.c = nil
	now := x.now
	reason := CloseReason(numCloseReasons)
	var detail error
	// A failure mid-body is not reported to the balancer (nginx frees the
	// peer with state 0) but is still an error close.
	broken := failed || failReason == CloseError
	switch {
	case g.cache == nil:
		reason = CloseNoKeepalive
		if broken {
			reason, detail = failReason, cause
		}
	case broken:
		reason, detail = failReason, cause
	case c.requests >= g.up.keepalive.requests:
		reason = CloseKeepaliveRequests
	case now.Sub(c.start) > g.up.keepalive.time:
		reason = CloseKeepaliveTime
	case !x.keepalive:
		reason, detail = CloseNotReusable, cause
	case !x.bodySent:
		reason, detail = CloseNotReusable, errors.New("request body not fully sent")
	}
	var evicted *upConn
	cstats := c.pr.stats
	c.cached = false
	g.mu.Lock()
	if reason == numCloseReasons && x.w.exiting.Load() {
		// checked under the lock Shutdown drains with: nothing is
		// cached once the worker is exiting
		reason = CloseShutdown
	}
	if reason == numCloseReasons {
		evicted = g.cache.put(c, x.tag)
		c.idleSince = now
		g.startWatch(c)
	}
	pr := x.pick.current
	disabled := x.pick.free(failed, now.Unix())
	g.mu.Unlock()
	if disabled && pr != nil {
		x.w.logger.LogAttrs(x.ctx, slog.LevelWarn, "upstream server temporarily disabled",
			slog.String("upstream", x.up.name), slog.String("peer", pr.name))
	}
	if reason == numCloseReasons {
		cstats.Returned.Add(1)
		cstats.Idle.Add(1)
		if evicted != nil {
			_ = evicted.settle()
			evicted.pr.stats.Idle.Add(-1)
			x.w.closeConn(g.up, evicted, CloseEvictedLRU, nil)
		}
		return
	}
	x.w.closeConn(g.up, c, reason, detail)
}

// finish records the final status (ngx_http_upstream_finalize_request
// before anything was sent).
func (x *exchange) finish(status int, err error) {
	x.res.Status = status
	if err != nil {
		x.res.Err = err
	}
	if x.pump != nil {
		x.res.ReadingBody = !x.pump.finished()
	}
}

// nameSet is a set of header names matched ASCII case-insensitively, as
// nginx matches them through lower-cased hash keys. Names are bucketed by
// length, so a lookup compares with at most a few names of the same
// length, without hashing or copying.
type nameSet struct{ byLen [][]string }

func newNameSet(names ...string) nameSet {
	var s nameSet
	for _, n := range names {
		s.add(n)
	}
	return s
}

// add puts name (any case) into the set.
func (s *nameSet) add(name string) {
	for len(s.byLen) <= len(name) {
		s.byLen = append(s.byLen, nil)
	}
	lower := strings.ToLower(name)
	for _, n := range s.byLen[len(name)] {
		if n == lower {
			return
		}
	}
	s.byLen[len(name)] = append(s.byLen[len(name)], lower)
}

// has reports whether name is in the set, in any case.
func (s *nameSet) has(name string) bool {
	if len(name) >= len(s.byLen) {
		return false
	}
	for _, n := range s.byLen[len(name)] {
		if equalLower(name, n) {
			return true
		}
	}
	return false
}

// equalLower reports whether s equals lower, a lower-case ASCII string of
// the same length, ignoring ASCII case.
func equalLower(s, lower string) bool {
	if len(s) != len(lower) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// hidden are the upstream headers nginx does not pass to the client.
var hidden = newNameSet("connection", "keep-alive", "transfer-encoding", "content-length",
	"date", "server", "x-pad", "x-accel-expires", "x-accel-redirect",
	"x-accel-limit-rate", "x-accel-buffering", "x-accel-charset")

// sendResponse is ngx_http_upstream_send_response and the body relay.
func (x *exchange) sendResponse(h *ResponseHead, mode int) {
	upgrade := h.Status == 101 && x.hasClientUpgrade()
	ch := x.clientHead(h, mode, upgrade)
	x.res.Status = h.Status
	if err := x.rw.WriteHead(ch); err != nil {
		x.stopPump()
		x.release(false, CloseNotReusable, errors.New("client write failed"))
		x.res.KeepaliveOff = true
		x.finish(499, err)
		return
	}
	x.res.HeaderSent = true
	if upgrade {
		x.tunnel()
		return
	}
	if x.pump != nil && mode == frameNone {
		// nothing more to read; the body pump may still be running
		x.waitPump()
	}
	x.bodyR.reset(x.c.br, mode, h.ContentLength)
	if x.p.buffering {
		x.relayBuffered()
	} else {
		x.relayUnbuffered()
	}
}

// clientHead builds the head the client gets from the upstream's
// (ngx_http_upstream_process_headers: hidden headers dropped).
func (x *exchange) clientHead(h *ResponseHead, mode int, upgrade bool) *ClientHead {
	ch := &x.ch
	*ch = ClientHead{Status: h.Status, StatusLine: h.StatusLine, ContentLength: -1, NoBody: mode == frameNone && (x.head || h.Status == 204 || h.Status == 304), Upgrade: upgrade, Header: ch.Header[:0]}
	if mode == frameLength || (mode == frameNone && !h.Chunked && h.ContentLength >= 0) {
		ch.ContentLength = h.ContentLength
	}
	for _, f := range h.Header {
		if hidden.has(f.Name) {
			continue
		}
		ch.Header = append(ch.Header, f)
	}
	return ch
}

func (x *exchange) hasClientUpgrade() bool {
	for _, f := range x.req.Header {
		if strings.EqualFold(f.Name, "upgrade") {
			return true
		}
	}
	return false
}

// readBody reads decoded body bytes with proxy_read_timeout.
// The deadline is re-armed only when the read may wait: a length or
// close-delimited body read from buffered bytes never does.
func (x *exchange) readBody(p []byte) (int, error) {
	if x.c.br.Buffered() == 0 || x.bodyR.mode == frameChunked {
		x.tick()
		x.c.setReadDeadline(x.now.Add(x.p.readTO))
	}
	return x.bodyR.Read(p)
}

// bodyDone finishes the upstream side after the body was read completely.
func (x *exchange) bodyDone() {
	if x.bodyR.mode != frameClose {
		x.keepalive = !x.connClose
		x.checkExtra()
	} else {
		x.keepalive = false
	}
	x.waitPump()
	x.release(false, CloseNotReusable, x.notReusableCause())
}

func (x *exchange) notReusableCause() error {
	switch {
	case x.bodyR.mode == frameClose:
		return errors.New("close-delimited response")
	case x.connClose:
		return errors.New("upstream sent Connection: close or an HTTP/1.0 status line")
	case x.c != nil && x.c.br.Buffered() > 0:
		return errors.New("upstream sent more data than specified")
	}
	return nil
}

// upstreamFailed handles an upstream error after the head was sent: the
// client gets a truncated response and its connection is closed.
func (x *exchange) upstreamFailed(err error) {
	if isTimeout(err) {
		x.w.logger.LogAttrs(x.ctx, slog.LevelError, "upstream timed out while reading upstream", slog.String("upstream", x.up.name))
	} else {
		x.logUpstreamError(err, "while reading upstream")
	}
	x.stopPump()
	x.release(false, CloseError, err)
	x.res.KeepaliveOff = true
	x.res.Err = err
}

// upstreamInvalid handles an invalid chunked body after the head was
// handed to the client: nginx finalizes with NGX_ERROR, which closes the
// client connection without flushing (ngx_http_upstream_finalize_request),
// so what is still unsent, the head included, never leaves.
func (x *exchange) upstreamInvalid(err error) {
	x.upstreamFailed(err)
	x.res.DropUnsent = true
}

// clientFailed handles a failed client write during the body.
func (x *exchange) clientFailed(err error) {
	x.res.KeepaliveOff = true
	x.res.Err = err
	if x.c != nil {
		x.stopPump()
		x.release(false, CloseNotReusable, errors.New("client closed the connection before the response was complete"))
	}
}

// relayBuffered models proxy_buffering on: the body is read from the
// upstream into memory (up to MaxBuffered) and the upstream connection is
// released before the client write; a larger body is streamed.
func (x *exchange) relayBuffered() {
	acc := x.acc[:0]
	if cap(acc) == 0 {
		acc = make([]byte, 0, 4096)
	}
	defer func() { x.acc = acc[:0] }()
	for !x.bodyR.done {
		if len(acc) >= int(x.p.maxBuffered) {
			break
		}
		// One read that may wait, then what it brought: nginx's event
		// pipe filters each recv() whole (ngx_event_pipe_read_upstream)
		// and passes earlier reads on to the client before it waits.
		passed := len(acc)
		var err error
		for wait := true; ; wait = false {
			if len(acc) == cap(acc) {
				acc = append(acc, 0)[:len(acc)]
			}
			var n int
			if wait {
				n, err = x.readBody(acc[len(acc):cap(acc)])
			} else {
				n, err = x.bodyR.readBuffered(acc[len(acc):cap(acc)])
			}
			acc = acc[:len(acc)+n]
			if err != nil || x.bodyR.done || len(acc) >= int(x.p.maxBuffered) {
				break
			}
		}
		if err == errWouldWait {
			continue
		}
		if err == io.EOF {
			break
		}
		if err == errInvalidChunked {
			// ngx_event_pipe returns NGX_ABORT: what this read brought
			// is not passed on; earlier reads were, and the server
			// decides what of them postpone_output still held back.
			x.writeClient(acc[:passed])
			x.upstreamInvalid(err)
			return
		}
		if err != nil {
			x.writeClient(acc)
			x.upstreamFailed(err)
			return
		}
	}
	if x.bodyR.done {
		x.bodyDone()
		if x.writeClient(acc) == nil && x.flushClient() == nil {
			x.res.Complete = true
		}
		return
	}
	if err := x.writeClient(acc); err != nil {
		x.clientFailed(err)
		return
	}
	x.relayUnbuffered()
}

// relayUnbuffered is proxy_buffering off: every read is passed on and
// flushed; the upstream connection is held until the client took it all.
func (x *exchange) relayUnbuffered() {
	clientErr := error(nil)
	for !x.bodyR.done {
		n, err := x.readBody(x.buf)
		// What the same read brought is decoded as a whole before any
		// of it is passed on, as ngx_http_upstream_process_non_buffered_request
		// hands a recv()'s bytes to the input filter at once: an invalid
		// chunk in it fails them all, and valid chunks go out in one write.
		for err == nil && n < len(x.buf) {
			m, berr := x.bodyR.readBuffered(x.buf[n:])
			if berr == errWouldWait {
				break
			}
			n, err = n+m, berr
		}
		if err == errInvalidChunked {
			x.upstreamInvalid(err)
			return
		}
		if n > 0 && clientErr == nil {
			if werr := x.writeClient(x.buf[:n]); werr == nil {
				werr = x.flushClient()
				clientErr = werr
			} else {
				clientErr = werr
			}
			if clientErr != nil && !x.p.ignoreAbort {
				x.clientFailed(clientErr)
				return
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			x.upstreamFailed(err)
			return
		}
	}
	x.bodyDone()
	if clientErr == nil && x.flushClient() == nil {
		x.res.Complete = true
	} else {
		x.res.KeepaliveOff = true
	}
}

func (x *exchange) writeClient(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	_, err := x.rw.Write(b)
	return err
}

func (x *exchange) flushClient() error { return x.rw.Flush() }
