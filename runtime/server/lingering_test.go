package server

import (
	"testing"
	"time"
)

// afterFIN tells whether the server still reads after its FIN (lingering
// close) or has closed the socket: data written to a closed socket is
// answered with RST.
func (cl *client) afterFIN(delay time.Duration) string {
	cl.t.Helper()
	how, _, _ := cl.end(time.Second)
	if how != "fin" {
		cl.t.Fatalf("expected FIN, got %s", how)
	}
	time.Sleep(delay)
	if _, err := cl.c.Write([]byte("more")); err != nil {
		return "closed"
	}
	time.Sleep(50 * time.Millisecond)
	if _, err := cl.c.Write([]byte("more")); err != nil {
		return "closed"
	}
	return "lingering"
}

func lingeringServer(version, mode string) string {
	return "instance \"t\" {\n  version = \"" + version + "\"\n" + server(
		"    unmatched {\n      lingering_timeout = \"1s\"\n    }\n"+
			loc("prefix", "/", "      lingering_timeout = \"1s\"\n      lingering_close = \""+mode+"\"\n"+ret(200, "ok"))) + "}\n"
}

// TestLingeringClose follows the lingering_close table of nginx 1.22.1
// (lingering_timeout 1s). [V1.22 checked]
func TestLingeringClose(t *testing.T) {
	on := start(t, lingeringServer("1.22.1", "on"))
	always := start(t, lingeringServer("1.22.1", "always"))
	off := start(t, lingeringServer("1.22.1", "off"))
	closeReq := "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"

	cl := dial(t, on.addr)
	cl.send(closeReq + "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	expectConn(t, cl.read(false), "close")
	if got := cl.afterFIN(100 * time.Millisecond); got != "lingering" {
		t.Errorf("on, pipelined bytes, data after 100ms: %s", got)
	}

	cl = dial(t, on.addr)
	cl.send(closeReq + "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	cl.read(false)
	if got := cl.afterFIN(1500 * time.Millisecond); got != "closed" {
		t.Errorf("on, pipelined bytes, data after 1.5s: %s", got)
	}

	cl = dial(t, on.addr)
	cl.send(closeReq)
	cl.read(false)
	if got := cl.afterFIN(100 * time.Millisecond); got != "closed" {
		t.Errorf("on, nothing pending: %s", got)
	}

	cl = dial(t, always.addr)
	cl.send(closeReq)
	cl.read(false)
	if got := cl.afterFIN(100 * time.Millisecond); got != "lingering" {
		t.Errorf("always: %s", got)
	}

	// off: close at once, but only after the response, which was held
	// back for the pipelined bytes (ngx_http_finalize_connection closes
	// after the response went out); data sent later draws an RST.
	cl = dial(t, off.addr)
	cl.send(closeReq + "GARBAGE")
	expectConn(t, cl.read(false), "close")
	if got := cl.afterFIN(100 * time.Millisecond); got != "closed" {
		t.Errorf("off: %s", got)
	}
}

// TestLingeringAfterPipelining: since 1.23.4 a connection on which the
// client ever pipelined always closes with lingering close; 1.22 closes at
// once when nothing is pending.
func TestLingeringAfterPipelining(t *testing.T) {
	for _, c := range []struct{ version, want string }{{"1.22.1", "closed"}, {"1.24.0", "lingering"}} {
		s := start(t, lingeringServer(c.version, "on"))
		cl := dial(t, s.addr)
		cl.send("GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n")
		cl.read(false)
		cl.read(false)
		cl.send("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
		expectConn(t, cl.read(false), "close")
		if got := cl.afterFIN(100 * time.Millisecond); got != c.want {
			t.Errorf("%s: %s, want %s", c.version, got, c.want)
		}
	}
}
