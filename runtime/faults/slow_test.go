package faults

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// slowHCL: 1s header and body timeouts, a proxy location (its body is read
// with client_body_timeout before it is forwarded) and a return location.
func slowHCL(be *backend) string {
	return fmt.Sprintf(`instance "slow" {
  version = "1.22.1"
  upstream "be" {
    server %q {}
  }
  server {
    listen {
      address = "LISTEN"
    }
    client_header_timeout = "1s"
    location {
      match               = "prefix"
      path                = "/"
      client_body_timeout = "1s"
      keepalive_timeout   = "10s"
      proxy {
        pass = "http://be"
      }
    }
  }
}
`, be.addr)
}

// trickle writes b one byte every gap and returns when the peer closed
// (or all is written), with the time that took.
func trickle(c net.Conn, b string, gap time.Duration) (written int, err error) {
	for i := range len(b) {
		if _, err := c.Write([]byte{b[i]}); err != nil {
			return i, err
		}
		time.Sleep(gap)
	}
	return len(b), nil
}

// endOf reads until the connection ends, at most 5s: what was received
// and when the end came, from start.
func endOf(c net.Conn, start time.Time) (string, time.Duration, error) {
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	data, err := io.ReadAll(c)
	return string(data), time.Since(start), err
}

func TestSlowClients(t *testing.T) {
	fds := fdCount()
	be, err := newBackend("be")
	if err != nil {
		t.Fatal(err)
	}
	s := startInstance(t, slowHCL(be))

	t.Run("header trickle is bounded by client_header_timeout in total", func(t *testing.T) {
		// ngx_http_read_request_header arms the timer once: a client
		// sending a byte every 100ms never gets past 1s.
		c, err := net.Dial("tcp", s.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		start := time.Now()
		go trickle(c, "GET / HTTP/1.1\r\nHost: a\r\nX-Slow: "+strings.Repeat("x", 100)+"\r\n\r\n", 100*time.Millisecond)
		got, took, _ := endOf(c, start)
		if got != "" {
			t.Errorf("timeouts send no response (nginx sends no 408), got %q", got)
		}
		if took < 900*time.Millisecond || took > 3*time.Second {
			t.Errorf("closed after %v, want about 1s", took)
		}
	})

	t.Run("stalled body is closed after client_body_timeout", func(t *testing.T) {
		c, err := net.Dial("tcp", s.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, "POST /stall HTTP/1.1\r\nHost: a\r\nX-Req-Id: stall\r\nContent-Length: 10\r\n\r\nab")
		start := time.Now()
		got, took, _ := endOf(c, start)
		if got != "" {
			t.Errorf("timeouts send no response, got %q", got)
		}
		if took < 900*time.Millisecond || took > 3*time.Second {
			t.Errorf("closed after %v, want about 1s", took)
		}
	})

	t.Run("body trickle faster than client_body_timeout completes", func(t *testing.T) {
		// client_body_timeout is between two reads, not a total.
		c, err := net.Dial("tcp", s.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, "POST /trickle HTTP/1.1\r\nHost: a\r\nX-Req-Id: trickle\r\nContent-Length: 4\r\n\r\n")
		start := time.Now()
		if _, err := trickle(c, "abcd", 400*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(3 * time.Second))
		status, err := bufio.NewReader(c).ReadString('\n')
		if err != nil || !strings.HasPrefix(status, "HTTP/1.1 200") {
			t.Errorf("after %v: %q %v", time.Since(start), status, err)
		}
	})

	s.stop(t)
	be.close()
	waitFDs(t, fds)
}
