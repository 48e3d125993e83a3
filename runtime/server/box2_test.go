package server

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ngxkeep/ngxkeep/runtime/config"
)

// box2Requests are the requests of the founding scenario with what nginx
// 1.22.1 answers on box2-backend.conf: status line, Connection header and
// body, and the reason the runtime gives for a close. [V1.22 checked] by
// TestBox2AgainstNginx (build tag nginx).
var box2Requests = []struct {
	name, req  string
	line, conn string
	body       string
	reason     Reason
}{
	{"get", "GET / HTTP/1.1\r\nHost: box2\r\n\r\n", "HTTP/1.1 200 OK", "keep-alive", "hello from box2\n", ReasonNone},
	{"small body", "POST /too-big HTTP/1.1\r\nHost: box2\r\nContent-Length: 100\r\n\r\n" + strings.Repeat("a", 100),
		"HTTP/1.1 200 OK", "keep-alive", "accepted\n", ReasonNone},
	{"too big", "POST /too-big HTTP/1.1\r\nHost: box2\r\nContent-Length: 2048\r\n\r\n" + strings.Repeat("a", 2048),
		"HTTP/1.1 413 Request Entity Too Large", "close", "", ReasonErrorStatus},
	{"too big chunked", "POST /too-big HTTP/1.1\r\nHost: box2\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n" + strings.Repeat("a", 2048) + "\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK", "keep-alive", "accepted\n", ReasonNone},
	{"malformed", "GET / HTTP/1.1\r\nHost: box2\r\nBad Header: x\r\n\r\n", "HTTP/1.1 400 Bad Request", "close", "", ReasonBadRequest},
	{"no host", "GET / HTTP/1.1\r\n\r\n", "HTTP/1.1 400 Bad Request", "close", "", ReasonBadRequest},
	{"http10", "GET / HTTP/1.0\r\n\r\n", "HTTP/1.1 200 OK", "close", "hello from box2\n", ReasonHTTP10},
	{"client close", "GET / HTTP/1.1\r\nHost: box2\r\nConnection: close\r\n\r\n", "HTTP/1.1 200 OK", "close", "hello from box2\n", ReasonClientClose},
	{"cl+te", "POST / HTTP/1.1\r\nHost: box2\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n", "HTTP/1.1 400 Bad Request", "close", "", ReasonBadRequest},
}

func loadBox2(t *testing.T) *config.Instance {
	t.Helper()
	src, err := os.ReadFile("testdata/box2-backend.hcl")
	if err != nil {
		t.Fatal(err)
	}
	cfg, diags := config.Decode("testdata/box2-backend.hcl", src)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if d := cfg.Validate(); d.HasErrors() {
		t.Fatal(d)
	}
	inst := cfg.Instances[0]
	inst.Servers[0].Listens[0].Address = "127.0.0.1:0"
	return inst
}

func runInstance(t *testing.T, inst *config.Instance) *testServer {
	t.Helper()
	lb := &logBuffer{}
	s, err := New(inst, Options{Logger: slog.New(slog.NewJSONHandler(lb, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	})
	return &testServer{Instance: s, addr: s.Addr("127.0.0.1:0").String(), logs: lb}
}

// TestBox2Scenario runs the founding scenario's backend and checks every
// response and the reason of every "Connection: close".
func TestBox2Scenario(t *testing.T) {
	s := runInstance(t, loadBox2(t))
	want := map[Reason]uint64{}
	for _, c := range box2Requests {
		cl := dial(t, s.addr)
		cl.send(c.req)
		r := cl.read(false)
		if r.line != c.line || r.header("Connection") != c.conn || (c.body != "" && r.body != c.body) {
			t.Errorf("%s: %s Connection %q body %q", c.name, r.line, r.header("Connection"), r.body)
		}
		if c.conn == "close" {
			want[c.reason]++
			how, _, _ := cl.end(time.Second)
			if how == "open" {
				t.Errorf("%s: left open after Connection: close", c.name)
			}
		} else {
			cl.expectOpen(20 * time.Millisecond)
		}
		cl.c.Close()
	}
	st := waitStats(t, s, func(st Stats) bool {
		for reason, n := range want {
			if closes(st, reason) != n {
				return false
			}
		}
		return true
	})
	for reason, n := range want {
		if got := closeHeaders(st, reason); got != n {
			t.Errorf("Connection: close headers for %s: %d, want %d", reason, got, n)
		}
	}
	if !strings.Contains(s.logs.String(), `"reason":"error_status"`) {
		t.Errorf("no structured close event for the 413: %s", s.logs.String())
	}
	if len(st.Workers) != 2 {
		t.Errorf("workers %d", len(st.Workers))
	}
}

// TestBox2KeepaliveRequests: the scenario with keepalive_requests lowered
// to 3 (10485760 is out of a unit test's reach) closes on the third
// response with reason keepalive_requests.
func TestBox2KeepaliveRequests(t *testing.T) {
	inst := loadBox2(t)
	three := 3
	for _, l := range inst.Servers[0].Locations {
		l.KeepaliveRequests = &three
	}
	s := runInstance(t, inst)
	cl := dial(t, s.addr)
	expectConn(t, cl.get("/"), "keep-alive")
	expectConn(t, cl.get("/"), "keep-alive")
	expectConn(t, cl.get("/"), "close")
	cl.expectEnd("fin", 0, 300*time.Millisecond)
	waitStats(t, s, func(st Stats) bool {
		return closes(st, ReasonKeepaliveRequests) == 1 && closeHeaders(st, ReasonKeepaliveRequests) == 1
	})
}
