package server

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// loc renders a location block.
func loc(match, path, body string) string {
	return "    location {\n      match = \"" + match + "\"\n      path = \"" + path + "\"\n" + body + "\n    }\n"
}

func ret(code int, text string) string {
	if text == "" {
		return "      return {\n        code = " + itoa(code) + "\n      }\n"
	}
	return "      return {\n        code = " + itoa(code) + "\n        text = \"" + text + "\"\n      }\n"
}

func itoa(n int) string { return strconv.Itoa(n) }

func server(body string) string {
	return "  server {\n    listen {\n      address = \"127.0.0.1:0\"\n    }\n" + body + "  }\n"
}

// keepaliveServer has one location per behaviour under test.
var keepaliveServer = server(
	loc("prefix", "/", "      keepalive_header_timeout = \"9\"\n"+ret(200, "ok")) +
		loc("prefix", "/r", "      keepalive_requests = 3\n"+ret(200, "r")) +
		loc("exact", "/zero", "      keepalive_timeout = \"0\"\n"+ret(200, "z")) +
		loc("exact", "/time", "      keepalive_time = \"300ms\"\n"+ret(200, "t")) +
		loc("exact", "/safari", "      keepalive_disable = [\"safari\"]\n"+ret(200, "s")) +
		loc("exact", "/none", "      keepalive_disable = [\"none\"]\n"+ret(200, "n")) +
		loc("exact", "/500", ret(500, "")) +
		loc("exact", "/500t", ret(500, "text")) +
		loc("exact", "/404", ret(404, "")) +
		loc("exact", "/502", ret(502, "")) +
		loc("exact", "/400", ret(400, "")) +
		loc("exact", "/413", ret(413, "")) +
		loc("exact", "/501", ret(501, "")) +
		loc("exact", "/204", ret(204, "")) +
		loc("exact", "/444", ret(444, "")) +
		loc("exact", "/444r", "      reset_timedout_connection = true\n"+ret(444, "")) +
		loc("exact", "/408", "      reset_timedout_connection = true\n"+ret(408, "")) +
		loc("exact", "/ep500", "      error_page {\n        codes = [500]\n        uri = \"/\"\n      }\n"+ret(500, "")))

func TestKeepaliveRequests(t *testing.T) {
	s := start(t, instHCL("", keepaliveServer))
	// Sequential: responses 1 and 2 keep-alive, the 3rd says close, then FIN.
	// [V1.22 checked] with keepalive_requests 3.
	cl := dial(t, s.addr)
	expectConn(t, cl.get("/r"), "keep-alive")
	expectConn(t, cl.get("/r"), "keep-alive")
	expectConn(t, cl.get("/r"), "close")
	cl.expectEnd("fin", 0, 300*time.Millisecond)

	// Pipelined: 5 requests in one write, 3 answered, then the close.
	cl = dial(t, s.addr)
	cl.send(strings.Repeat("GET /r HTTP/1.1\r\nHost: t\r\n\r\n", 5))
	for i, want := range []string{"keep-alive", "keep-alive", "close"} {
		r := cl.read(false)
		if got := r.header("Connection"); got != want {
			t.Fatalf("pipelined response %d: Connection %q, want %q", i+1, got, want)
		}
	}
	how, data, _ := cl.end(time.Second)
	if how == "open" || data != "" {
		t.Fatalf("after the 3rd response: %s %q", how, data)
	}
	cl.c.Close() // the server lingers until the client closes
	st := waitStats(t, s, func(st Stats) bool { return closes(st, ReasonKeepaliveRequests) == 2 })
	if closeHeaders(st, ReasonKeepaliveRequests) != 2 {
		t.Errorf("close headers: %v", st.Listeners)
	}
}

