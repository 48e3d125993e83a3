package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ngxkeep/ngxkeep/runtime/config"
)

// Options configure an Instance.
type Options struct {
	// Logger receives connection events; nil discards them.
	Logger *slog.Logger
	// Prefix resolves relative root paths (nginx -p); "" = the current
	// directory.
	Prefix string
	// Handler, if set, is asked first for each location's content handler
	// (tests and embedders); see RegisterHandler for the package hook.
	Handler HandlerFactory
	// Listeners are already open listening sockets to use instead of
	// opening them, keyed by listen address as written in the model
	// ("127.0.0.1:8080", "*:80"). The instance owns them from Start on.
	Listeners map[string]*net.TCPListener
}

// Instance is a running configuration.
type Instance struct {
	opts Options
	log  *slog.Logger

	mu        sync.Mutex
	cur       *generation
	old       []*generation
	listeners map[string]*listener
	stats     map[string]*listenerStats
	started   bool
	stopped   bool

	connID atomic.Uint64
}

// generation is one configuration's set of workers; a reload starts a new
// generation and drains the old one.
type generation struct {
	ic      *instanceConf
	workers []*Worker
	// portGroups lists the specific addresses on each wildcard socket's port.
	portGroups map[string][]*addrConf
}

type listener struct {
	key     string
	ln      *net.TCPListener
	backlog int
	stats   *listenerStats
}

// New compiles inst for running. It validates the model; nothing listens
// until Start.
func New(inst *config.Instance, opts Options) (*Instance, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Instance{opts: opts, log: opts.Logger, listeners: map[string]*listener{}, stats: map[string]*listenerStats{}}
	ic, err := compile(inst, &s.opts)
	if err != nil {
		return nil, err
	}
	s.cur = s.newGeneration(ic)
	return s, nil
}

func (s *Instance) newGeneration(ic *instanceConf) *generation {
	g := &generation{ic: ic, portGroups: map[string][]*addrConf{}}
	for key := range ic.sockets {
		host, port, _ := net.SplitHostPort(key)
		if host != "*" {
			continue
		}
		for akey, ac := range ic.addrs {
			h, p, _ := net.SplitHostPort(akey)
			if p == port && h != "*" {
				g.portGroups[key] = append(g.portGroups[key], ac)
			}
		}
	}
	return g
}

// addrFor finds the virtual servers for a connection accepted on l: the
// specific address it was accepted on if configured, else the listener's.
func (g *generation) addrFor(l *listener, nc *net.TCPConn) *addrConf {
	if specific := g.portGroups[l.key]; len(specific) > 0 {
		if la, ok := nc.LocalAddr().(*net.TCPAddr); ok {
			key := net.JoinHostPort(la.IP.String(), fmt.Sprint(la.Port))
			for _, ac := range specific {
				if ac.addr == key {
					return ac
				}
			}
		}
	}
	return g.ic.addrs[l.key]
}

// Start opens the listening sockets and starts the workers.
func (s *Instance) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return errors.New("server: instance already started")
	}
	ls, err := s.openListeners(s.cur.ic)
	if err != nil {
		return err
	}
	s.started = true
	return s.startGeneration(s.cur, ls)
}

func (s *Instance) startGeneration(g *generation, ls []*listener) error {
	for i := 0; i < g.ic.workers; i++ {
		w := newWorker(s, g, i)
		if err := w.start(ls); err != nil {
			for _, w := range g.workers {
				w.shutdown(ReasonShutdown)
			}
			return err
		}
		g.workers = append(g.workers, w)
	}
	return nil
}

