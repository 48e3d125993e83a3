package server

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestConnectionPressure: with worker_connections 32 the 29th connection
// makes the worker close the 3 oldest idle keep-alive connections, and so
// on every third connection after. Same pattern as nginx 1.22.1.
// [V1.22 checked]
func TestConnectionPressure(t *testing.T) {
	s := start(t, instHCL("  worker_connections = 32\n", basicOK))
	const slots = 32 - 1 - 1 // the listener and the channel to the master
	var clients []*client
	closedAt := map[int][]int{}
	oldest := 0 // lowest index not seen closed; victims are the oldest
	for i := 0; i < 40; i++ {
		cl := dial(t, s.addr)
		expectStatus(t, cl.get("/"), 200)
		clients = append(clients, cl)
		// Reclaimed connections give their slot back at once and close
		// soon after; wait until every reclaimed one is gone.
		waitStats(t, s, func(st Stats) bool { return st.Workers[0].Connections+st.Workers[0].Free == slots })
		for oldest < len(clients) {
			if how, _, _ := clients[oldest].end(20 * time.Millisecond); how != "fin" {
				break
			}
			closedAt[i] = append(closedAt[i], oldest)
			oldest++
		}
	}
	want := map[int][]int{28: {0, 1, 2}, 31: {3, 4, 5}, 34: {6, 7, 8}, 37: {9, 10, 11}}
	if fmt.Sprint(closedAt) != fmt.Sprint(want) {
		t.Errorf("reclaimed connections: %v, want %v", closedAt, want)
	}
	waitStats(t, s, func(st Stats) bool { return closes(st, ReasonConnectionPressure) == 12 })
}

// TestNoFreeConnections: when every slot is busy (heads in progress are
// not reusable) a new connection is accepted and closed at once.
func TestNoFreeConnections(t *testing.T) {
	s := start(t, instHCL("  worker_connections = 8\n", basicOK))
	for i := 0; i < 6; i++ {
		cl := dial(t, s.addr)
		cl.send("GET / HTTP/1.1\r\n")
	}
	waitStats(t, s, func(st Stats) bool { return st.Workers[0].Active == 6 })
	cl := dial(t, s.addr)
	cl.expectEnd("fin", 0, 300*time.Millisecond)
	waitStats(t, s, func(st Stats) bool { return closes(st, ReasonNoFreeConnections) == 1 })
}

// gate is a handler that blocks until released.
type gate struct {
	entered chan struct{}
	release chan struct{}
	once    sync.Once
}

func newGate() *gate { return &gate{entered: make(chan struct{}, 16), release: make(chan struct{})} }

func (g *gate) Serve(w *ResponseWriter, r *Request) int {
	g.entered <- struct{}{}
	select {
	case <-g.release:
	case <-r.Context().Done():
		return StatusError
	}
	w.SetStatus(200)
	w.SetContentLength(4)
	w.WriteString("slow")
	return StatusDone
}

func (g *gate) open() { g.once.Do(func() { close(g.release) }) }

const gatedServer = `  server {
    listen {
      address = "127.0.0.1:0"
    }
    client_header_timeout = "2s"
    location {
      match = "prefix"
      path = "/"
      return {
        code = 200
        text = "ok"
      }
    }
    location {
      match = "exact"
      path = "/slow"
    }
  }
`

// TestGracefulShutdown: idle keep-alive connections close at once; a
// request in flight finishes with "Connection: close" (1.21.6+); a
// connection that has not sent a byte is not closed and is served once
// with close. [V1.22 checked]
func TestGracefulShutdown(t *testing.T) {
	g := newGate()
	s := startWith(t, instHCL("", gatedServer), map[string]Handler{"/slow": g})
	idle := dial(t, s.addr)
	expectConn(t, idle.get("/"), "keep-alive")
	busy := dial(t, s.addr)
	busy.send("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n")
	<-g.entered
	fresh := dial(t, s.addr)
	waitStats(t, s, func(st Stats) bool { return st.Workers[0].Waiting == 1 })

	done := make(chan error, 1)
	go func() { done <- s.Shutdown(context.Background()) }()

	idle.expectEnd("fin", 0, 300*time.Millisecond)
	if _, err := net.DialTimeout("tcp", s.addr, 200*time.Millisecond); err == nil {
		t.Error("listening socket still accepts after shutdown")
	}
	fresh.expectOpen(200 * time.Millisecond)
	r := fresh.get("/")
	expectStatus(t, r, 200)
	expectConn(t, r, "close")
	fresh.expectEnd("fin", 0, 300*time.Millisecond)

	g.open()
	r = busy.read(false)
	if r.body != "slow" {
		t.Fatalf("in-flight response %q", r.body)
	}
	expectConn(t, r, "close")
	busy.expectEnd("fin", 0, 300*time.Millisecond)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	st := s.Stats()
	if closes(st, ReasonShutdown) != 3 || closeHeaders(st, ReasonShutdown) != 2 {
		t.Errorf("shutdown reasons: %v", st.Listeners)
	}
}

