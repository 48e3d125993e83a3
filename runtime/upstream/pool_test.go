package upstream

import (
	"strings"
	"testing"
	"time"

	"github.com/ngxkeep/ngxkeep/runtime/config"
)

func TestReuseRatio(t *testing.T) {
	b := newBackend(t, okHandler("hello"))
	e := newEnv(t, []*config.Upstream{ups("app", ka(16), b.addr())})
	p := e.proxy(http11("http://app"))
	e.start()
	for i := 0; i < 100; i++ {
		res, rec := e.do(p, get("GET", "/x"))
		if res.Status != 200 || rec.body.String() != "hello" || !res.Complete {
			t.Fatalf("request %d: %+v body %q", i, res, rec.body.String())
		}
	}
	conns, reqs := b.stats()
	if conns != 1 || len(reqs) != 100 {
		t.Fatalf("backend saw %d connections for %d requests, want 1 for 100", conns, len(reqs))
	}
	ps := e.peerStats("app", b.addr())
	if ps.Opened.Load() != 1 || ps.Reused.Load() != 99 || ps.Returned.Load() != 100 {
		t.Fatalf("opened %d reused %d returned %d", ps.Opened.Load(), ps.Reused.Load(), ps.Returned.Load())
	}
}

func TestNoKeepaliveWithoutCache(t *testing.T) {
	b := newBackend(t, okHandler("x"))
	e := newEnv(t, []*config.Upstream{ups("app", nil, b.addr())})
	p := e.proxy(http11("http://app"))
	e.start()
	for i := 0; i < 3; i++ {
		e.do(p, get("GET", "/"))
	}
	if conns, _ := b.stats(); conns != 3 {
		t.Fatalf("connections = %d, want 3 (no keepalive directive)", conns)
	}
	if n := e.peerStats("app", b.addr()).Closed[CloseNoKeepalive].Load(); n != 3 {
		t.Fatalf("no_keepalive closes = %d", n)
	}
}

func TestImplicitUpstreamNeverPooled(t *testing.T) {
	b := newBackend(t, okHandler("x"))
	e := newEnv(t, nil)
	p := e.proxy(http11("http://" + b.addr()))
	e.start()
	for i := 0; i < 3; i++ {
		if res, _ := e.do(p, get("GET", "/")); res.Status != 200 {
			t.Fatal(res)
		}
	}
	if conns, _ := b.stats(); conns != 3 {
		t.Fatalf("connections = %d, want 3 for an implicit upstream", conns)
	}
}

func TestVariablePassNamingUpstreamUsesItsPool(t *testing.T) {
	b := newBackend(t, okHandler("x"))
	e := newEnv(t, []*config.Upstream{ups("app", ka(4), b.addr())})
	p := e.proxy(http11("http://$arg_t"))
	e.start()
	for i := 0; i < 5; i++ {
		if res, _ := e.do(p, get("GET", "/?t=app")); res.Status != 200 {
			t.Fatal(res)
		}
	}
	if conns, _ := b.stats(); conns != 1 {
		t.Fatalf("connections = %d, want 1 (variable names the upstream)", conns)
	}
	// a variable naming an address is a temporary upstream: never pooled
	for i := 0; i < 2; i++ {
		if res, _ := e.do(p, get("GET", "/?t="+b.addr())); res.Status != 200 {
			t.Fatal(res)
		}
	}
	if conns, _ := b.stats(); conns != 3 {
		t.Fatalf("connections = %d, want 3", conns)
	}
}

func TestLRUEviction(t *testing.T) {
	for _, tc := range []struct {
		keepalive, wantConns int
	}{{1, 10}, {10, 2}} {
		b1 := newBackend(t, okHandler("1"))
		b2 := newBackend(t, okHandler("2"))
		e := newEnv(t, []*config.Upstream{ups("app", ka(tc.keepalive), b1.addr(), b2.addr())})
		p := e.proxy(http11("http://app"))
		e.start()
		for i := 0; i < 10; i++ {
			if res, _ := e.do(p, get("GET", "/")); res.Status != 200 {
				t.Fatal(res)
			}
		}
		c1, _ := b1.stats()
		c2, _ := b2.stats()
		if c1+c2 != tc.wantConns {
			t.Errorf("keepalive %d: %d connections, want %d", tc.keepalive, c1+c2, tc.wantConns)
		}
		if tc.keepalive == 1 {
			ev := e.peerStats("app", b1.addr()).Closed[CloseEvictedLRU].Load() + e.peerStats("app", b2.addr()).Closed[CloseEvictedLRU].Load()
			if ev != 9 {
				t.Errorf("evicted_lru = %d, want 9", ev)
			}
		}
	}
}

