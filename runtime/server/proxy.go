package server

// This file makes the proxy (runtime/upstream) the content handler of
// every location with a Proxy block. Per configuration (New, Reload) the
// instance's upstream blocks are compiled once into an upstream.Set and
// every proxying location into an upstream.Proxy; each server worker gets
// its own upstream.Worker (peer state and keep-alive caches are per
// worker process in nginx), created on first use and shut down when the
// worker starts exiting. A request is handed to Worker.Proxy with adapters
// for the client side: the body (client_body_timeout, 100-continue,
// client_max_body_size as the server implements them), the response
// writer (the server's header filter, chunking and keep-alive decision),
// the tunnel of a 101 response and the server's variables.

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ngxkeep/ngxkeep/runtime/config"
	"github.com/ngxkeep/ngxkeep/runtime/h1"
	"github.com/ngxkeep/ngxkeep/runtime/upstream"
)

func init() { RegisterInstanceHandler(newProxyInstance) }

// proxyInstance is the proxy state of one compiled configuration.
type proxyInstance struct {
	set *upstream.Set
	// workers caches each server worker's upstream state by worker ID
	// (unique within the configuration's generation), so that a request
	// does not take the worker's Local lock.
	workers []atomic.Pointer[upstream.Worker]
}

// postponeOutput is nginx's postpone_output default: the write filter
// holds back less than this much output that is not flushed or last.
const postponeOutput = 1460

// v1_23_0 is the first version with nginx's strict upstream header checks
// (duplicate Content-Length, Content-Length with Transfer-Encoding).
var v1_23_0 = config.Version{Major: 1, Minor: 23, Patch: 0}

// newProxyInstance compiles inst's upstream blocks; its factory claims the
// locations with a Proxy block.
func newProxyInstance(inst *config.Instance, opts *Options) (HandlerFactory, error) {
	if len(inst.Upstreams) == 0 && !hasProxy(inst) {
		return nil, nil
	}
	log := opts.Logger
	if log != nil {
		log = log.With("instance", inst.Name)
	}
	set, err := upstream.NewSet(inst.Upstreams, upstream.Options{Logger: log})
	if err != nil {
		return nil, err
	}
	v, _ := config.ParseVersion(inst.Version)
	n := config.DefaultWorkerProcesses
	if inst.WorkerProcesses != nil {
		n = *inst.WorkerProcesses
	}
	pi := &proxyInstance{set: set, workers: make([]atomic.Pointer[upstream.Worker], max(n, 0))}
	strict := v.AtLeast(v1_23_0)
	return func(loc *config.Location, _ *Options) (Handler, error) {
		if loc.Proxy == nil {
			return nil, nil
		}
		var info upstream.LocationInfo
		switch loc.Match {
		case config.MatchPrefix, config.MatchPrefixNoRegex, config.MatchExact:
			info.Prefix = loc.Path
		}
		p, err := set.CompileProxy(loc.Proxy, info, strict)
		if err != nil {
			if loc.DefRange.Filename != "" {
				return nil, errors.New(loc.DefRange.String() + ": location " + strconv.Quote(loc.Path) + ": " + err.Error())
			}
			return nil, errors.New("location " + strconv.Quote(loc.Path) + ": " + err.Error())
		}
		h := &proxyHandler{pi: pi, p: p, buffering: true, reqBuffering: true, passBody: true}
		if loc.Proxy.PassRequestBody != nil {
			h.passBody = *loc.Proxy.PassRequestBody
		}
		if loc.Proxy.Buffering != nil {
			h.buffering = *loc.Proxy.Buffering
		}
		if loc.Proxy.RequestBuffering != nil {
			h.reqBuffering = *loc.Proxy.RequestBuffering
		}
		return h, nil
	}, nil
}

