package server

import (
	"cmp"
	"context"
	"errors"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ngxkeep/ngxkeep/runtime/config"
)

// Worker is one of an instance's workers (nginx worker process): its own
// accept loops on the shared listening sockets, its own connection slots
// and reusable-connection queue, its own shutdown.
type Worker struct {
	inst *Instance
	// ctlFD is the descriptor newConn reads with ctl, under mu.
	ctlFD int32
	ctl   func(fd uintptr)

	ic   *instanceConf
	id   int
	gen  *generation
	ctx  context.Context
	stop context.CancelFunc

	mu       sync.Mutex
	conns    map[*conn]struct{}
	free     int // free connection slots (worker_connections minus listeners and connections)
	lastWarn int64
	reclaim  []*conn // drain's scratch list

	exiting atomic.Bool
	exitWhy atomic.Uint32

	exitFns []func() // OnExit functions, guarded by mu

	idler *idler // parks idle keep-alive connections; nil: they keep their goroutines

	lns     []*net.TCPListener
	wg      sync.WaitGroup // accept loops and open connections
	done    chan struct{}
	localMu sync.Mutex
	locals  map[any]any
}

// ID is the worker's number within its instance generation.
func (w *Worker) ID() int { return w.id }

// Exiting reports whether the worker is shutting down (graceful stop or
// reload): nothing may be kept alive any more.
func (w *Worker) Exiting() bool { return w.exiting.Load() }

// Local returns the worker's value for key, creating it with init on
// first use. Handlers keep per-worker state here, as nginx modules keep
// per-process state (e.g. upstream keep-alive caches).
func (w *Worker) Local(key any, init func() any) any {
	w.localMu.Lock()
	defer w.localMu.Unlock()
	if v, ok := w.locals[key]; ok {
		return v
	}
	v := init()
	w.locals[key] = v
	return v
}

// OnExit registers f to run once when the worker starts exiting (graceful
// shutdown or reload), right after its idle client connections were told
// to close; if the worker is already exiting, f runs at once. Handlers
// drop per-worker state there, e.g. idle upstream keep-alive connections,
// which nginx closes at that moment too (ngx_close_idle_connections).
func (w *Worker) OnExit(f func()) {
	w.mu.Lock()
	if !w.exiting.Load() {
		w.exitFns = append(w.exitFns, f)
		w.mu.Unlock()
		return
	}
	w.mu.Unlock()
	f()
}

// AcquireConn takes a connection slot for an outgoing (upstream)
// connection, reclaiming idle client connections under pressure as nginx
// does in ngx_get_connection. It reports false when worker_connections are
// exhausted.
func (w *Worker) AcquireConn() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.drain()
	if w.free == 0 {
		return false
	}
	w.free--
	return true
}

// ReleaseConn returns a slot taken by AcquireConn.
func (w *Worker) ReleaseConn() {
	w.mu.Lock()
	w.free++
	w.mu.Unlock()
}

func newWorker(inst *Instance, g *generation, id int) *Worker {
	w := &Worker{
		inst:   inst,
		ic:     g.ic,
		id:     id,
		gen:    g,
		conns:  map[*conn]struct{}{},
		done:   make(chan struct{}),
		locals: map[any]any{},
	}
	w.ctx, w.stop = context.WithCancel(context.Background())
	w.ctl = func(fd uintptr) { w.ctlFD = int32(fd) }
	return w
}

// start opens the worker's own descriptors of the listening sockets and
// starts one accept loop on each.
func (w *Worker) start(ls []*listener) error {
	for _, l := range ls {
		f, err := l.ln.File()
		if err != nil {
			return err
		}
		fl, err := net.FileListener(f)
		f.Close()
		if err != nil {
			return err
		}
		w.lns = append(w.lns, fl.(*net.TCPListener))
	}
	// Every listening socket takes a connection slot in each worker, and
	// so does the worker's channel to the master process. [V1.22 checked]:
	// with worker_connections 32 and one listener, reclaiming starts at
	// the 29th client connection.
	w.free = w.ic.workerConns - len(w.lns) - 1
	w.idler = newIdler(w)
	for i, ln := range w.lns {
		w.wg.Add(1)
		go w.acceptLoop(ln, ls[i])
	}
	go func() {
		w.wg.Wait()
		w.idler.stop()
		w.stop()
		close(w.done)
	}()
	return nil
}

