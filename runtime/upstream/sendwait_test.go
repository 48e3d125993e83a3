package upstream

import (
	"testing"

	"github.com/ngxkeep/ngxkeep/runtime/config"
)

// TestSendRequestNoLostWakeup: the request is written and the response
// awaited in one poller registration (writeAndWait). If the response's
// readiness could be missed, some request would wait for
// proxy_read_timeout and fail with 504. Many sequential exchanges, GETs
// and small POSTs, over a cached connection must all succeed on it.
func TestSendRequestNoLostWakeup(t *testing.T) {
	b := newBackend(t, okHandler("pong"))
	e := newEnv(t, []*config.Upstream{ups("app", ka(4), b.addr())})
	cp := http11("http://app")
	cp.ReadTimeout = "2s"
	p := e.proxy(cp)
	e.start()
	for i := 0; i < 2000; i++ {
		r := get("GET", "/")
		if i%2 == 1 {
			r = post("/", "body")
		}
		res, rec := e.do(p, r)
		if res.Status != 200 || rec.body.String() != "pong" {
			t.Fatalf("request %d: %d %q (%v)", i, res.Status, rec.body.String(), res.Err)
		}
	}
	conns, reqs := b.stats()
	if conns != 2 || len(reqs) != 2000 {
		// keepalive_requests (1000 by default) retires the first
		t.Fatalf("backend saw %d connections, %d requests", conns, len(reqs))
	}
	if string(reqs[1].body) != "body" {
		t.Fatalf("POST body %q", reqs[1].body)
	}
}
