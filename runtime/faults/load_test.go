package faults

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// outcome is what one client request got.
type outcome struct {
	method   string
	id       string
	status   int  // 0: no response
	closed   bool // the connection ended before any response byte
	reused   bool // sent on a connection that had served a request
	lost     bool // neither a response nor a close within the read timeout
	start    time.Time
	end      time.Time
	connGone bool // the response said Connection: close
}

// load drives workers keep-alive clients against addr until stop is
// closed, each sending GETs and (one in postEvery) POSTs with a unique
// X-Req-Id, and returns every outcome.
func load(addr string, workers, postEvery int, stop <-chan struct{}) []outcome {
	var (
		mu   sync.Mutex
		all  []outcome
		wg   sync.WaitGroup
		next atomic.Int64
	)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var c net.Conn
			var br *bufio.Reader
			served := 0
			defer func() {
				if c != nil {
					c.Close()
				}
			}()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if c == nil {
					var err error
					c, err = net.DialTimeout("tcp", addr, time.Second)
					if err != nil {
						// Refused: the server is gone (shutdown); no
						// request was sent.
						select {
						case <-stop:
							return
						case <-time.After(20 * time.Millisecond):
						}
						c = nil
						continue
					}
					br = bufio.NewReader(c)
					served = 0
				}
				n := next.Add(1)
				o := outcome{method: "GET", id: fmt.Sprintf("w%d-%d", w, n), reused: served > 0, start: time.Now()}
				req := "GET /g HTTP/1.1\r\nHost: faults\r\nX-Req-Id: " + o.id + "\r\n\r\n"
				if postEvery > 0 && i%postEvery == postEvery-1 {
					o.method = "POST"
					req = "POST /p HTTP/1.1\r\nHost: faults\r\nX-Req-Id: " + o.id + "\r\nContent-Length: 5\r\n\r\nhello"
				}
				c.SetDeadline(time.Now().Add(10 * time.Second))
				_, werr := io.WriteString(c, req)
				status, connClose, got, err := readResponse(br)
				o.end = time.Now()
				switch {
				case err == nil:
					o.status = status
					o.connGone = connClose
				case !got && isTimeout(err):
					o.lost = true
				case !got:
					o.closed = true
				default:
					o.lost = isTimeout(err)
					o.closed = !o.lost
				}
				_ = werr
				mu.Lock()
				all = append(all, o)
				mu.Unlock()
				served++
				if err != nil || connClose {
					c.Close()
					c = nil
				}
			}
		}()
	}
	wg.Wait()
	return all
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// readResponse reads one response; got reports whether any byte came.
func readResponse(br *bufio.Reader) (status int, connClose, got bool, err error) {
	line, err := br.ReadString('\n')
	if line != "" {
		got = true
	}
	if err != nil {
		return 0, false, got, err
	}
	f := strings.Fields(line)
	if len(f) < 2 {
		return 0, false, got, fmt.Errorf("bad status line %q", line)
	}
	status, _ = strconv.Atoi(f[1])
	length, chunked := -1, false
	for {
		h, err := br.ReadString('\n')
		if err != nil {
			return 0, false, got, err
		}
		h = strings.TrimRight(h, "\r\n")
		if h == "" {
			break
		}
		name, val, _ := strings.Cut(h, ":")
		val = strings.TrimSpace(val)
		switch strings.ToLower(name) {
		case "content-length":
			length, _ = strconv.Atoi(val)
		case "transfer-encoding":
			chunked = strings.EqualFold(val, "chunked")
		case "connection":
			connClose = strings.EqualFold(val, "close")
		}
	}
	switch {
	case chunked:
		for {
			sz, err := br.ReadString('\n')
			if err != nil {
				return 0, false, got, err
			}
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.SplitN(sz, ";", 2)[0]), 16, 64)
			if _, err := io.CopyN(io.Discard, br, n+2); err != nil {
				return 0, false, got, err
			}
			if n == 0 {
				break
			}
		}
	case length >= 0:
		if _, err := io.CopyN(io.Discard, br, int64(length)); err != nil {
			return 0, false, got, err
		}
	default:
		io.Copy(io.Discard, br)
		connClose = true
	}
	return status, connClose, got, nil
}

// fdCount is the number of open descriptors of this process.
func fdCount() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(ents)
}

// waitFDs waits (up to 2s) for the descriptor count to return to before.
func waitFDs(t *testing.T, before int) {
	deadline := time.Now().Add(2 * time.Second)
	for {
		n := fdCount()
		if n <= before {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("%d descriptors open, %d before the scenario", n, before)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}