func (w *Worker) acceptLoop(ln *net.TCPListener, l *listener) {
	defer w.wg.Done()
	for {
		nc, err := ln.AcceptTCP()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(10 * time.Millisecond)
			continue
		}
		w.accept(nc, l)
	}
}

// accept takes a slot for a new connection (ngx_event_accept,
// ngx_get_connection) and starts its goroutine.
func (w *Worker) accept(nc *net.TCPConn, l *listener) {
	l.stats.accepted.Add(1)
	ac := w.gen.addrFor(l, nc)
	w.mu.Lock()
	w.drain()
	if w.free == 0 {
		w.mu.Unlock()
		w.inst.log.Error("worker_connections are not enough", "instance", w.ic.src.Name, "worker", w.id,
			"worker_connections", w.ic.workerConns)
		nc.Close()
		l.stats.closes[ReasonNoFreeConnections].Add(1)
		return
	}
	w.free--
	c := newConn(w, nc, ac, l.stats)
	w.conns[c] = struct{}{}
	c.st.Store(uint32(stateNew))
	w.wg.Add(1)
	w.mu.Unlock()
	go func() {
		if !c.serve(false) {
			w.wg.Done()
		}
	}()
}

// connReleased is set in conn.st once the connection's slot is back in
// the worker's free count.
const connReleased = 1 << 8

// reusable reports whether a connection in state st may be reclaimed
// (ngx_reusable_connection): waiting for its first request, idle between
// requests, or in lingering close.
func reusable(st connState) bool {
	return st == stateNew || st == stateIdle || st == stateLingering
}

// drain closes the oldest reusable connections when fewer than 1/16 of
// worker_connections are free (ngx_drain_connections; before 1.19.2 only
// when none are free). Must be called with w.mu held.
func (w *Worker) drain() {
	threshold := w.ic.workerConns / 16
	if !w.ic.version.AtLeast(config.V1_19_2) {
		threshold = 0
	}
	if w.free > threshold {
		return
	}
	// nginx keeps its reusable connections in a queue; here they are
	// found when needed, so that the request cycle takes no lock.
	cands := w.reclaim[:0]
	for c := range w.conns {
		if st := c.st.Load(); st&connReleased == 0 && reusable(connState(st)) {
			cands = append(cands, c)
		}
	}
	defer func() {
		clear(cands)
		w.reclaim = cands[:0]
	}()
	if len(cands) == 0 {
		return
	}
	if now := time.Now().Unix(); now != w.lastWarn {
		w.lastWarn = now
		w.inst.log.Warn(strconv.Itoa(w.ic.workerConns)+" worker_connections are not enough, reusing connections",
			"instance", w.ic.src.Name, "worker", w.id)
	}
	n := max(1, min(32, len(cands)/8))
	slices.SortFunc(cands, func(a, b *conn) int {
		if c := cmp.Compare(a.reuseAt.Load(), b.reuseAt.Load()); c != 0 {
			return c
		}
		return cmp.Compare(a.id, b.id)
	})
	for _, c := range cands {
		if n == 0 {
			break
		}
		st := c.st.Load()
		if st&connReleased != 0 || !reusable(connState(st)) || !c.st.CompareAndSwap(st, st|connReleased) {
			continue // became active meanwhile
		}
		n--
		w.free++
		c.requestClose(ReasonConnectionPressure)
	}
}

// setState records a connection's state (ngx_reusable_connection) without
// the worker's lock. It reports false when the connection must close
// instead: it was reclaimed, or it would go idle while the worker is
// exiting.
//
// A connection becoming reusable takes the place of its last write in
// the reclaim order, not of its arrival here: nginx makes a connection
// reusable in the same event handler that wrote the end of its response
// (ngx_http_set_keepalive), before it can see anything the client does
// next; a goroutine may be late to do so.
func (w *Worker) setState(c *conn, st connState) bool {
	for {
		old := c.st.Load()
		if old&connReleased != 0 {
			return false
		}
		if c.st.CompareAndSwap(old, uint32(st)) {
			break
		}
	}
	// shutdown sets exiting, then closes the idle connections it sees:
	// one of the two sides sees the other's store.
	if st == stateIdle && w.exiting.Load() {
		c.requestClose(w.exitReason())
		return false
	}
	return true
}

