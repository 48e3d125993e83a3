package server

import (
	"strings"
	"testing"
	"time"
)

func discardServer(extra string) string {
	return instHCL("", server(
		"    unmatched {\n      lingering_timeout = \"300ms\"\n    }\n"+
			loc("prefix", "/", "      lingering_timeout = \"300ms\"\n"+extra+ret(200, "ok"))+
			loc("exact", "/small", "      lingering_timeout = \"300ms\"\n      client_max_body_size = \"10\"\n"+ret(200, "small"))))
}

// TestBodyDiscard follows nginx 1.22.1 on the same requests with
// lingering_timeout 1s (here 300ms). [V1.22 checked]
func TestBodyDiscard(t *testing.T) {
	s := start(t, discardServer(""))

	t.Run("body after the response keeps the connection", func(t *testing.T) {
		cl := dial(t, s.addr)
		cl.send("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n")
		r := cl.read(false)
		expectConn(t, r, "keep-alive")
		time.Sleep(50 * time.Millisecond)
		cl.send("abc")
		expectStatus(t, cl.get("/"), 200)
	})
	t.Run("body never sent", func(t *testing.T) {
		cl := dial(t, s.addr)
		cl.send("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n")
		expectConn(t, cl.read(false), "keep-alive")
		cl.expectEnd("fin", 250*time.Millisecond, 700*time.Millisecond)
	})
	t.Run("chunked body and a pipelined request", func(t *testing.T) {
		cl := dial(t, s.addr)
		cl.send("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n")
		expectConn(t, cl.read(false), "keep-alive")
		expectConn(t, cl.read(false), "keep-alive")
		cl.expectOpen(100 * time.Millisecond)
	})
	t.Run("chunked body in pieces", func(t *testing.T) {
		cl := dial(t, s.addr)
		cl.send("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n")
		expectConn(t, cl.read(false), "keep-alive")
		cl.send("3\r\na")
		time.Sleep(50 * time.Millisecond)
		cl.send("bc\r\n0\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n")
		expectStatus(t, cl.read(false), 200)
	})
	t.Run("bad chunk before the response is a 400", func(t *testing.T) {
		cl := dial(t, s.addr)
		cl.send("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
		r := cl.read(false)
		expectStatus(t, r, 400)
		expectConn(t, r, "close")
		how, _, _ := cl.end(time.Second)
		if how == "open" {
			t.Fatal("still open")
		}
	})
	t.Run("bad chunk after the response closes", func(t *testing.T) {
		cl := dial(t, s.addr)
		cl.send("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n")
		expectConn(t, cl.read(false), "keep-alive")
		time.Sleep(100 * time.Millisecond)
		cl.send("zz\r\n")
		cl.expectEnd("fin", 0, 200*time.Millisecond)
	})
	t.Run("client EOF while discarding closes", func(t *testing.T) {
		cl := dial(t, s.addr)
		cl.send("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc")
		expectConn(t, cl.read(false), "keep-alive")
		cl.c.CloseWrite()
		cl.expectEnd("fin", 0, 200*time.Millisecond)
	})
	t.Run("413 waits for the body up to lingering_timeout", func(t *testing.T) {
		cl := dial(t, s.addr)
		cl.send("POST /small HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n")
		r := cl.read(false)
		expectStatus(t, r, 413)
		expectConn(t, r, "close")
		cl.expectEnd("fin", 250*time.Millisecond, 700*time.Millisecond)
	})
	t.Run("CL+TE 400 discards the announced length", func(t *testing.T) {
		cl := dial(t, s.addr)
		cl.send("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n")
		r := cl.read(false)
		expectStatus(t, r, 400)
		expectConn(t, r, "close")
		cl.expectEnd("fin", 250*time.Millisecond, 700*time.Millisecond)
	})
	st := waitStats(t, s, func(st Stats) bool {
		return closes(st, ReasonDiscardTimeout) == 1 && closes(st, ReasonBodyNotDiscarded) == 1 &&
			closes(st, ReasonPeerClosed) >= 1 && closes(st, ReasonBadRequest) == 1 && closes(st, ReasonErrorStatus) == 2
	})
	if closes(st, ReasonErrorStatus) != 2 || closes(st, ReasonBadRequest) != 1 {
		t.Errorf("error_status closes: %v", st.Listeners)
	}
}

func TestBodyDiscardTimeoutReset(t *testing.T) {
	s := start(t, discardServer("      reset_timedout_connection = true\n"))
	cl := dial(t, s.addr)
	cl.send("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n")
	expectConn(t, cl.read(false), "keep-alive")
	cl.expectEnd("rst", 250*time.Millisecond, 700*time.Millisecond)
}

// TestExpectContinue: nginx answers "100 Continue" when it starts reading
// or discarding a body, even with Content-Length 0, and never before an
// error page. [V1.22 checked]
func TestExpectContinue(t *testing.T) {
	s := start(t, discardServer(""))
	cl := dial(t, s.addr)
	cl.send("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n")
	r := cl.read(false)
	expectStatus(t, r, 100)
	r = cl.read(false)
	expectStatus(t, r, 200)
	cl.send("abc")
	expectStatus(t, cl.get("/"), 200)

	cl = dial(t, s.addr)
	cl.send("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nExpect: 100-continue\r\n\r\n")
	expectStatus(t, cl.read(false), 100)
	expectStatus(t, cl.read(false), 200)

	cl = dial(t, s.addr)
	cl.send("POST /small HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\nExpect: 100-continue\r\n\r\n")
	expectStatus(t, cl.read(false), 413)

	// HTTP/1.0 never gets a 100.
	cl = dial(t, s.addr)
	cl.send("POST / HTTP/1.0\r\nContent-Length: 0\r\nExpect: 100-continue\r\n\r\n")
	expectStatus(t, cl.read(false), 200)
}

// TestPipelining: responses in order, a body between two requests is
// skipped, and the bytes after it are the next request.
func TestPipelining(t *testing.T) {
	s := start(t, discardServer(""))
	cl := dial(t, s.addr)
	reqs := "GET / HTTP/1.1\r\nHost: a\r\n\r\n" +
		"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n0123456789" +
		"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\n\r\n" + strings.Repeat("y", 5000) +
		"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n" +
		"GET /small HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
	cl.send(reqs)
	for i := 0; i < 4; i++ {
		r := cl.read(false)
		if r.status != 200 || r.body != "ok" {
			t.Fatalf("response %d: %s %q", i, r.line, r.body)
		}
		expectConn(t, r, "keep-alive")
	}
	r := cl.read(false)
	if r.body != "small" {
		t.Fatalf("last response %q", r.body)
	}
	expectConn(t, r, "close")
}

// TestPartialPipelinedRequest: a response is never held back while the
// server waits for the rest of a pipelined request.
func TestPartialPipelinedRequest(t *testing.T) {
	s := start(t, discardServer(""))
	cl := dial(t, s.addr)
	cl.send("GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTT")
	expectStatus(t, cl.read(false), 200)
	cl.send("P/1.1\r\nHost: a\r\n\r\n")
	expectStatus(t, cl.read(false), 200)
}

// TestProxyExpectWithoutBody: a proxied request with "Expect:
// 100-continue" and no body still gets "100 Continue" before the
// response, as ngx_http_read_client_request_body tests Expect before it
// looks at the length. [V1.22 checked]
func TestProxyExpectWithoutBody(t *testing.T) {
	be := newScriptedBackend(t, answer)
	s := start(t, proxyInst("1.22.1", be.addr(), 0, proxyLoc("/", "", "")))
	cl := dial(t, s.addr)
	cl.send("GET / HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n\r\n")
	expectStatus(t, cl.read(false), 100)
	r := cl.read(false)
	expectStatus(t, r, 200)
	expectConn(t, r, "keep-alive")
	// Without Expect nothing comes before the response.
	r = cl.get("/")
	expectStatus(t, r, 200)
}