// TestShutdownBefore1216: before 1.21.6 the in-flight response still says
// keep-alive; the connection closes after it anyway.
func TestShutdownBefore1216(t *testing.T) {
	g := newGate()
	src := instHCL("", gatedServer)
	src = src[:len("instance \"t\" {\n  version = \"")] + "1.20.2" + src[len("instance \"t\" {\n  version = \"1.22.1"):]
	s := startWith(t, src, map[string]Handler{"/slow": g})
	busy := dial(t, s.addr)
	busy.send("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n")
	<-g.entered
	done := make(chan error, 1)
	go func() { done <- s.Shutdown(context.Background()) }()
	waitStats(t, s, func(st Stats) bool { return st.Workers[0].Exiting })
	g.open()
	r := busy.read(false)
	expectConn(t, r, "keep-alive")
	busy.expectEnd("fin", 0, 300*time.Millisecond)
	<-done
}

// TestReload: the listening socket is kept, new connections get the new
// configuration, idle ones close with reason reload, the request in flight
// ends with close, and worker_shutdown_timeout closes what remains.
func TestReload(t *testing.T) {
	g := newGate()
	cfgText := instHCL("  worker_shutdown_timeout = \"500ms\"\n", gatedServer)
	s := startWith(t, cfgText, map[string]Handler{"/slow": g})
	idle := dial(t, s.addr)
	expectConn(t, idle.get("/"), "keep-alive")
	busy := dial(t, s.addr)
	busy.send("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n")
	<-g.entered
	waiting := dial(t, s.addr) // no request: survives until the shutdown timeout
	waitStats(t, s, func(st Stats) bool { return st.Workers[0].Waiting == 1 })

	next := decodeInstance(t, instHCL("", server(loc("prefix", "/", ret(200, "v2")))))
	reloaded := time.Now()
	if err := s.Reload(next); err != nil {
		t.Fatal(err)
	}
	idle.expectEnd("fin", 0, 300*time.Millisecond)
	cl := dial(t, s.addr)
	if r := cl.get("/"); r.body != "v2" {
		t.Errorf("after reload: %q", r.body)
	}
	g.open()
	r := busy.read(false)
	expectConn(t, r, "close")
	waiting.expectEndSince(reloaded, "fin", 450*time.Millisecond, 900*time.Millisecond)
	st := waitStats(t, s, func(st Stats) bool { return len(st.Draining) == 0 })
	if closes(st, ReasonReload) != 2 || closeHeaders(st, ReasonReload) != 1 || closes(st, ReasonShutdownTimeout) != 1 {
		t.Errorf("reload reasons: %v", st.Listeners)
	}
}

func TestWorkerProcesses(t *testing.T) {
	s := start(t, instHCL("  worker_processes = 3\n", basicOK))
	for i := 0; i < 20; i++ {
		cl := dial(t, s.addr)
		expectStatus(t, cl.get("/"), 200)
	}
	st := s.Stats()
	if len(st.Workers) != 3 {
		t.Fatalf("workers: %+v", st.Workers)
	}
	total := 0
	for _, w := range st.Workers {
		total += w.Connections
	}
	if total != 20 {
		t.Errorf("connections across workers: %d", total)
	}
}

// TestKeepaliveMinTimeout (1.27.4+): during keepalive_min_timeout a
// connection is not idle, so a graceful shutdown leaves it until the
// minimum has passed.
func TestKeepaliveMinTimeout(t *testing.T) {
	src := "instance \"t\" {\n  version = \"1.28.0\"\n" + server(
		loc("prefix", "/", "      keepalive_min_timeout = \"400ms\"\n"+ret(200, "min"))+
			loc("prefix", "/plain", ret(200, "plain"))) + "}\n"
	s := start(t, src)
	held := dial(t, s.addr)
	expectConn(t, held.get("/"), "keep-alive")
	plain := dial(t, s.addr)
	expectConn(t, plain.get("/plain"), "keep-alive")
	begin := time.Now()
	done := make(chan error, 1)
	go func() { done <- s.Shutdown(context.Background()) }()
	plain.expectEnd("fin", 0, 200*time.Millisecond)
	held.expectEndSince(begin, "fin", 250*time.Millisecond, 600*time.Millisecond)
	<-done
}