// requestClose asks a connection's goroutine to close it and wakes it.
func (c *conn) requestClose(reason Reason) {
	if c.closeReq.CompareAndSwap(0, uint32(reason)+1) {
		if nc := c.nc; nc != nil { // nil: parked, released (see conn.release)
			nc.SetDeadline(time.Unix(1, 0))
		}
		if c.parked.Load() {
			// Parked without a goroutine: the idler closes it. park
			// checks closeReq after it set parked: one of the two sees
			// the other's store.
			c.w.idler.wake(c)
		}
	}
}

// closed is called by a connection's goroutine once its socket is closed.
func (w *Worker) closed(c *conn, reason Reason) {
	w.mu.Lock()
	delete(w.conns, c)
	if c.st.Swap(uint32(stateClosed)|connReleased)&connReleased == 0 {
		w.free++
	}
	w.mu.Unlock()
	// Logged before it is counted: whoever sees the count sees the line.
	w.inst.connClosed(c, reason)
	c.ls.closes[reason].Add(1)
	if c.end == EndRST {
		c.ls.resets.Add(1)
	}
}

func (w *Worker) exitReason() Reason {
	return Reason(w.exitWhy.Load())
}

// shutdown starts a graceful stop (ngx_worker_process_cycle on SIGQUIT):
// stop accepting, close idle keep-alive connections at once, let the
// others finish, force everything closed after worker_shutdown_timeout.
func (w *Worker) shutdown(reason Reason) {
	w.mu.Lock()
	if w.exiting.Load() {
		w.mu.Unlock()
		return
	}
	w.exitWhy.Store(uint32(reason))
	w.exiting.Store(true)
	for _, ln := range w.lns {
		ln.Close()
	}
	// ngx_close_idle_connections: only keep-alive connections that are
	// idle; new connections and those in lingering close stay.
	for c := range w.conns {
		if connState(c.st.Load()) == stateIdle {
			c.requestClose(reason)
		}
	}
	fns := w.exitFns
	w.exitFns = nil
	w.mu.Unlock()
	for _, f := range fns {
		f()
	}
	if t := w.ic.shutdownTimeout; t > 0 {
		timer := time.AfterFunc(t, func() { w.forceClose(ReasonShutdownTimeout, false) })
		go func() {
			<-w.done
			timer.Stop()
		}()
	}
}

// forceClose closes every connection of the worker now. With all false it
// is ngx_shutdown_timer_handler, which sets c->close and c->error and runs
// each connection's read handler: every handler closes on c->close except
// those reading a request head (ngx_http_process_request_line and
// ngx_http_process_request_headers do not look at it), so such a
// connection stays until its head completes (then nothing can be written
// to it: closed without a response) or client_header_timeout ends it.
// With all true (a fast shutdown, the process exiting) nothing survives.
func (w *Worker) forceClose(reason Reason, all bool) {
	w.mu.Lock()
	for c := range w.conns {
		if !all && c.headState.CompareAndSwap(headReading, headReadingFailed) {
			continue
		}
		c.requestClose(reason)
		c.cancelContext()
	}
	w.mu.Unlock()
}

// snapshot returns the worker's counters.
func (w *Worker) snapshot() WorkerStats {
	w.mu.Lock()
	defer w.mu.Unlock()
	ws := WorkerStats{ID: w.id, Free: w.free, Exiting: w.exiting.Load()}
	for c := range w.conns {
		ws.Connections++
		st := c.st.Load()
		if st&connReleased == 0 && reusable(connState(st)) {
			ws.Reusable++
		}
		switch connState(st & 0xff) {
		case stateIdle, stateIdleMin:
			ws.Idle++
		case stateNew:
			ws.Waiting++
		case stateLingering:
			ws.Lingering++
		default:
			ws.Active++
		}
	}
	return ws
}