func TestMRUReuseOrder(t *testing.T) {
	// Two concurrent-style connections to one peer: the most recently
	// saved one is reused first.
	b := newBackend(t, okHandler("x"))
	e := newEnv(t, []*config.Upstream{ups("app", ka(4), b.addr())})
	p := e.proxy(http11("http://app"))
	w := e.start()
	g := w.group(p.static)
	// open two connections by holding one while making another
	var x1, x2 exchange
	for _, x := range []*exchange{&x1, &x2} {
		x.w, x.p, x.g, x.up, x.tag = w, p, g, p.static, p
		x.pick.init(g, nil, get("GET", "/").clientIP())
		pr := x.pick.get(unixNow())
		c, err := w.dial(t.Context(), g, pr, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c.requests = 1
		x.c, x.keepalive, x.bodySent = c, true, true
	}
	first, second := x1.c, x2.c
	x1.release(false, CloseNotReusable, nil)
	x2.release(false, CloseNotReusable, nil)
	var x3 exchange
	x3.w, x3.p, x3.g, x3.up, x3.tag = w, p, g, p.static, p
	g.mu.Lock()
	cand := g.cache.take(first.pr.name, x3.tag)
	g.mu.Unlock()
	got := x3.takeCached(first.pr, cand)
	if got != second {
		t.Fatalf("reused connection is not the most recently saved one")
	}
	x3.c, x3.keepalive, x3.bodySent = got, true, true
	g.mu.Lock()
	x3.pick.init(g, nil, get("GET", "/").clientIP())
	x3.pick.current = got.pr
	got.pr.conns++
	g.mu.Unlock()
	x3.release(false, CloseNotReusable, nil)
}

func TestKeepaliveRequests(t *testing.T) {
	b := newBackend(t, okHandler("x"))
	u := ups("app", ka(1), b.addr())
	u.KeepaliveRequests = 3
	e := newEnv(t, []*config.Upstream{u})
	p := e.proxy(http11("http://app"))
	e.start()
	var ids []int
	for i := 0; i < 4; i++ {
		e.do(p, get("GET", "/"))
	}
	_, reqs := b.stats()
	for _, r := range reqs {
		ids = append(ids, r.conn)
	}
	if want := []int{1, 1, 1, 2}; !equalInts(ids, want) {
		t.Fatalf("connection ids %v, want %v", ids, want)
	}
	if _, ok := reqs[2].header("Connection"); ok {
		t.Errorf("the last request on a connection must not carry Connection: close")
	}
	if n := e.peerStats("app", b.addr()).Closed[CloseKeepaliveRequests].Load(); n != 1 {
		t.Fatalf("keepalive_requests closes = %d", n)
	}
}

func TestKeepaliveTimeoutAndTime(t *testing.T) {
	b := newBackend(t, okHandler("x"))
	u1 := ups("idle", ka(1), b.addr())
	u1.KeepaliveTimeout = "150ms"
	u2 := ups("time", ka(1), b.addr())
	u2.KeepaliveTime = "150ms"
	e := newEnv(t, []*config.Upstream{u1, u2})
	pIdle := e.proxy(http11("http://idle"))
	pTime := e.proxy(http11("http://time"))
	e.start()
	conn := func(p *Proxy) int {
		res, _ := e.do(p, get("GET", "/"))
		if res.Status != 200 {
			t.Fatal(res)
		}
		_, reqs := b.stats()
		return reqs[len(reqs)-1].conn
	}
	a := conn(pIdle)
	if conn(pIdle) != a {
		t.Fatal("not reused before the idle timeout")
	}
	waitFor(t, "idle timeout close", func() bool {
		return e.peerStats("idle", b.addr()).Closed[CloseIdleTimeout].Load() == 1
	})
	if conn(pIdle) == a {
		t.Fatal("reused after the idle timeout")
	}
	// keepalive_time is checked on release: an aged idle connection is
	// reused once more, then closed.
	t1 := conn(pTime)
	time.Sleep(200 * time.Millisecond)
	if conn(pTime) != t1 {
		t.Fatal("aged connection not reused once (keepalive_time is checked on release)")
	}
	if conn(pTime) == t1 {
		t.Fatal("connection older than keepalive_time was cached again")
	}
	if n := e.peerStats("time", b.addr()).Closed[CloseKeepaliveTime].Load(); n != 1 {
		t.Fatalf("keepalive_time closes = %d", n)
	}
}

func TestLocalCache(t *testing.T) {
	for _, local := range []bool{false, true} {
		b := newBackend(t, okHandler("x"))
		k := ka(4)
		k.Local = local
		e := newEnv(t, []*config.Upstream{ups("app", k, b.addr())})
		pa := e.proxy(http11("http://app"))
		pb := e.proxy(http11("http://app"))
		e.start()
		for _, p := range []*Proxy{pa, pa, pb, pb, pa} {
			if res, _ := e.do(p, get("GET", "/")); res.Status != 200 {
				t.Fatal(res)
			}
		}
		conns, reqs := b.stats()
		want := 1
		if local {
			want = 2
		}
		if conns != want {
			t.Errorf("local=%v: %d connections, want %d", local, conns, want)
		}
		if local && reqs[4].conn != reqs[0].conn {
			t.Errorf("local: location A's third request did not go back to A's connection")
		}
	}
}

func TestBackendClosesIdle(t *testing.T) {
	b := newBackend(t, okHandler("x"))
	e := newEnv(t, []*config.Upstream{ups("app", ka(4), b.addr())})
	p := e.proxy(http11("http://app"))
	e.start()
	e.do(p, get("GET", "/"))
	b.dropIdle()
	waitFor(t, "backend_closed", func() bool {
		return e.peerStats("app", b.addr()).Closed[CloseBackendClosed].Load() == 1
	})
	if res, _ := e.do(p, get("GET", "/")); res.Status != 200 || len(res.Attempts) != 1 {
		t.Fatalf("after idle drop: %+v", res)
	}
}

func TestShutdownClosesIdleAndStopsCaching(t *testing.T) {
	b := newBackend(t, okHandler("x"))
	e := newEnv(t, []*config.Upstream{ups("app", ka(4), b.addr())})
	p := e.proxy(http11("http://app"))
	w := e.start()
	e.do(p, get("GET", "/"))
	w.Shutdown()
	ps := e.peerStats("app", b.addr())
	if ps.Closed[CloseShutdown].Load() != 1 || ps.Idle.Load() != 0 {
		t.Fatalf("shutdown closes %d idle %d", ps.Closed[CloseShutdown].Load(), ps.Idle.Load())
	}
	e.do(p, get("GET", "/"))
	ps = e.peerStats("app", b.addr())
	if ps.Closed[CloseShutdown].Load() != 2 || ps.Returned.Load() != 1 {
		t.Fatalf("a connection was cached while exiting")
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

var _ = strings.Contains
