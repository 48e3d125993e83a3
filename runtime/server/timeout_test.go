package server

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func headerTimeoutServer(reset string) string {
	return instHCL("", `  server {
    listen {
      address = "127.0.0.1:0"
    }
    client_header_timeout = "300ms"
    unmatched {
      reset_timedout_connection = `+reset+`
    }
`+loc("prefix", "/", ret(200, "ok"))+`  }
`)
}

// TestHeaderTimeout: no 408 is ever sent. Waiting for the first byte ends
// with FIN whatever reset_timedout_connection says; a partial head ends
// with RST when it is on. The timer runs from accept for the first request
// and is not re-armed by progress. [V1.22 checked]
func TestHeaderTimeout(t *testing.T) {
	s := start(t, headerTimeoutServer("true"))
	cl := dial(t, s.addr)
	cl.expectEnd("fin", 250*time.Millisecond, 700*time.Millisecond)

	cl = dial(t, s.addr)
	cl.send("GET / HTTP/1.1\r\n")
	cl.expectEnd("rst", 250*time.Millisecond, 700*time.Millisecond)

	// Progress does not extend the timer.
	cl = dial(t, s.addr)
	begin := time.Now()
	cl.send("GET / HTTP/1.1\r\n")
	how := ""
	for i := 0; i < 25 && how == ""; i++ { // 2.5s of progress, a line every 100ms
		if _, err := cl.c.Write([]byte("X-A: 1\r\n")); err != nil {
			how = "fin"
			if isReset(err) {
				how = "rst" // the write consumed the reset
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	if how == "" {
		how, _, _ = cl.end(time.Second)
	}
	// With a timer re-armed by progress the head would still be open
	// after 2.5s; the 300ms timer leaves room for a loaded machine.
	if el := time.Since(begin); how != "rst" || el > 1500*time.Millisecond {
		t.Errorf("slow head: %s after %v", how, el)
	}
	waitStats(t, s, func(st Stats) bool { return closes(st, ReasonHeaderTimeout) == 3 })

	s2 := start(t, headerTimeoutServer("false"))
	cl = dial(t, s2.addr)
	cl.send("GET / HTTP/1.1\r\n")
	cl.expectEnd("fin", 250*time.Millisecond, 700*time.Millisecond)
}

// TestHeaderTimeoutAfterKeepalive: for a later request the timer starts
// when the head stalls, not at the end of the previous response.
func TestHeaderTimeoutAfterKeepalive(t *testing.T) {
	s := start(t, headerTimeoutServer("false"))
	cl := dial(t, s.addr)
	expectStatus(t, cl.get("/"), 200)
	time.Sleep(400 * time.Millisecond) // idle (keepalive_timeout 75s): no header timer
	cl.send("GET / HTTP/1.1\r\n")
	cl.expectEnd("fin", 250*time.Millisecond, 700*time.Millisecond)
}

// readAllHandler reads the whole body and answers with its length.
var readAllHandler = HandlerFunc(func(w *ResponseWriter, r *Request) int {
	b, err := io.ReadAll(r.Body())
	if err != nil {
		return BodyStatus(err)
	}
	w.SetStatus(200)
	w.SetContentLength(int64(len(b)))
	w.Write(b)
	return StatusDone
})

func TestClientBodyTimeout(t *testing.T) {
	for _, c := range []struct{ reset, end string }{{"true", "rst"}, {"false", "fin"}} {
		s := startWith(t, instHCL("", server(loc("prefix", "/", "      client_body_timeout = \"300ms\"\n      reset_timedout_connection = "+c.reset+"\n"))),
			map[string]Handler{"/": readAllHandler})
		cl := dial(t, s.addr)
		cl.send("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc")
		time.Sleep(100 * time.Millisecond)
		cl.send("de") // progress re-arms the body timer
		cl.expectEnd(c.end, 250*time.Millisecond, 700*time.Millisecond)
		waitStats(t, s, func(st Stats) bool { return closes(st, ReasonBodyTimeout) == 1 })
	}
	// A complete body is echoed and the connection stays.
	s := startWith(t, instHCL("", server(loc("prefix", "/", ""))), map[string]Handler{"/": readAllHandler})
	cl := dial(t, s.addr)
	cl.send("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
	r := cl.read(false)
	if r.body != "abcde" {
		t.Errorf("chunked body %q", r.body)
	}
	expectConn(t, r, "keep-alive")
}

func TestSendTimeout(t *testing.T) {
	dir := t.TempDir()
	big := make([]byte, 16<<20)
	if err := os.WriteFile(filepath.Join(dir, "big"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ reset, end string }{{"true", "rst"}, {"false", "fin"}} {
		s := start(t, instHCL("", server(loc("prefix", "/", "      send_timeout = \"300ms\"\n      reset_timedout_connection = "+c.reset+"\n      root = \""+dir+"\"\n"))))
		cl := dial(t, s.addr)
		cl.send("GET /big HTTP/1.1\r\nHost: t\r\n\r\n")
		// Do not read: the server's writes stall, send_timeout fires.
		waitStats(t, s, func(st Stats) bool { return closes(st, ReasonSendTimeout) == 1 })
		how, data, _ := cl.end(2 * time.Second)
		if how != c.end || len(data) == 0 || len(data) >= len(big) {
			t.Errorf("reset=%s: ended %s after %d bytes", c.reset, how, len(data))
		}
		if !strings.HasPrefix(data, "HTTP/1.1 200 OK") {
			t.Errorf("no response head")
		}
	}
}

// TestSendTimeoutFromLastProgress: send_timeout runs from the last write
// that made progress (ngx_http_writer), however the kernel frees socket
// buffer space in between. A client that stops reading for almost three times the
// timeout finds the body truncated, not complete.
func TestSendTimeoutFromLastProgress(t *testing.T) {
	dir := t.TempDir()
	big := make([]byte, 32<<20)
	if err := os.WriteFile(filepath.Join(dir, "big"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/big", "/mem"} {
		t.Run(path, func(t *testing.T) {
			t.Parallel()
			st := "      send_timeout = \"600ms\"\n      root = \"" + dir + "\"\n"
			s := startWith(t, instHCL("", server(loc("prefix", "/", st)+loc("prefix", "/mem", st))),
				map[string]Handler{"/mem": HandlerFunc(func(w *ResponseWriter, r *Request) int {
					w.SetStatus(200)
					w.SetContentLength(int64(len(big)))
					if _, err := w.Write(big); err != nil {
						return StatusError
					}
					return StatusDone
				})})
			cl := dial(t, s.addr)
			cl.send("GET " + path + " HTTP/1.1\r\nHost: t\r\n\r\n")
			// The stall counts from when the server starts writing
			// (copying 32 MB is slow under the race detector).
			cl.c.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := cl.br.ReadString('\n'); err != nil {
				t.Fatalf("%s: no status line: %v", path, err)
			}
			time.Sleep(1600 * time.Millisecond)
			how, data, _ := cl.end(3 * time.Second)
			if how != "fin" || len(data) >= len(big) {
				t.Errorf("%s: ended %s after %d bytes, want a truncated body and FIN", path, how, len(data))
			}
			waitStats(t, s, func(st Stats) bool { return closes(st, ReasonSendTimeout) == 1 })
		})
	}
}
