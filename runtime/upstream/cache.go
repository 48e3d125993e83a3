package upstream

import (
	"bufio"
	"errors"
	"net"
	"os"
	"time"
)

// Connection states while it is known to the cache.
const (
	connActive uint8 = iota // in use by a request
	connIdle                // idle in the cache
	connTaken               // removed from the cache, not settled yet
)

// watchDelay is how long a connection sits in the cache before a goroutine
// starts watching it for read events. A connection reused sooner (the
// common case under load) never gets one: taking it checks the socket
// without waiting instead (probe), which sees every event that arrived
// before the take, as nginx's event loop would have. One timer per group
// (sweep) starts the watchers, so that saving and taking a connection
// moves no timer.
const watchDelay = 50 * time.Millisecond

// upConn is one connection to a peer.
type upConn struct {
	nc       net.Conn
	br       *bufio.Reader
	pr       *peer
	key      string // peer address: the cache key
	requests int    // c->requests
	start    time.Time
	cached   bool // taken from the cache for the current attempt

	// sock probes the socket without reading (nil: not supported).
	sock *sockProbe
	// rdl is the read deadline set through armRead and setReadDeadline.
	rdl time.Time

	// Guarded by the group's mutex while the connection is in the cache.
	state     uint8
	item      *cacheItem
	idleSince time.Time
	watching  bool // a watcher goroutine is reading the socket
	// watched is set when the connection left the cache with a watcher
	// running; settle stops it.
	watched   bool
	watchDone chan struct{}
	watchErr  error
}

// cacheItem is one of the N slots of ngx_http_upstream_keepalive_cache_t.
type cacheItem struct {
	prev, next *cacheItem
	c          *upConn
	tag        any
}

// kaCache is the per-worker keep-alive cache of one upstream block
// (ngx_http_upstream_keepalive_srv_conf_t): N slots, a queue of saved
// connections with the most recently saved at the front, and a free list.
type kaCache struct {
	conf *keepaliveConf
	head cacheItem // sentinel: head.next is the most recently saved
	free []*cacheItem
}

func newCache(conf *keepaliveConf) *kaCache {
	k := &kaCache{conf: conf}
	k.head.next, k.head.prev = &k.head, &k.head
	for i := 0; i < conf.max; i++ {
		k.free = append(k.free, &cacheItem{})
	}
	return k
}

func (k *kaCache) unlink(it *cacheItem) {
	it.prev.next = it.next
	it.next.prev = it.prev
	it.prev, it.next = nil, nil
}

func (k *kaCache) pushFront(it *cacheItem) {
	it.next = k.head.next
	it.prev = &k.head
	k.head.next.prev = it
	k.head.next = it
}

// take is the cache scan of ngx_http_upstream_get_keepalive_peer: from the
// most recently saved entry to the oldest, the first whose address matches
// (and, in local mode, whose location tag matches). Called with the group
// mutex held; the caller must then call settle on the returned connection.
func (k *kaCache) take(addr string, tag any) *upConn {
	for it := k.head.next; it != &k.head; it = it.next {
		if k.conf.local && it.tag != tag {
			continue
		}
		if it.c.key != addr {
			continue
		}
		c := it.c
		k.unlink(it)
		it.c, it.tag = nil, nil
		k.free = append(k.free, it)
		c.taken()
		return c
	}
	return nil
}

// put saves c at the front of the queue (ngx_http_upstream_free_keepalive_peer).
// When no slot is free the least recently saved connection is removed and
// returned for the caller to close (LRU eviction). Called with the mutex held.
func (k *kaCache) put(c *upConn, tag any) (evicted *upConn) {
	var it *cacheItem
	if n := len(k.free); n > 0 {
		it = k.free[n-1]
		k.free = k.free[:n-1]
	} else {
		it = k.head.prev
		k.unlink(it)
		evicted = it.c
		evicted.taken()
	}
	it.c, it.tag = c, tag
	k.pushFront(it)
	c.state = connIdle
	c.item = it
	c.watching = false
	return evicted
}

// taken marks a connection removed from the cache. Mutex held.
func (c *upConn) taken() {
	c.state = connTaken
	c.item = nil
	c.watched = c.watching
	c.watching = false
}

// drain removes every idle connection (worker exit). Mutex held.
func (k *kaCache) drain() []*upConn {
	var out []*upConn
	for it := k.head.next; it != &k.head; {
		next := it.next
		c := it.c
		k.unlink(it)
		it.c, it.tag = nil, nil
		k.free = append(k.free, it)
		c.taken()
		out = append(out, c)
		it = next
	}
	return out
}