// openListeners opens the sockets ic needs that are not open yet and
// returns the listeners ic uses, in a stable order.
func (s *Instance) openListeners(ic *instanceConf) ([]*listener, error) {
	keys := make([]string, 0, len(ic.sockets))
	for k := range ic.sockets {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []*listener
	for _, key := range keys {
		if l, ok := s.listeners[key]; ok {
			out = append(out, l)
			continue
		}
		tl := s.givenListener(key)
		if tl == nil {
			addr := key
			host, port, _ := net.SplitHostPort(key)
			if host == "*" {
				addr = net.JoinHostPort("0.0.0.0", port)
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return nil, fmt.Errorf("listen %s: %w", key, err)
			}
			tl = ln.(*net.TCPListener)
		}
		backlog := ic.sockets[key]
		if rc, err := tl.SyscallConn(); err == nil {
			setBacklog(rc, backlog)
		}
		st := s.stats[key]
		if st == nil {
			st = &listenerStats{}
			s.stats[key] = st
		}
		l := &listener{key: key, ln: tl, backlog: backlog, stats: st}
		s.listeners[key] = l
		out = append(out, l)
	}
	return out, nil
}

// givenListener returns the caller's socket for a normalized address.
func (s *Instance) givenListener(key string) *net.TCPListener {
	for a, l := range s.opts.Listeners {
		if config.NormalizeListenAddress(a) == key {
			return l
		}
	}
	return nil
}

// Addr returns the bound address of a configured listen address (as
// written in the model, e.g. "127.0.0.1:0"), or nil.
func (s *Instance) Addr(listen string) net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if l, ok := s.listeners[config.NormalizeListenAddress(listen)]; ok {
		return l.ln.Addr()
	}
	return nil
}

// Reload switches to a new configuration like nginx's SIGHUP: listening
// sockets that stay are kept (nothing queued on them is lost), new workers
// start on them, and the old workers shut down gracefully: idle keep-alive
// connections close at once, the others finish their request with
// "Connection: close" (1.21.6+) and close, and worker_shutdown_timeout
// bounds the wait.
func (s *Instance) Reload(inst *config.Instance) error {
	ic, err := compile(inst, &s.opts)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started || s.stopped {
		return errors.New("server: instance not running")
	}
	ls, err := s.openListeners(ic)
	if err != nil {
		return err
	}
	g := s.newGeneration(ic)
	if err := s.startGeneration(g, ls); err != nil {
		return err
	}
	old := s.cur
	s.cur = g
	s.old = append(s.old, old)
	for _, w := range old.workers {
		w.shutdown(ReasonReload)
	}
	// Close the sockets the new configuration no longer listens on.
	for key, l := range s.listeners {
		if _, ok := ic.sockets[key]; !ok {
			l.ln.Close()
			delete(s.listeners, key)
		}
	}
	go s.reap(old)
	return nil
}

func (s *Instance) reap(g *generation) {
	for _, w := range g.workers {
		<-w.done
	}
	s.mu.Lock()
	for i, o := range s.old {
		if o == g {
			s.old = append(s.old[:i], s.old[i+1:]...)
			break
		}
	}
	s.mu.Unlock()
}

// Shutdown stops the instance gracefully (SIGQUIT): no new connections,
// idle ones closed at once, requests in flight finished with
// "Connection: close". When ctx ends first, every connection is closed
// immediately. Shutdown returns once all connections are closed.
func (s *Instance) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return nil
	}
	s.stopped = true
	gens := append([]*generation{s.cur}, s.old...)
	// The shared sockets close first: a worker's own descriptor alone
	// keeps a socket listening, and nothing may connect once a worker
	// closed its idle connections.
	for key, l := range s.listeners {
		l.ln.Close()
		delete(s.listeners, key)
	}
	for _, g := range gens {
		for _, w := range g.workers {
			w.shutdown(ReasonShutdown)
		}
	}
	s.mu.Unlock()
	var err error
	for _, g := range gens {
		for _, w := range g.workers {
			select {
			case <-w.done:
			case <-ctx.Done():
				err = ctx.Err()
				for _, g := range gens {
					for _, w := range g.workers {
						w.forceClose(ReasonShutdownTimeout, true)
					}
				}
				<-w.done
			}
		}
	}
	return err
}

