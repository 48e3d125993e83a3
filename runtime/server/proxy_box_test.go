package server

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ngxkeep/ngxkeep/runtime/config"
	"github.com/ngxkeep/ngxkeep/runtime/upstream"
)

// box1HCL is the hand-written runtime model of
// testdata/scenarios/box1-frontend.conf (runtime/translate has not landed
// yet): nginx 1.22.1, 2 workers, upstream box2 with keepalive 512,
// HTTP/1.1 with "Connection" cleared and Host $host. %s is BOX2's address.
const box1HCL = `instance "box1" {
  version            = "1.22.1"
  worker_processes   = 2
  worker_connections = 4096

  upstream "box2" {
    server %q {}
    keepalive {
      connections = 512
      enabled     = true
    }
  }

  server {
    listen {
      address = "127.0.0.1:0"
    }
    server_names = [""]

    location {
      match = "prefix"
      path  = "/"
      proxy {
        pass         = "http://box2"
        http_version = "1.1"
        set_header "Connection" {
          value = ""
        }
        set_header "Host" {
          value = "$host"
        }
      }
    }
  }
}
`

// boxChain runs BOX2 (the server's box2 model) and BOX1 in front of it.
func boxChain(t *testing.T) (box1, box2 *testServer) {
	t.Helper()
	box2 = runInstance(t, loadBox2(t))
	cfg, diags := config.Decode("box1.hcl", []byte(fmt.Sprintf(box1HCL, box2.addr)))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	box1 = runInstance(t, cfg.Instances[0])
	return box1, box2
}

// TestBoxChainSequentialReuse: 10,000 sequential GETs through BOX1. A
// client connection is served by one worker, whose cache has the upstream
// connection back before the next request, so BOX1 never holds more than
// one upstream connection per worker, far from keepalive 512. Two 1.22
// defaults both retire connections after 1000 requests: BOX1's client
// keepalive_requests (the client reconnects, maybe to the other worker)
// and the upstream keepalive_requests (the upstream connection is closed
// after its 1000th response). So the run opens exactly 10 upstream
// connections, one after the other. [V1.22 checked]: nginx 1.22.1 as BOX1
// and BOX2 on these configs showed 10 BOX2 connections ($connection) of
// 1000 requests each for the same client.
func TestBoxChainSequentialReuse(t *testing.T) {
	box1, box2 := boxChain(t)
	const n = 10000
	var cl *client
	conns := 0
	for i := 0; i < n; i++ {
		if cl == nil {
			cl = dial(t, box1.addr)
			conns++
		}
		cl.send("GET / HTTP/1.1\r\nHost: box1\r\n\r\n")
		r := cl.read(false)
		if r.status != 200 || r.body != "hello from box2\n" {
			t.Fatalf("request %d: %s %v %q", i, r.line, r.headers, r.body)
		}
		switch r.header("Connection") {
		case "keep-alive":
		case "close":
			if (i+1)%1000 != 0 {
				t.Fatalf("request %d: Connection: close before keepalive_requests", i)
			}
			cl.c.Close()
			cl = nil
		default:
			t.Fatalf("request %d: %v", i, r.headers)
		}
		if (i+1)%1000 == 0 {
			// One client connection's 1000 requests used one upstream
			// connection, and BOX2 holds at most one per BOX1 worker.
			if ps := upstreamTotals(t, box1, "box2"); ps.Opened != int64(i+1)/1000 {
				t.Fatalf("after %d requests: %d upstream connections opened", i+1, ps.Opened)
			}
			waitStats(t, box2, func(st Stats) bool {
				open := 0
				for _, w := range st.Workers {
					open += w.Connections
				}
				return open <= 2
			})
		}
	}
	ps := upstreamTotals(t, box1, "box2")
	t.Logf("%d sequential GETs on %d client connections: %d upstream connection(s) opened, %d reuses, closed %v", n, conns, ps.Opened, ps.Reused, ps.Closed)
	if ps.Opened != n/1000 || ps.Reused != n-n/1000 || ps.Requests != n || ps.Closed["keepalive_requests"] != n/1000 {
		t.Fatalf("counters %+v", ps)
	}
	if got := accepted(box2.Stats().Listeners); got != uint64(ps.Opened) {
		t.Fatalf("BOX2 accepted %d connections, BOX1 opened %d", got, ps.Opened)
	}
	st := waitStats(t, box1, func(st Stats) bool { return closes(st, ReasonKeepaliveRequests) == 10 })
	if closeHeaders(st, ReasonKeepaliveRequests) != 10 {
		t.Errorf("BOX1 close headers %+v", st)
	}
}

func accepted(ls map[string]ListenerStats) uint64 {
	var n uint64
	for _, l := range ls {
		n += l.Accepted
	}
	return n
}

// TestBoxChainTooBig: a large POST to /too-big makes BOX2 answer 413 with
// "Connection: close" (reason error_status, logged); BOX1 passes the 413
// on with the client connection kept alive, and does not cache the
// upstream connection: the next request opens a new one. [V1.22 checked]:
// with nginx 1.22.1 on both boxes the GET, the 413 and the next GET came
// to BOX2 as requests 1 and 2 of one connection, then request 1 of a new
// one, and the client saw "Connection: keep-alive" on the 413.
func TestBoxChainTooBig(t *testing.T) {
	box1, box2 := boxChain(t)
	cl := dial(t, box1.addr)
	expectStatus(t, cl.get("/"), 200)
	cl.send("POST /too-big HTTP/1.1\r\nHost: box1\r\nContent-Length: 4096\r\n\r\n" + strings.Repeat("a", 4096))
	r := cl.read(false)
	expectStatus(t, r, 413)
	expectConn(t, r, "keep-alive")
	if !strings.Contains(r.body, "413 Request Entity Too Large") {
		t.Errorf("body %q", r.body)
	}
	ps := waitUpstream(t, box1, "box2", func(ps upstream.PeerSnapshot) bool {
		return ps.Closed["not_reusable_response"] == 1
	})
	if ps.Opened != 1 || ps.Idle != 0 {
		t.Errorf("BOX1 counters after the 413: %+v", ps)
	}
	st := waitStats(t, box2, func(st Stats) bool { return closes(st, ReasonErrorStatus) == 1 })
	if closeHeaders(st, ReasonErrorStatus) != 1 {
		t.Errorf("BOX2 close headers %+v", st)
	}
	if logs := box2.logs.String(); !strings.Contains(logs, `"reason":"error_status"`) {
		t.Errorf("BOX2 did not log the close reason: %s", logs)
	}
	if logs := box1.logs.String(); !strings.Contains(logs, `"reason":"not_reusable_response"`) {
		t.Errorf("BOX1 did not log the upstream close: %s", logs)
	}

	cl.expectOpen(20 * time.Millisecond)
	expectStatus(t, cl.get("/"), 200)
	ps = upstreamTotals(t, box1, "box2")
	if ps.Opened != 2 || ps.Reused != 1 {
		t.Errorf("BOX1 counters after the next GET: %+v", ps)
	}
}