func hasProxy(inst *config.Instance) bool {
	var walk func([]*config.Location) bool
	walk = func(locs []*config.Location) bool {
		for _, l := range locs {
			if l.Proxy != nil || walk(l.Locations) {
				return true
			}
		}
		return false
	}
	for _, s := range inst.Servers {
		if (s.Unmatched != nil && s.Unmatched.Proxy != nil) || walk(s.Locations) {
			return true
		}
	}
	return false
}

// Upstreams returns the upstream counters (connections opened, reused,
// closed by reason, per upstream and peer) of the instance's current
// configuration, or nil when it proxies nothing. Write them with
// upstream.WriteMetrics or upstream.WriteSnapshotJSON.
func (s *Instance) Upstreams() *upstream.Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sc := range s.cur.ic.servers {
		if pi := findProxyInstance(sc); pi != nil {
			return pi.set.Stats()
		}
	}
	return nil
}

func findProxyInstance(sc *serverConf) *proxyInstance {
	var walk func(lv *locLevel) *proxyInstance
	check := func(lc *locConf) *proxyInstance {
		if lc == nil {
			return nil
		}
		if h, ok := lc.handler.(*proxyHandler); ok {
			return h.pi
		}
		return walk(lc.nested)
	}
	walk = func(lv *locLevel) *proxyInstance {
		if lv == nil {
			return nil
		}
		for _, lc := range lv.exact {
			if pi := check(lc); pi != nil {
				return pi
			}
		}
		for _, list := range [][]*locConf{lv.prefix, lv.regex} {
			for _, lc := range list {
				if pi := check(lc); pi != nil {
					return pi
				}
			}
		}
		return nil
	}
	if pi := check(sc.unmatched); pi != nil {
		return pi
	}
	for _, lc := range sc.named {
		if pi := check(lc); pi != nil {
			return pi
		}
	}
	return walk(sc.root)
}

// worker returns the upstream state of the server worker w, creating it on
// first use; it is shut down when w starts exiting.
func (pi *proxyInstance) worker(w *Worker) *upstream.Worker {
	id := w.ID()
	if id >= 0 && id < len(pi.workers) {
		if uw := pi.workers[id].Load(); uw != nil {
			return uw
		}
	}
	uw := w.Local(pi, func() any {
		uw := pi.set.NewWorker(w.ID())
		uw.SetSlots(w) // upstream connections count in worker_connections
		w.OnExit(uw.Shutdown)
		return uw
	}).(*upstream.Worker)
	if id >= 0 && id < len(pi.workers) {
		pi.workers[id].Store(uw)
	}
	return uw
}

// proxyHandler is the content handler of one proxying location
// (ngx_http_proxy_handler).
type proxyHandler struct {
	pi           *proxyInstance
	p            *upstream.Proxy
	buffering    bool
	reqBuffering bool
	passBody     bool
}

var proxyStates = sync.Pool{New: func() any {
	st := &proxyState{}
	st.req.Vars = st
	st.req.Intercept = st.intercept
	st.req.ClientClosed = st.clientClosed
	st.body.st = st
	return st
}}

// Serve runs the request through the upstream and maps the result onto
// the server's finalization (ngx_http_upstream_finalize_request).
func (h *proxyHandler) Serve(w *ResponseWriter, r *Request) int {
	if !h.passBody && h.reqBuffering && r.HasBody() {
		// nginx reads the body before it connects even when it does
		// not pass it (ngx_http_proxy_handler always calls
		// ngx_http_read_client_request_body).
		if rc := readAndDrop(r); rc != 0 {
			return rc
		}
	}
	uw := h.pi.worker(r.Worker())
	st := proxyStates.Get().(*proxyState)
	st.start(h, w, r)
	st.req.AttemptBuf = st.attempts
	res := uw.Proxy(r.Context(), h.p, &st.req, st)
	st.attempts = res.Attempts[:0]
	st.clock()
	rc := st.finish(&res)
	st.reset()
	proxyStates.Put(st)
	return rc
}

