package server

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ngxkeep/ngxkeep/runtime/config"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// logBuffer collects log records for assertions.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

type testServer struct {
	*Instance
	addr string
	logs *logBuffer
}

// start runs an instance from HCL; the listen address "127.0.0.1:0" of the
// first server is the one returned.
func start(t *testing.T, src string) *testServer {
	t.Helper()
	return startWith(t, src, nil)
}

// startWith runs an instance whose locations named in handlers (by path)
// use those handlers.
func startWith(t *testing.T, src string, handlers map[string]Handler) *testServer {
	t.Helper()
	cfg, diags := config.Decode("test.hcl", []byte(src))
	if diags.HasErrors() {
		t.Fatalf("config: %v", diags)
	}
	lb := &logBuffer{}
	log := slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelDebug}))
	opts := Options{Logger: log}
	if handlers != nil {
		opts.Handler = func(l *config.Location, _ *Options) (Handler, error) {
			return handlers[l.Path], nil
		}
	}
	inst, err := New(cfg.Instances[0], opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := inst.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		inst.Shutdown(ctx)
	})
	listen := cfg.Instances[0].Servers[0].Listens[0].Address
	return &testServer{Instance: inst, addr: inst.Addr(listen).String(), logs: lb}
}

// instHCL wraps server blocks into an instance.
func instHCL(extra, servers string) string {
	return fmt.Sprintf("instance \"t\" {\n  version = \"1.22.1\"\n%s\n%s\n}\n", extra, servers)
}

// client is a raw TCP client with deadlines on every read.
type client struct {
	t  *testing.T
	c  *net.TCPConn
	br *bufio.Reader
}

func dial(t *testing.T, addr string) *client {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &client{t: t, c: c.(*net.TCPConn), br: bufio.NewReader(c)}
}

func (cl *client) send(s string) {
	cl.t.Helper()
	cl.c.SetWriteDeadline(time.Now().Add(2 * time.Second))
	if _, err := cl.c.Write([]byte(s)); err != nil {
		cl.t.Fatalf("write: %v", err)
	}
}

type response struct {
	status  int
	line    string
	headers []string // "Name: value" in order
	body    string
}

func (r *response) header(name string) string {
	for _, h := range r.headers {
		n, v, _ := strings.Cut(h, ": ")
		if strings.EqualFold(n, name) {
			return v
		}
	}
	return ""
}

func (r *response) has(name string) bool {
	for _, h := range r.headers {
		n, _, _ := strings.Cut(h, ": ")
		if strings.EqualFold(n, name) {
			return true
		}
	}
	return false
}

// read reads one response; head is true for HEAD requests (no body).
func (cl *client) read(head bool) *response {
	cl.t.Helper()
	r, err := cl.tryRead(head, 3*time.Second)
	if err != nil {
		cl.t.Fatalf("read response: %v", err)
	}
	return r
}

func (cl *client) tryRead(head bool, wait time.Duration) (*response, error) {
	cl.c.SetReadDeadline(time.Now().Add(wait))
	line, err := cl.br.ReadString('\n')
	if err != nil {
		return nil, err
	}
	r := &response{line: strings.TrimRight(line, "\r\n")}
	parts := strings.SplitN(r.line, " ", 3)
	if len(parts) < 2 {
		return nil, fmt.Errorf("bad status line %q", line)
	}
	r.status, _ = strconv.Atoi(parts[1])
	for {
		l, err := cl.br.ReadString('\n')
		if err != nil {
			return nil, err
		}
		l = strings.TrimRight(l, "\r\n")
		if l == "" {
			break
		}
		r.headers = append(r.headers, l)
	}
	if head || r.status == 204 || r.status == 304 || r.status/100 == 1 {
		return r, nil
	}
	switch {
	case r.header("Transfer-Encoding") == "chunked":
		var body []byte
		for {
			l, err := cl.br.ReadString('\n')
			if err != nil {
				return nil, err
			}
			n, _ := strconv.ParseInt(strings.TrimRight(l, "\r\n"), 16, 64)
			if n == 0 {
				cl.br.ReadString('\n')
				break
			}
			b := make([]byte, n+2)
			if _, err := io.ReadFull(cl.br, b); err != nil {
				return nil, err
			}
			body = append(body, b[:n]...)
		}
		r.body = string(body)
	case r.has("Content-Length"):
		n, _ := strconv.Atoi(r.header("Content-Length"))
		b := make([]byte, n)
		if _, err := io.ReadFull(cl.br, b); err != nil {
			return nil, err
		}
		r.body = string(b)
	default:
		b, err := io.ReadAll(cl.br)
		if err != nil && !isReset(err) {
			return nil, err
		}
		r.body = string(b)
	}
	return r, nil
}

