package server

import (
	"testing"
	"time"
)

// TestProxyUnbufferedPartialChunkLine: with request buffering off, a
// backend that answers while the client's chunked body has stopped in
// the middle of a chunk-size line gets its answer to the client at once:
// the body reader must not wait for the rest of the line while it holds
// the client connection (nginx reads the body only on read events).
func TestProxyUnbufferedPartialChunkLine(t *testing.T) {
	be := newScriptedBackend(t, func(r beReq) beAction {
		return beAction{resp: "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nSEE", noBody: true}
	})
	s := start(t, proxyInst("1.22.1", be.addr(), 0, proxyLoc("/", "request_buffering = false", "")))
	cl := dial(t, s.addr)
	start := time.Now()
	cl.send("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r")
	r, err := cl.tryRead(false, 3*time.Second)
	if err != nil || r.status != 200 || r.body != "SEE" {
		t.Fatalf("response %+v, %v after %v; want 200 SEE at once", r, err, time.Since(start))
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("response after %v, want at once", d)
	}
}

// TestProxyTruncatedChunkedBody: a client that closes in the middle of a
// chunked body has not sent a request: nothing reaches the upstream
// (nginx: "client prematurely closed connection", no response), with
// request buffering on or off. The bytes that did arrive are never sent
// as a complete body.
func TestProxyTruncatedChunkedBody(t *testing.T) {
	for _, buffering := range []bool{true, false} {
		be := newScriptedBackend(t, answer)
		extra := ""
		if !buffering {
			extra = "request_buffering = false"
		}
		s := start(t, proxyInst("1.22.1", be.addr(), 0, proxyLoc("/", extra, "")))
		cl := dial(t, s.addr)
		cl.send("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel")
		time.Sleep(100 * time.Millisecond)
		cl.c.CloseWrite()
		how, data, _ := cl.end(2 * time.Second)
		if how != "fin" || data != "" {
			t.Errorf("request buffering %v: client got %s %q, want a bare FIN", buffering, how, data)
		}
		// the backend records a request once its body is complete
		if _, reqs := be.counts(); len(reqs) != 0 {
			t.Errorf("request buffering %v: upstream got a complete request: %q body %q", buffering, reqs[0].head, reqs[0].body)
		}
	}
}
