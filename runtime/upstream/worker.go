package upstream

import (
	"bufio"
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// group is one worker's state for one upstream: its peers, balancer state
// and keep-alive cache. In nginx this state lives in each worker process.
type group struct {
	w       *Worker
	up      *Upstream
	mu      sync.Mutex
	primary *tier
	backup  *tier
	method  int
	points  []chashPoint
	cache   *kaCache // nil: nothing is cached

	// The idle watchers' timer (cache.go: startWatch, sweep), guarded by mu.
	sweeper *time.Timer
	sweepAt time.Time // when sweeper fires; zero: not armed
}

// Worker is the upstream state of one server worker: per-upstream peers
// and keep-alive caches. Its methods are safe for concurrent use by the
// worker's connections.
type Worker struct {
	set      *Set
	id       int
	groups   []*group
	exiting  atomic.Bool
	watchers sync.WaitGroup
	logger   *slog.Logger
	slots    Slots
}

// Slots is the server worker's connection limit (worker_connections):
// every upstream connection, idle in the cache or busy, holds a slot, as
// nginx takes a connection from the worker's table for it.
type Slots interface {
	// AcquireConn takes a slot, reporting false when none is free.
	AcquireConn() bool
	// ReleaseConn returns a slot.
	ReleaseConn()
}

// SetSlots makes upstream connections count against s. Call it before
// the worker proxies anything.
func (w *Worker) SetSlots(s Slots) { w.slots = s }

// errNoSlots is ngx_get_connection failing for an upstream connection.
var errNoSlots = errors.New("worker_connections are not enough")

// NewWorker creates the state of worker id. Every CompileProxy call must
// happen before the workers are created.
func (s *Set) NewWorker(id int) *Worker {
	w := &Worker{set: s, id: id, logger: s.logger.With("worker", id)}
	s.mu.Lock()
	ups := append([]*Upstream(nil), s.ups...)
	s.mu.Unlock()
	for _, u := range ups {
		w.groups = append(w.groups, w.newGroup(u))
	}
	return w
}

func (w *Worker) newGroup(u *Upstream) *group {
	stats := func(name string) *PeerCounters { return w.set.stats.shard(u.name, name, max(w.id+1, 0)) }
	g := &group{w: w, up: u, method: u.method, points: u.points}
	g.primary = tierFromConf(u.primary, stats)
	if len(u.backup) > 0 {
		g.backup = tierFromConf(u.backup, stats)
		g.primary.single = false
		g.backup.single = false
	}
	if u.keepalive != nil {
		g.cache = newCache(u.keepalive)
	}
	return g
}

// group returns this worker's state for u; upstreams created after the
// worker (run-time implicit peers) get a throwaway group, as nginx builds a
// temporary round-robin peer for them.
func (w *Worker) group(u *Upstream) *group {
	if u.idx >= 0 && u.idx < len(w.groups) && w.groups[u.idx].up == u {
		return w.groups[u.idx]
	}
	return w.newGroup(u)
}

// Shutdown puts the worker in the exiting state: no connection is cached
// any more and every idle cached connection is closed (reason shutdown).
// It waits for the idle watchers to stop. In-flight exchanges finish
// normally and close their connections.
func (w *Worker) Shutdown() {
	w.exiting.Store(true)
	for _, g := range w.groups {
		if g.cache == nil {
			continue
		}
		g.mu.Lock() // release checks exiting under this lock
		conns := g.cache.drain()
		if g.sweeper != nil {
			g.sweeper.Stop()
			g.sweepAt = time.Time{}
		}
		g.mu.Unlock()
		for _, c := range conns {
			_ = c.settle()
			c.pr.stats.Idle.Add(-1)
			w.closeConn(g.up, c, CloseShutdown, nil)
		}
	}
	w.watchers.Wait()
}

// dial opens a new connection to pr with the connect timeout.
func (w *Worker) dial(ctx context.Context, g *group, pr *peer, timeout time.Duration) (*upConn, error) {
	if w.slots != nil && !w.slots.AcquireConn() {
		return nil, errNoSlots
	}
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	nc, err := w.set.dial(dctx, pr.net, pr.addr)
	if err != nil {
		if w.slots != nil {
			w.slots.ReleaseConn()
		}
		return nil, err
	}
	c := &upConn{nc: nc, pr: pr, key: pr.name, start: time.Now(), sock: newSockProbe(nc)}
	c.br = bufio.NewReaderSize(c.sock.reader(nc), 4096)
	pr.stats.Opened.Add(1)
	if w.logger.Enabled(ctx, slog.LevelDebug) {
		w.logger.LogAttrs(ctx, slog.LevelDebug, "upstream connection opened",
			slog.String("upstream", g.up.name), slog.String("peer", pr.name),
			slog.String("local", nc.LocalAddr().String()))
	}
	return c, nil
}

// closeConn closes an upstream connection and records why.
func (w *Worker) closeConn(u *Upstream, c *upConn, reason CloseReason, cause error) {
	_ = c.nc.Close()
	if w.slots != nil {
		w.slots.ReleaseConn()
	}
	c.pr.stats.Closed[reason].Add(1)
	lvl := slog.LevelInfo
	if reason == CloseNoKeepalive {
		lvl = slog.LevelDebug
	}
	if !w.logger.Enabled(context.Background(), lvl) {
		return
	}
	attrs := []slog.Attr{
		slog.String("upstream", u.name), slog.String("peer", c.pr.name),
		slog.String("reason", reason.String()), slog.Int("requests", c.requests),
		slog.Duration("age", time.Since(c.start)),
	}
	if cause != nil {
		attrs = append(attrs, slog.String("detail", cause.Error()))
	}
	w.logger.LogAttrs(context.Background(), lvl, "upstream connection closed", attrs...)
}
