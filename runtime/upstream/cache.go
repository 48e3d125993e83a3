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
// before the take, as nginx's event loop would have.
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

	// Guarded by the group's mutex while the connection is in the cache.
	state     uint8
	item      *cacheItem
	idleSince time.Time
	idleTimer *time.Timer // armed while idle until the watcher starts
	watching  bool        // a watcher goroutine is reading the socket
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
// timeout. Called without the group mutex.
func (g *group) startWatch(c *upConn) {
	c.idleTimer.Reset(min(watchDelay, g.up.keepalive.timeout))
}

// idleFired starts watching a connection that stayed idle for watchDelay:
// this goroutine blocks reading it until an event or the idle timeout.
func (g *group) idleFired(c *upConn) {
	g.mu.Lock()
	if c.state != connIdle || c.watching {
		g.mu.Unlock()
		return
	}
	c.watching = true
	c.watchDone = make(chan struct{})
	c.watchErr = nil
	_ = c.nc.SetReadDeadline(c.idleSince.Add(g.up.keepalive.timeout))
	g.w.watchers.Add(1)
	g.mu.Unlock()
	g.watch(c, c.watchDone)
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

// settle ends the idle handling of a connection removed from the cache and
// reports whether it is still usable: a read event that arrived before the
// removal means the connection is gone, as if nginx had handled that event
// first. Call it after take, without the group mutex.
func (c *upConn) settle() error {
	if !c.watched {
		// The timer's function may still run; it finds the connection
		// taken and returns.
		c.idleTimer.Stop()
		return c.sock.probe()
	}
	c.watched = false
	_ = c.nc.SetReadDeadline(time.Unix(1, 0))
	<-c.watchDone
	_ = c.nc.SetReadDeadline(time.Time{})
	if c.watchErr != nil && !errors.Is(c.watchErr, os.ErrDeadlineExceeded) {
		return c.watchErr
	}
	return nil
}