// readAndDrop reads the whole request body and forgets it; it returns the
// status a body error ends the request with, or 0.
func readAndDrop(r *Request) int {
	var buf [4096]byte
	for {
		_, err := r.readBody(buf[:])
		switch {
		case err == io.EOF:
			return 0
		case err != nil:
			return BodyStatus(err)
		case r.bodyDone:
			return 0
		}
	}
}

// proxyState is one proxied request: the upstream.Request built from the
// server's request, and the client side the exchange writes to. It
// implements upstream.ResponseWriter, upstream.Tunneler and upstream.Vars.
type proxyState struct {
	h   *proxyHandler
	w   *ResponseWriter
	r   *Request
	req upstream.Request

	// mu serializes the client connection between the exchange, which
	// writes the response, and the body pump, which reads the request
	// body at the same time when request buffering is off.
	mu       sync.Mutex
	body     proxyBody
	writeErr error

	arena    []byte
	fields   []upstream.Field
	attempts []upstream.Attempt // Result.Attempts, reused
}

func (st *proxyState) start(h *proxyHandler, w *ResponseWriter, r *Request) {
	c := r.c
	st.h, st.w, st.r = h, w, r
	st.writeErr = nil
	st.body.stopped.Store(false)

	// One string holds every text the exchange sees.
	head := c.head
	a := st.arena[:0]
	a = append(a, head.Line.URI...)
	a = append(a, r.Path...)
	a = append(a, r.Args...)
	for _, f := range head.Headers {
		a = append(a, f.Name...)
		a = append(a, f.Value...)
	}
	st.arena = a
	s := string(a)
	off := 0
	take := func(n int) string {
		v := s[off : off+n]
		off += n
		return v
	}
	req := &st.req
	req.Method = methodName(r)
	req.RawURI = take(len(head.Line.URI))
	req.Path = take(len(r.Path))
	req.Args = take(len(r.Args))
	fields := st.fields[:0]
	for _, f := range head.Headers {
		fields = append(fields, upstream.Field{Name: take(len(f.Name)), Value: take(len(f.Value))})
	}
	st.fields = fields
	req.Header = fields
	req.Rewritten = r.internal
	req.ContentLength = head.ContentLength
	req.Chunked = head.Chunked
	req.Body = nil
	if r.HasBody() && h.passBody {
		req.Body = &st.body
		// ngx_http_read_client_request_body runs before the upstream is
		// contacted: the body counts as being read from now on (so an
		// early answer ends with lingering close, not a discard), and
		// "100 Continue" goes out. An error surfaces on the first read.
		r.readBody(nil)
	} else if !r.HasBody() {
		// ngx_http_read_client_request_body tests Expect before it looks
		// at the length (ngx_http_test_expect): "100 Continue" goes out
		// even for a request without a body.
		r.readBody(nil)
	}
	req.BodyArrived = req.Body != nil && bodyArrived(r)
	// With request buffering off the body is read while the response
	// may be written, unless it is all here (then it is read first).
	st.body.concurrent = !h.reqBuffering && !req.BodyArrived
	req.RemoteAddr = netip.AddrPort{}
	if ta, ok := c.nc.RemoteAddr().(*net.TCPAddr); ok {
		req.RemoteAddr = ta.AddrPort()
	}
	req.Now = c.now
}

// bodyArrived reports whether the rest of r's body, or the error that ends
// it (invalid chunk, client_max_body_size), is already in the connection's
// buffer, so that reading it never waits: ngx_http_read_client_request_body
// then finishes (or fails) before the upstream is contacted, even with
// request_body_no_buffering. It consumes nothing.
func bodyArrived(r *Request) bool {
	if r.bodyDone || r.bodyErr != nil || r.discardStarted {
		return true
	}
	src := r.c.avail()
	if !r.Head.Chunked {
		return int64(len(src)) >= r.bodyLeft
	}
	d := r.chunked // a copy: the scan leaves the request's decoder alone
	received := r.chunkedReceived
	for {
		if rem := d.Remaining(); rem > 0 {
			if int64(len(src)) < rem {
				return false
			}
			src = src[rem:]
			d.Consume(rem)
		}
		n, res := d.Next(src)
		src = src[n:]
		switch res {
		case h1.ChunkData:
			size := d.Remaining()
			if r.loc.maxBodySize > 0 && r.loc.maxBodySize-received < size {
				return true // 413 without waiting
			}
			received += size
		case h1.ChunkDone, h1.ChunkInvalid:
			return true
		default:
			return false
		}
	}
}

