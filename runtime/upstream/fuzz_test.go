package upstream

import (
	"bufio"
	"bytes"
	"io"
	"testing"
)

// FuzzResponseHead checks the response-head parser and the body framing:
// no panics, consumed bytes within bounds, a head is never accepted from a
// strict prefix of itself, and decoding the body terminates.
func FuzzResponseHead(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX: y\r\n\r\n",
		"HTTP/1.0 304 Not Modified\r\nConnection: keep-alive\r\n\r\n",
		"HTTP/1.1 101 Switching\nUpgrade: websocket\n\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
		"HTTP/1.1 403.1 Forbidden\r\nHTTP/1.1 200 dup\r\nFoo\r\n\r\n",
		"garbage", "HTTP/9", "HTTP/1.1 2000",
	} {
		f.Add([]byte(s), false, false)
		f.Add([]byte(s), true, true)
	}
	f.Fuzz(func(t *testing.T, data []byte, strict, head bool) {
		h, n, err := parseResponseHead(data, strict)
		if err != nil {
			if h != nil {
				t.Fatal("head returned with an error")
			}
			return
		}
		if n < 0 || n > len(data) {
			t.Fatalf("consumed %d of %d", n, len(data))
		}
		if n > 0 {
			if _, _, perr := parseResponseHead(data[:n-1], strict); perr != errIncomplete {
				t.Fatalf("prefix of a complete head gave %v", perr)
			}
		}
		if h.Chunked && h.ContentLength != -1 {
			t.Fatal("chunked response kept a Content-Length")
		}
		mode := framing(h, head)
		var b bodyReader
		b.reset(bufio.NewReaderSize(bytes.NewReader(data[n:]), 64), mode, h.ContentLength)
		buf := make([]byte, 7)
		total := 0
		for i := 0; i <= len(data)+8; i++ {
			k, err := b.Read(buf)
			total += k
			if err != nil {
				if err == io.EOF && !b.done {
					t.Fatal("EOF before the body was complete")
				}
				break
			}
		}
		if total > len(data)-n {
			t.Fatalf("decoded %d body bytes from %d input bytes", total, len(data)-n)
		}
	})
}