func TestKeepaliveInitialFlag(t *testing.T) {
	s := start(t, instHCL("", keepaliveServer))
	cases := []struct {
		req, conn string
		reason    Reason
	}{
		{"GET / HTTP/1.1\r\nHost: t\r\n\r\n", "keep-alive", ReasonNone},
		{"GET / HTTP/1.0\r\n\r\n", "close", ReasonHTTP10},
		{"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", "keep-alive", ReasonNone},
		{"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", "close", ReasonClientClose},
		// Substring match, close wins in a line, the last line wins. [V1.22 checked]
		{"GET / HTTP/1.1\r\nHost: t\r\nConnection: keep-alive, close\r\n\r\n", "close", ReasonClientClose},
		{"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\nConnection: keep-alive\r\n\r\n", "keep-alive", ReasonNone},
		{"GET / HTTP/1.1\r\nHost: t\r\nConnection: xclosex\r\n\r\n", "close", ReasonClientClose},
		{"GET / HTTP/1.1\r\nHost: t\r\nConnection: upgrade\r\n\r\n", "keep-alive", ReasonNone},
	}
	for _, c := range cases {
		cl := dial(t, s.addr)
		cl.send(c.req)
		r := cl.read(false)
		expectConn(t, r, c.conn)
		if c.conn == "close" {
			cl.expectEnd("fin", 0, 300*time.Millisecond)
		} else {
			if r.header("Keep-Alive") != "timeout=9" {
				t.Errorf("%q: Keep-Alive %q", c.req, r.header("Keep-Alive"))
			}
			cl.expectOpen(50 * time.Millisecond)
		}
	}
	st := s.Stats()
	if closeHeaders(st, ReasonHTTP10) != 1 || closeHeaders(st, ReasonClientClose) != 3 {
		t.Errorf("close header reasons: %v", st.Listeners)
	}
}

func TestKeepaliveTimeoutZeroAndHeader(t *testing.T) {
	s := start(t, instHCL("", keepaliveServer))
	cl := dial(t, s.addr)
	r := cl.get("/zero")
	expectConn(t, r, "close")
	if r.has("Keep-Alive") {
		t.Error("Keep-Alive header on a close response")
	}
	cl.expectEnd("fin", 0, 300*time.Millisecond)
	waitStats(t, s, func(st Stats) bool { return closes(st, ReasonKeepaliveOff) == 1 })
}

func TestKeepaliveTime(t *testing.T) {
	// keepalive_time is checked when a request starts, not while idle: the
	// first request after the limit is served with close.
	s := start(t, instHCL("", keepaliveServer))
	cl := dial(t, s.addr)
	expectConn(t, cl.get("/time"), "keep-alive")
	expectConn(t, cl.get("/time"), "keep-alive")
	time.Sleep(350 * time.Millisecond)
	cl.expectOpen(10 * time.Millisecond)
	r := cl.get("/time")
	expectStatus(t, r, 200)
	expectConn(t, r, "close")
	cl.expectEnd("fin", 0, 300*time.Millisecond)
	waitStats(t, s, func(st Stats) bool { return closes(st, ReasonKeepaliveTime) == 1 })
}

func TestKeepaliveDisable(t *testing.T) {
	s := start(t, instHCL("", keepaliveServer))
	const msie5 = "User-Agent: Mozilla/4.0 (compatible; MSIE 5.0; Windows 98)\r\n"
	const safari = "User-Agent: Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15\r\n"
	cases := []struct {
		method, path, ua, conn string
	}{
		{"POST", "/", msie5, "close"}, // default keepalive_disable msie6
		{"GET", "/", msie5, "keep-alive"},
		{"POST", "/", "User-Agent: Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1; SV1)\r\n", "keep-alive"},
		{"POST", "/none", msie5, "keep-alive"},
		{"GET", "/", safari, "keep-alive"},
		{"GET", "/safari", safari, "close"},
		{"POST", "/safari", msie5, "keep-alive"}, // "safari" replaces the default msie6
	}
	for _, c := range cases {
		cl := dial(t, s.addr)
		cl.send(c.method + " " + c.path + " HTTP/1.1\r\nHost: t\r\n" + c.ua + "Content-Length: 0\r\n\r\n")
		r := cl.read(false)
		if got := r.header("Connection"); got != c.conn {
			t.Errorf("%s %s %q: Connection %q, want %q", c.method, c.path, c.ua, got, c.conn)
		}
	}
	waitStats(t, s, func(st Stats) bool { return closes(st, ReasonDisabledAgent) == 2 })
}

