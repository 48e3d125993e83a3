package server

import (
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestIdleConnectionsHoldNoGoroutine: idle keep-alive connections are
// parked with the worker's idler (no goroutine, no buffers each) and are
// served again when their next request arrives.
func TestIdleConnectionsHoldNoGoroutine(t *testing.T) {
	s := start(t, instHCL("", server(loc("prefix", "/", ret(200, "ok")))))
	const n = 40
	cls := make([]*client, n)
	cls[0] = dial(t, s.addr)
	expectConn(t, cls[0].get("/"), "keep-alive")
	waitStats(t, s, func(st Stats) bool { return st.Workers[0].Idle == 1 })
	base := runtime.NumGoroutine()
	for i := 1; i < n; i++ {
		cls[i] = dial(t, s.addr)
		expectConn(t, cls[i].get("/"), "keep-alive")
	}
	waitStats(t, s, func(st Stats) bool { return st.Workers[0].Idle == n })
	// Each connection is parked once idleGrace has passed.
	g := runtime.NumGoroutine()
	for end := time.Now().Add(2 * time.Second); g > base+n/4 && time.Now().Before(end); g = runtime.NumGoroutine() {
		time.Sleep(10 * time.Millisecond)
	}
	if g > base+n/4 {
		t.Errorf("%d goroutines with %d idle connections, %d with one", g, n, base)
	}
	for i, cl := range cls {
		if r := cl.get("/"); r.body != "ok" {
			t.Fatalf("connection %d, second request: %q", i, r.body)
		}
	}
	waitStats(t, s, func(st Stats) bool { return st.Workers[0].Idle == n })
}

// TestParkedMinTimeoutPhases: a parked connection goes through the
// keepalive_min_timeout phase (not reusable) into the rest of
// keepalive_timeout, is served in either, and closes with FIN when the
// whole keepalive_timeout passed.
func TestParkedMinTimeoutPhases(t *testing.T) {
	src := "instance \"t\" {\n  version = \"1.28.0\"\n" + server(
		loc("prefix", "/", "      keepalive_min_timeout = \"200ms\"\n      keepalive_timeout = \"600ms\"\n"+ret(200, "ok"))) + "}\n"
	s := start(t, src)
	quiet := dial(t, s.addr)
	expectConn(t, quiet.get("/"), "keep-alive")
	begin := time.Now()
	busy := dial(t, s.addr)
	expectConn(t, busy.get("/"), "keep-alive")
	waitStats(t, s, func(st Stats) bool { return st.Workers[0].Idle == 2 && st.Workers[0].Reusable == 0 })
	time.Sleep(350*time.Millisecond - time.Since(begin))
	waitStats(t, s, func(st Stats) bool { return st.Workers[0].Reusable == 2 })
	if r := busy.get("/"); r.body != "ok" {
		t.Fatalf("request in the second phase: %q", r.body)
	}
	quiet.expectEndSince(begin, "fin", 600*time.Millisecond, 600*time.Millisecond+schedSlack)
	waitStats(t, s, func(st Stats) bool { return closes(st, ReasonIdleTimeout) == 1 })
}

// TestParkedConnectionReset: a client that resets a parked connection (its
// net.TCPConn released, see conn.release) gets it closed as peer_closed, and
// one that half-closes gets FIN back, as when the goroutine waited.
func TestParkedConnectionReset(t *testing.T) {
	s := start(t, instHCL("", server(loc("prefix", "/", ret(200, "ok")))))
	rst := dial(t, s.addr)
	expectConn(t, rst.get("/"), "keep-alive")
	fin := dial(t, s.addr)
	expectConn(t, fin.get("/"), "keep-alive")
	time.Sleep(20 * idleGrace)
	rst.c.SetLinger(0)
	rst.c.Close()
	fin.c.CloseWrite()
	fin.expectEnd("fin", 0, 300*time.Millisecond)
	waitStats(t, s, func(st Stats) bool { return closes(st, ReasonPeerClosed) == 2 })
	if logs := s.logs.String(); strings.Count(logs, "reason=peer_closed") != 2 || strings.Count(logs, "client=127.0.0.1:") != 2 {
		t.Errorf("close log:\n%s", logs)
	}
}