// clock brings the connection's clock up to the exchange's last wake-up
// (upstream.Request.Now), so that the client side's timers start from
// it without reading the clock.
func (st *proxyState) clock() {
	if c := st.r.c; st.req.Now.After(c.now) {
		c.now = st.req.Now
	}
}

func (st *proxyState) reset() {
	st.h, st.w, st.r = nil, nil, nil
	st.req.Header, st.req.Body = nil, nil
	st.req.Method, st.req.RawURI, st.req.Path, st.req.Args = "", "", "", ""
	clear(st.fields)
	st.writeErr = nil
}

// finish turns the exchange's result into the handler's return value.
func (st *proxyState) finish(res *upstream.Result) int {
	r, c := st.r, st.r.c
	switch {
	case res.Upgraded:
		// The tunnel used the socket directly: forget the deadline the
		// connection believes is set.
		c.rdl = time.Time{}
		c.nc.SetReadDeadline(time.Time{})
		if st.writeErr != nil {
			return StatusError
		}
		// The 101 head said "Connection: upgrade"; nothing follows.
		r.veto(ReasonUpgraded)
		return StatusDone
	case st.writeErr != nil:
		return StatusError
	case !res.HeaderSent:
		switch res.Status {
		case 499:
			return StatusClientClosed
		case 408:
			return StatusRequestTimeout
		case 0:
			return StatusError
		}
		// nginx's own page (502, 504, ...), or error_page for an
		// intercepted status; 502 and 504 keep the client connection.
		return res.Status
	case res.KeepaliveOff && res.DropUnsent:
		// An internal error (NGX_ERROR) closes without a flush: what
		// ngx_http_write_filter still postponed is lost. It postpones
		// less than postpone_output bytes; more went out already.
		if len(c.wbuf) >= postponeOutput {
			c.flush(r.loc.sendTimeout)
		}
		st.w.AbortUnsent()
	case res.KeepaliveOff:
		// The upstream failed mid-body: truncated body, no final
		// chunk, then close.
		st.w.Abort()
	}
	return StatusDone
}

// methodName is the method sent upstream: the request's, which is GET
// after an error_page redirect of anything but HEAD.
func methodName(r *Request) string {
	switch r.Method {
	case h1.MethodGET:
		return "GET"
	case h1.MethodHEAD:
		return "HEAD"
	case h1.MethodPOST:
		return "POST"
	case h1.MethodPUT:
		return "PUT"
	case h1.MethodDELETE:
		return "DELETE"
	case h1.MethodOPTIONS:
		return "OPTIONS"
	case h1.MethodPATCH:
		return "PATCH"
	}
	return string(r.Head.Line.MethodName)
}

// intercept reports whether error_page handles status
// (ngx_http_upstream_intercept_errors).
func (st *proxyState) intercept(status int) bool {
	return st.r.loc.errorPages[status] != nil
}

// clientClosed reports whether the client went away while the exchange
// waits for the upstream (ngx_http_upstream_check_broken_connection).
func (st *proxyState) clientClosed() bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.r.ClientClosed()
}

// ---- upstream.ResponseWriter ----