func TestSpecialResponseStatuses(t *testing.T) {
	// [V1.22 checked]: "return 500;" closes, "return 500 text;" does not;
	// 404 and 502 keep the connection; error_page for 500 still closes.
	s := start(t, instHCL("", keepaliveServer))
	cases := []struct {
		path   string
		status int
		conn   string
	}{
		{"/500", 500, "close"}, {"/500t", 500, "keep-alive"}, {"/404", 404, "keep-alive"},
		{"/502", 502, "keep-alive"}, {"/400", 400, "close"}, {"/413", 413, "close"},
		{"/501", 501, "close"}, {"/204", 204, "keep-alive"}, {"/ep500", 500, "close"},
	}
	for _, c := range cases {
		cl := dial(t, s.addr)
		r := cl.get(c.path)
		expectStatus(t, r, c.status)
		expectConn(t, r, c.conn)
		if c.conn == "close" {
			cl.expectEnd("fin", 0, 300*time.Millisecond)
		} else {
			cl.expectOpen(30 * time.Millisecond)
		}
	}
	cl := dial(t, s.addr)
	r := cl.get("/500")
	want := "<html>\r\n<head><title>500 Internal Server Error</title></head>\r\n<body>\r\n<center><h1>500 Internal Server Error</h1></center>\r\n<hr><center>nginx/1.22.1</center>\r\n</body>\r\n</html>\r\n"
	if r.body != want || r.header("Content-Type") != "text/html" {
		t.Errorf("500 page: %q %v", r.body, r.headers)
	}
	// error_page 500 -> "/" serves "ok" with the 500 status and close.
	cl = dial(t, s.addr)
	r = cl.get("/ep500")
	if r.body != "ok" {
		t.Errorf("error_page body %q", r.body)
	}
	waitStats(t, s, func(st Stats) bool { return closes(st, ReasonErrorStatus) == 7 })
}

func TestReturn444And408(t *testing.T) {
	s := start(t, instHCL("", keepaliveServer))
	// [V1.22 checked]: 444 FIN, with reset_timedout_connection RST; 408 FIN
	// and never RST, both without a byte of response.
	for _, c := range []struct{ path, end string }{{"/444", "fin"}, {"/444r", "rst"}, {"/408", "fin"}} {
		cl := dial(t, s.addr)
		cl.send("GET " + c.path + " HTTP/1.1\r\nHost: t\r\n\r\n")
		how, data, _ := cl.end(time.Second)
		if how != c.end || data != "" {
			t.Errorf("%s: ended %s with %q, want %s and nothing", c.path, how, data, c.end)
		}
	}
	st := waitStats(t, s, func(st Stats) bool { return closes(st, ReasonReturn444) == 2 && closes(st, ReasonReturn408) == 1 })
	for _, l := range st.Listeners {
		if l.Resets != 1 {
			t.Errorf("resets %d", l.Resets)
		}
	}
}

func TestServerLevelReturnSkipsLocationVetoes(t *testing.T) {
	// A server-level return runs before any location: keepalive_timeout 0
	// and keepalive_requests are never checked, so the header says
	// keep-alive and the connection still closes. [V1.22 checked]
	src := instHCL("", `  server {
    listen {
      address = "127.0.0.1:0"
    }
    return {
      code = 200
      text = "srv"
    }
    unmatched {
      keepalive_timeout = "0"
      keepalive_requests = 1
    }
  }
`)
	s := start(t, src)
	cl := dial(t, s.addr)
	r := cl.get("/")
	expectConn(t, r, "keep-alive")
	if r.body != "srv" {
		t.Errorf("body %q", r.body)
	}
	cl.expectEnd("fin", 0, 300*time.Millisecond)
	waitStats(t, s, func(st Stats) bool { return closes(st, ReasonKeepaliveOff) == 1 })
}

func TestIdleTimeout(t *testing.T) {
	// The idle timer closes with FIN even with reset_timedout_connection.
	s := start(t, instHCL("", server(loc("prefix", "/", "      keepalive_timeout = \"300ms\"\n      reset_timedout_connection = true\n"+ret(200, "ok")))))
	cl := dial(t, s.addr)
	expectConn(t, cl.get("/"), "keep-alive")
	cl.expectEnd("fin", 250*time.Millisecond, 600*time.Millisecond)
	waitStats(t, s, func(st Stats) bool { return closes(st, ReasonIdleTimeout) == 1 })
}

func TestHTTP09AndHEAD(t *testing.T) {
	s := start(t, instHCL("", keepaliveServer))
	cl := dial(t, s.addr)
	cl.send("GET /\r\n")
	how, data, _ := cl.end(time.Second)
	if how != "fin" || data != "ok" {
		t.Errorf("HTTP/0.9: %s %q, want body only then FIN", how, data)
	}
	cl = dial(t, s.addr)
	cl.send("HEAD / HTTP/1.1\r\nHost: t\r\n\r\n")
	r := cl.read(true)
	expectConn(t, r, "keep-alive")
	if r.header("Content-Length") != "2" {
		t.Errorf("HEAD Content-Length %q", r.header("Content-Length"))
	}
	r = cl.get("/")
	if r.body != "ok" {
		t.Errorf("after HEAD: %q", r.body)
	}
}