// end waits up to wait for the server to end the connection and says how:
// "fin", "rst" or "open". Data received meanwhile is returned too.
func (cl *client) end(wait time.Duration) (string, string, time.Duration) {
	cl.t.Helper()
	start := time.Now()
	cl.c.SetReadDeadline(start.Add(wait))
	data, err := io.ReadAll(cl.br)
	el := time.Since(start)
	switch {
	case err == nil:
		return "fin", string(data), el
	case isReset(err):
		return "rst", string(data), el
	case isTimeoutErr(err):
		return "open", string(data), el
	}
	cl.t.Fatalf("unexpected read error: %v", err)
	return "", "", 0
}

func isReset(err error) bool { return errors.Is(err, syscall.ECONNRESET) }

func isTimeoutErr(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// schedSlack is added to the upper bound of every time window: the tests
// share a loaded machine with other suites, and a late wake-up must not
// read as a wrong timeout. Lower bounds stay exact.
const schedSlack = 400 * time.Millisecond

// expectEnd asserts how and within which window the connection ends.
func (cl *client) expectEnd(want string, min, max time.Duration) {
	cl.t.Helper()
	how, data, el := cl.end(max + schedSlack + 500*time.Millisecond)
	if how != want {
		cl.t.Fatalf("connection ended %s after %v (data %q), want %s", how, el, data, want)
	}
	if want != "open" && (el < min || el > max+schedSlack) {
		cl.t.Fatalf("connection ended %s after %v, want within [%v, %v]", how, el, min, max)
	}
}

// expectOpen asserts the connection stays open for d.
func (cl *client) expectOpen(d time.Duration) {
	cl.t.Helper()
	how, data, _ := cl.end(d)
	if how != "open" || data != "" {
		cl.t.Fatalf("connection ended %s (data %q), want still open", how, data)
	}
	cl.br = bufio.NewReader(cl.c)
}

// get sends a GET and reads the response.
func (cl *client) get(path string, extra ...string) *response {
	cl.t.Helper()
	cl.send("GET " + path + " HTTP/1.1\r\nHost: t\r\n" + strings.Join(extra, "") + "\r\n")
	return cl.read(false)
}

func expectConn(t *testing.T, r *response, want string) {
	t.Helper()
	if got := r.header("Connection"); got != want {
		t.Fatalf("Connection: %q, want %q (%s %v)", got, want, r.line, r.headers)
	}
}

func expectStatus(t *testing.T, r *response, want int) {
	t.Helper()
	if r.status != want {
		t.Fatalf("status %d (%s), want %d; body %q", r.status, r.line, want, r.body)
	}
}

// waitStats polls the instance until cond holds or a second passes.
func waitStats(t *testing.T, s *testServer, cond func(Stats) bool) Stats {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		st := s.Stats()
		if cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("stats condition not met: %+v", st)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// closes returns how many connections closed with reason.
func closes(st Stats, reason Reason) uint64 {
	var n uint64
	for _, l := range st.Listeners {
		n += l.Closes[reason]
	}
	return n
}

func closeHeaders(st Stats, reason Reason) uint64 {
	var n uint64
	for _, l := range st.Listeners {
		n += l.CloseHeaders[reason]
	}
	return n
}

func decodeInstance(t *testing.T, src string) *config.Instance {
	t.Helper()
	cfg, diags := config.Decode("reload.hcl", []byte(src))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return cfg.Instances[0]
}

// expectEndSince is expectEnd with the window measured from since.
func (cl *client) expectEndSince(since time.Time, want string, min, max time.Duration) {
	cl.t.Helper()
	wait := time.Until(since.Add(max + schedSlack + 500*time.Millisecond))
	how, data, _ := cl.end(wait)
	el := time.Since(since)
	if how != want {
		cl.t.Fatalf("connection ended %s after %v (data %q), want %s", how, el, data, want)
	}
	if el < min || el > max+schedSlack {
		cl.t.Fatalf("connection ended %s after %v, want within [%v, %v]", how, el, min, max)
	}
}