// WriteHead hands the upstream's head to the server's header filter, which
// adds Server, Date, Connection/Keep-Alive and decides on chunking.
func (st *proxyState) WriteHead(h *upstream.ClientHead) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.clock()
	w := st.w
	w.SetStatus(h.Status)
	if h.StatusLine != "" {
		// nginx passes the upstream's status line through
		w.SetStatusLine(h.StatusLine)
	}
	w.SetContentLength(h.ContentLength)
	for _, f := range h.Header {
		switch {
		case h1.EqualFold([]byte(f.Name), "content-type"):
			w.SetContentType(f.Value)
		case h1.EqualFold([]byte(f.Name), "location"), h1.EqualFold([]byte(f.Name), "refresh"):
			st.r.c.passRedirect(st.r, w, f.Name, f.Value) // proxy_redirect: vars.go
		default:
			w.AddHeader(f.Name, f.Value)
		}
	}
	return st.fail(w.writeHeader())
}

// Write appends body bytes (chunked by the server when needed).
func (st *proxyState) Write(p []byte) (int, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.clock()
	n, err := st.w.write(p)
	return n, st.fail(err)
}

// Flush sends buffered output. With proxy_buffering on the server's own
// flushes suffice (the whole response goes out with the final write);
// with it off every upstream read is passed on at once.
func (st *proxyState) Flush() error {
	if st.h.buffering {
		return nil
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	st.clock()
	return st.fail(st.w.flush())
}

// Tunnel sends the 101 head and hands over the client socket with any
// bytes the client already sent past the request.
func (st *proxyState) Tunnel() (net.Conn, []byte, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	w, c := st.w, st.r.c
	if err := st.fail(w.WriteHeader()); err != nil {
		return nil, nil, err
	}
	if err := st.fail(c.flush(st.r.loc.sendTimeout)); err != nil {
		return nil, nil, err
	}
	var pre []byte
	if av := c.avail(); len(av) > 0 {
		pre = append(pre, av...)
		c.consume(len(av))
	}
	return c.nc, pre, nil
}

func (st *proxyState) fail(err error) error {
	if err != nil && st.writeErr == nil {
		st.writeErr = err
	}
	return err
}

// ---- upstream.Vars ----

// Var resolves the variables only the server knows; the upstream package
// derives the others ($uri, $args, $request_uri, $http_*, $remote_addr,
// ...) from the request.
func (st *proxyState) Var(name string) (string, bool) {
	b, ok := st.AppendVar(nil, name)
	return string(b), ok
}

// AppendVar is Var without allocating (upstream.VarAppender): the
// server's variables (vars.go: built-ins, map and set results).
func (st *proxyState) AppendVar(dst []byte, name string) ([]byte, bool) {
	return st.r.c.appendVariable(dst, st.r, name)
}

// ---- the request body ----

// proxyBody reads the request body for the exchange through the server's
// body reader. With request buffering off it runs in the exchange's body
// pump while the response may already be written: it then never blocks
// while holding the connection (it waits for readability first), and
// SetReadDeadline stops it.
type proxyBody struct {
	st         *proxyState
	concurrent bool
	stopped    atomic.Bool
}

// bodyErr carries the status a body error ends the request with.
type bodyErr struct{ err error }

func (e bodyErr) Error() string   { return e.err.Error() }
func (e bodyErr) Unwrap() error   { return e.err }
func (e bodyErr) BodyStatus() int { return proxyBodyStatus(e.err) }

func proxyBodyStatus(err error) int {
	switch rc := BodyStatus(err); rc {
	case StatusRequestTimeout:
		return 408
	case StatusClientClosed:
		return 499
	case StatusError:
		return 500
	default:
		return rc
	}
}

var errBodyStopped = errors.New("request body reading stopped")

// bodyResult maps a body read's error and reports the end of the body
// with the last bytes, so that the exchange knows the body was sent
// completely (u->request_body_sent) without another read. Only a complete
// body ends with io.EOF: readBody reports a client closing mid-body as
// ErrClientClosed and a read timeout as ErrBodyTimeout (conn.bodyReadError),
// and a body it stopped reading (discarded) that did not end is the
// client's too.
func bodyResult(r *Request, n int, err error) (int, error) {
	switch {
	case err == nil && r.bodyDone:
		return n, io.EOF
	case err == nil:
		return n, nil
	case err == io.EOF && r.bodyDone:
		return n, io.EOF
	case err == io.EOF:
		return n, bodyErr{ErrClientClosed}
	}
	return n, bodyErr{err}
}

// Read reads decoded body bytes.
func (b *proxyBody) Read(p []byte) (int, error) {
	st := b.st
	r := st.r
	if !b.concurrent {
		n, err := r.readBody(p)
		return bodyResult(r, n, err)
	}
	ready := false
	for {
		st.mu.Lock()
		if b.stopped.Load() {
			st.mu.Unlock()
			return 0, errBodyStopped
		}
		if !r.bodyStarted {
			// Starts the body: "100 Continue" when the client asked.
			if _, err := r.readBody(p[:0]); err != nil {
				st.mu.Unlock()
				return bodyResult(r, 0, err)
			}
		}
		if ready && r.Head.Chunked && len(r.c.avail()) == 0 && !r.bodyDone && r.bodyErr == nil && !r.discardStarted {
			// The socket is readable: take what arrived, and read the
			// body only if that makes progress (below).
			if err := r.c.fillBody(r.loc.bodyTimeout); err != nil {
				r.bodyErr = r.c.bodyReadError(err)
				st.mu.Unlock()
				return bodyResult(r, 0, r.bodyErr)
			}
			ready = false
		}
		if ready || r.bodyDone || r.bodyErr != nil || r.discardStarted || bodyProgress(r) {
			n, err := r.readBody(p)
			st.mu.Unlock()
			if n == 0 && err == nil && !r.bodyDone {
				// only chunk framing was consumed: wait again
				ready = false
				continue
			}
			return bodyResult(r, n, err)
		}
		if src := r.c.avail(); len(src) > 0 {
			// Only part of a chunk's framing arrived: the decoder takes
			// it, and the rest is awaited without holding the connection
			// (readBody would wait for it under the lock).
			n, _ := r.chunked.Next(src)
			r.c.consume(n)
		}
		st.mu.Unlock()
		if err := b.waitReadable(); err != nil {
			return 0, err
		}
		ready = true
	}
}

// bodyProgress reports whether the body bytes already buffered let
// readBody return without waiting: any Content-Length bytes, chunk data,
// or the end or an error of the chunked framing, but not just part of a
// chunk-size line (ngx_http_parse_chunked's NGX_AGAIN). It consumes
// nothing.
func bodyProgress(r *Request) bool {
	src := r.c.avail()
	if len(src) == 0 {
		return false
	}
	if !r.Head.Chunked || r.chunked.Remaining() > 0 {
		return true
	}
	d := r.chunked // a copy
	_, res := d.Next(src)
	return res != h1.ChunkAgain
}

// waitReadable waits until the client socket has bytes (or EOF) without
// reading them, for at most client_body_timeout.
func (b *proxyBody) waitReadable() error {
	r := b.st.r
	c := r.c
	if c.tcp == nil {
		return nil // no poller access: read under the lock
	}
	deadline := time.Now().Add(r.loc.bodyTimeout)
	c.nc.SetReadDeadline(deadline)
	if b.stopped.Load() {
		return errBodyStopped
	}
	rc, err := c.tcp.SyscallConn()
	if err != nil {
		return nil
	}
	err = rc.Read(func(fd uintptr) bool { return socketReadable(int(fd)) })
	b.st.mu.Lock()
	defer b.st.mu.Unlock()
	c.rdl = deadline
	switch {
	case b.stopped.Load():
		return errBodyStopped
	case err == nil:
		return nil
	case isTimeout(err):
		c.timedout = true
		r.bodyErr = ErrBodyTimeout
		return bodyErr{ErrBodyTimeout}
	}
	return nil // the read under the lock reports it
}

// SetReadDeadline stops the body reading: the exchange calls it when the
// upstream answered before the body was complete.
func (b *proxyBody) SetReadDeadline(t time.Time) error {
	b.stopped.Store(true)
	return b.st.r.c.nc.SetReadDeadline(t)
}
