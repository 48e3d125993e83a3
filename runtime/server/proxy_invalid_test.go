package server

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// TestProxyInvalidChunkPostponed: an invalid chunk from the upstream ends
// the response as nginx's NGX_ERROR, without a flush. Output its write
// filter still held back (less than postpone_output, 1460 bytes) is lost,
// the head included; more than that went out before the error. Bytes of
// the failing read never leave.
func TestProxyInvalidChunkPostponed(t *testing.T) {
	for _, tc := range []struct {
		first    int  // data bytes in the read before the bad chunk
		buffered bool // proxy_buffering
		want     string
	}{
		{0, true, ""}, {100, true, ""}, {3000, true, "partial"},
		{0, false, ""}, {100, false, "partial"}, {3000, false, "partial"},
	} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			buf := make([]byte, 4096)
			_, _ = c.Read(buf)
			head := "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
			if tc.first > 0 {
				head += fmt.Sprintf("%x\r\n%s\r\n", tc.first, strings.Repeat("d", tc.first))
			}
			c.Write([]byte(head))
			time.Sleep(100 * time.Millisecond)
			c.Write([]byte("3\r\nbad\r\nzz\r\n0\r\n\r\n"))
			_, _ = c.Read(buf) // until the proxy closes
		}()
		extra := ""
		if !tc.buffered {
			extra = "buffering = false"
		}
		s := start(t, proxyInst("1.22.1", ln.Addr().String(), 0, proxyLoc("/", extra, "")))
		cl := dial(t, s.addr)
		cl.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
		how, data, _ := cl.end(2 * time.Second)
		ln.Close()
		<-done
		name := fmt.Sprintf("first %d, buffering %v", tc.first, tc.buffered)
		switch {
		case how != "fin":
			t.Errorf("%s: connection ended with %s, want FIN", name, how)
		case tc.want == "" && data != "":
			t.Errorf("%s: client got %q, want nothing", name, data)
		case tc.want != "" && (!strings.HasPrefix(data, "HTTP/1.1 200 OK") || !strings.Contains(data, strings.Repeat("d", tc.first)) || strings.Contains(data, "bad")):
			t.Errorf("%s: client got %q, want the head and the first read's data only", name, data)
		}
	}
}
