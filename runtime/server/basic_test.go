package server

import (
	"testing"
	"time"
)

const basicServer = `
  server {
    listen { address = "127.0.0.1:0" }
    location {
      match = "prefix"
      path = "/"
      return {
        code = 200
        text = "ok\n"
      }
    }
  }`

func TestBasicKeepalive(t *testing.T) {
	s := start(t, instHCL("", basicServer))
	cl := dial(t, s.addr)
	for i := 0; i < 3; i++ {
		r := cl.get("/")
		expectStatus(t, r, 200)
		expectConn(t, r, "keep-alive")
		if r.body != "ok\n" || r.header("Content-Type") != "text/plain" || r.header("Server") != "nginx/1.22.1" {
			t.Fatalf("response %v %q", r.headers, r.body)
		}
	}
	cl.expectOpen(200 * time.Millisecond)
}