// Stats is a snapshot of an instance's counters.
type Stats struct {
	// Listeners maps a listen address to its counters.
	Listeners map[string]ListenerStats
	// Workers are the current generation's workers; Draining those of
	// generations still shutting down after a reload.
	Workers  []WorkerStats
	Draining []WorkerStats
}

// ListenerStats counts what happened on one listening address.
type ListenerStats struct {
	Accepted uint64
	Requests uint64
	Resets   uint64
	// Closes counts closed connections by reason.
	Closes map[Reason]uint64
	// CloseHeaders counts responses sent with "Connection: close" by reason.
	CloseHeaders map[Reason]uint64
}

// WorkerStats describes one worker's connections.
type WorkerStats struct {
	ID          int
	Exiting     bool
	Free        int // free worker_connections slots
	Connections int
	Active      int
	Idle        int
	Waiting     int // accepted, no request yet
	Lingering   int
	Reusable    int
}

type listenerStats struct {
	accepted     atomic.Uint64
	requests     atomic.Uint64
	resets       atomic.Uint64
	closes       [numReasons]atomic.Uint64
	closeHeaders [numReasons]atomic.Uint64
}

// Stats returns a snapshot of the counters.
func (s *Instance) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{Listeners: map[string]ListenerStats{}}
	for key, ls := range s.stats {
		l := ListenerStats{
			Accepted: ls.accepted.Load(), Requests: ls.requests.Load(), Resets: ls.resets.Load(),
			Closes: map[Reason]uint64{}, CloseHeaders: map[Reason]uint64{},
		}
		for r := Reason(0); r < numReasons; r++ {
			if n := ls.closes[r].Load(); n > 0 {
				l.Closes[r] = n
			}
			if n := ls.closeHeaders[r].Load(); n > 0 {
				l.CloseHeaders[r] = n
			}
		}
		st.Listeners[key] = l
	}
	for _, w := range s.cur.workers {
		st.Workers = append(st.Workers, w.snapshot())
	}
	for _, g := range s.old {
		for _, w := range g.workers {
			st.Draining = append(st.Draining, w.snapshot())
		}
	}
	return st
}

// ---- logging ----

// connClosed logs a connection close with its reason.
func (s *Instance) connClosed(c *conn, reason Reason) {
	if !s.log.Enabled(context.Background(), slog.LevelInfo) {
		return
	}
	s.log.LogAttrs(context.Background(), slog.LevelInfo, "connection closed",
		slog.String("instance", c.ic.src.Name),
		slog.Int("worker", c.w.id),
		slog.Uint64("conn", c.id),
		slog.String("listen", c.ac.addr),
		slog.String("client", c.clientAddr()),
		slog.Int64("requests", c.requests),
		slog.Duration("duration", time.Since(c.startTime())),
		slog.String("reason", reason.String()),
		slog.String("end", c.end.String()),
		slog.Bool("lingering", c.lingered),
	)
}

// closeHeader logs a response sent with "Connection: close".
func (s *Instance) closeHeader(c *conn, r *Request) {
	if !s.log.Enabled(context.Background(), slog.LevelDebug) {
		return
	}
	s.log.LogAttrs(context.Background(), slog.LevelDebug, "connection: close",
		slog.String("instance", c.ic.src.Name),
		slog.Int("worker", c.w.id),
		slog.Uint64("conn", c.id),
		slog.Int64("request", c.requests),
		slog.Int("status", r.w.status),
		slog.String("reason", r.closeReason.String()),
	)
}

// logf logs a request-level problem the way nginx's error log does at info
// level ("client sent invalid method", "client intended to send too large
// body").
func (s *Instance) logf(c *conn, msg, detail string, status int) {
	if !s.log.Enabled(context.Background(), slog.LevelInfo) {
		return
	}
	s.log.LogAttrs(context.Background(), slog.LevelInfo, msg,
		slog.String("instance", c.ic.src.Name),
		slog.Uint64("conn", c.id),
		slog.Int("status", status),
		slog.String("detail", detail),
	)
}