func TestGivenListener(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	inst := decodeInstance(t, instHCL("", strings.Replace(basicOK, "127.0.0.1:0", addr, 1)))
	s, err := New(inst, Options{Listeners: map[string]*net.TCPListener{addr: ln.(*net.TCPListener)}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	if got := s.Addr(addr).String(); got != addr {
		t.Fatalf("Addr %s", got)
	}
	cl := dial(t, addr)
	expectStatus(t, cl.get("/"), 200)
}

// TestShutdownTimeoutSparesHeadReaders: when worker_shutdown_timeout
// fires, a request in flight is closed without a response, but a
// connection in the middle of a request head is not: nginx's head reading
// handlers do not look at c->close (ngx_shutdown_timer_handler). Its head
// completed later is not answered (c->error), and the stop waits for it.
// [V1.22 checked]
func TestShutdownTimeoutSparesHeadReaders(t *testing.T) {
	g := newGate()
	s := startWith(t, instHCL("  worker_shutdown_timeout = \"300ms\"\n", gatedServer), map[string]Handler{"/slow": g})
	busy := dial(t, s.addr)
	busy.send("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n")
	<-g.entered
	partial := dial(t, s.addr)
	partial.send("GET / HTTP/1.1\r\nHost: t\r\n")
	waitStats(t, s, func(st Stats) bool { return st.Workers[0].Active == 2 })

	begin := time.Now()
	done := make(chan error, 1)
	go func() { done <- s.Shutdown(context.Background()) }()
	busy.expectEndSince(begin, "fin", 250*time.Millisecond, 800*time.Millisecond)
	partial.expectOpen(400 * time.Millisecond)
	select {
	case <-done:
		t.Fatal("shutdown finished with a head still being read")
	default:
	}
	partial.send("\r\n")
	how, data, _ := partial.end(time.Second)
	if how != "fin" || data != "" {
		t.Errorf("completed head after the shutdown timer: %s %q, want a FIN without a response", how, data)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); closes(st, ReasonShutdownTimeout) != 2 {
		t.Errorf("close reasons: %v", st.Listeners)
	}
}

// TestShutdownTimeoutNoLateResponse: a handler that ignores the canceled
// context and answers after the shutdown timer fired gets nothing out:
// the connection was closed for it (nginx terminates the request).
func TestShutdownTimeoutNoLateResponse(t *testing.T) {
	entered := make(chan struct{}, 1)
	deaf := HandlerFunc(func(w *ResponseWriter, r *Request) int {
		entered <- struct{}{}
		time.Sleep(600 * time.Millisecond)
		w.SetStatus(200)
		w.SetContentLength(4)
		w.WriteString("late")
		return StatusDone
	})
	s := startWith(t, instHCL("  worker_shutdown_timeout = \"200ms\"\n", gatedServer), map[string]Handler{"/slow": deaf})
	cl := dial(t, s.addr)
	cl.send("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n")
	<-entered
	done := make(chan error, 1)
	go func() { done <- s.Shutdown(context.Background()) }()
	how, data, _ := cl.end(2 * time.Second)
	if how == "open" || data != "" {
		t.Errorf("after the shutdown timer: %s %q, want the close without a response", how, data)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestPressureOrderFollowsResponses: the oldest idle connection is the one
// whose response ended first, even when its goroutine comes to wait idle
// after a connection that answered later (nginx makes a connection
// reusable in the handler that wrote its response).
func TestPressureOrderFollowsResponses(t *testing.T) {
	release := make(chan struct{})
	held := make(chan struct{})
	testHookBeforeIdle = func(c *conn) {
		if c.id == 1 && c.requests == 1 {
			close(held)
			<-release
		}
	}
	t.Cleanup(func() { testHookBeforeIdle = nil })
	s := start(t, instHCL("  worker_connections = 16\n", basicOK))
	first := dial(t, s.addr)
	expectStatus(t, first.get("/"), 200)
	<-held
	second := dial(t, s.addr)
	expectStatus(t, second.get("/"), 200)
	waitStats(t, s, func(st Stats) bool { return st.Workers[0].Idle == 1 })
	close(release)
	waitStats(t, s, func(st Stats) bool { return st.Workers[0].Idle == 2 })
	// 16 slots, the listener and the master channel take 2: the 14th
	// connection finds one slot free and reclaims the oldest idle one.
	for i := 0; i < 12; i++ {
		expectStatus(t, dial(t, s.addr).get("/"), 200)
	}
	first.expectEnd("fin", 0, time.Second)
	second.expectOpen(100 * time.Millisecond)
}

// TestShutdownTimeoutTellsPollingHandler: a handler that polls
// ClientClosed (as the proxy does while it waits for an upstream) learns
// of the shutdown timer's close at once and gives up: nginx terminates
// the request on c->close. The client gets no response.
func TestShutdownTimeoutTellsPollingHandler(t *testing.T) {
	entered := make(chan struct{}, 1)
	gaveUp := make(chan time.Time, 1)
	poller := HandlerFunc(func(w *ResponseWriter, r *Request) int {
		entered <- struct{}{}
		for i := 0; i < 300; i++ {
			if r.ClientClosed() {
				gaveUp <- time.Now()
				return StatusClientClosed
			}
			time.Sleep(10 * time.Millisecond)
		}
		return StatusError
	})
	s := startWith(t, instHCL("  worker_shutdown_timeout = \"200ms\"\n", gatedServer), map[string]Handler{"/slow": poller})
	cl := dial(t, s.addr)
	cl.send("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n")
	<-entered
	begin := time.Now()
	done := make(chan error, 1)
	go func() { done <- s.Shutdown(context.Background()) }()
	cl.expectEndSince(begin, "fin", 150*time.Millisecond, 900*time.Millisecond)
	select {
	case at := <-gaveUp:
		if d := at.Sub(begin); d > 900*time.Millisecond {
			t.Errorf("handler learned of the close after %v", d)
		}
	default:
		t.Error("the handler never saw ClientClosed")
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