// startWatch arms the idle handling of a connection just saved in the
// cache (idleSince set): any read event closes it
// (ngx_http_upstream_keepalive_close_handler), and so does the idle
// timeout. The group's sweep timer is moved only when this connection is
// due before every other one, which under load it never is. Called with
// the group mutex held.
func (g *group) startWatch(c *upConn) {
	wait := min(watchDelay, g.up.keepalive.timeout)
	due := c.idleSince.Add(wait)
	if !g.sweepAt.IsZero() && !due.Before(g.sweepAt) {
		return
	}
	g.sweepAt = due
	if g.sweeper == nil {
		g.sweeper = time.AfterFunc(wait, g.sweep)
	} else {
		g.sweeper.Reset(wait)
	}
}

// sweep starts a watcher for every cached connection idle for
// watchDelay (or its keep-alive timeout, if shorter) and re-arms itself
// for the next one due.
func (g *group) sweep() {
	wait := min(watchDelay, g.up.keepalive.timeout)
	g.mu.Lock()
	now := time.Now()
	g.sweepAt = time.Time{}
	var next time.Time
	var start []*upConn
	if g.cache != nil {
		for it := g.cache.head.next; it != &g.cache.head; it = it.next {
			c := it.c
			if c.watching {
				continue
			}
			if due := c.idleSince.Add(wait); due.After(now) {
				if next.IsZero() || due.Before(next) {
					next = due
				}
				continue
			}
			c.watching = true
			c.watchDone = make(chan struct{})
			c.watchErr = nil
			c.setReadDeadline(c.idleSince.Add(g.up.keepalive.timeout))
			g.w.watchers.Add(1)
			start = append(start, c)
		}
	}
	if !next.IsZero() {
		g.sweepAt = next
		g.sweeper.Reset(next.Sub(now))
	}
	g.mu.Unlock()
	for _, c := range start {
		go g.watch(c, c.watchDone)
	}
}

func (g *group) watch(c *upConn, done chan struct{}) {
	defer g.w.watchers.Done()
	var b [1]byte
	_, err := c.nc.Read(b[:])
	if err == nil {
		err = errUnexpectedData
	}
	g.mu.Lock()
	if c.state == connIdle {
		// The event arrived while the connection sat in the cache.
		it := c.item
		g.cache.unlink(it)
		it.c, it.tag = nil, nil
		g.cache.free = append(g.cache.free, it)
		c.taken()
		c.watched = false // this goroutine is the watcher
		g.mu.Unlock()
		close(done)
		reason := CloseBackendClosed
		if errors.Is(err, os.ErrDeadlineExceeded) {
			reason = CloseIdleTimeout
		}
		c.pr.stats.Idle.Add(-1)
		g.w.closeConn(g.up, c, reason, err)
		return
	}
	c.watchErr = err
	g.mu.Unlock()
	close(done)
}

var errUnexpectedData = errors.New("unexpected data from upstream on idle keepalive connection")

// armRead arms the read deadline for a wait that must end at deadline,
// keeping an armed deadline a little earlier than that (less than
// min(300 ms, a tenth of the wait)) and still ahead of now: the reader
// waits on when it fires (nginx likewise leaves a timer alone that would
// move by less than NGX_TIMER_LAZY_DELAY). A connection serving request
// after request then moves its timer now and then, not every time.
func (c *upConn) armRead(deadline, now time.Time) {
	if c.rdl.Before(deadline) && c.rdl.After(now) &&
		deadline.Sub(c.rdl) < min(300*time.Millisecond, deadline.Sub(now)/10) {
		return
	}
	c.setReadDeadline(deadline)
}

func (c *upConn) setReadDeadline(t time.Time) {
	_ = c.nc.SetReadDeadline(t)
	c.rdl = t
}

// settle ends the idle handling of a connection removed from the cache and
// reports whether it is still usable: a read event that arrived before the
// removal means the connection is gone, as if nginx had handled that event
// first. Call it after take, without the group mutex.
func (c *upConn) settle() error {
	if !c.watched {
		return c.sock.probe()
	}
	c.watched = false
	_ = c.nc.SetReadDeadline(time.Unix(1, 0))
	<-c.watchDone
	c.setReadDeadline(time.Time{})
	if c.watchErr != nil && !errors.Is(c.watchErr, os.ErrDeadlineExceeded) {
		return c.watchErr
	}
	return nil
}
