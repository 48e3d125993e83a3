package h1

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// conformanceRequests returns the bytes each client connection of the
// conformance scenarios sends (the quoted strings of its "send" steps,
// concatenated per connection), as fuzzing seeds.
func conformanceRequests(tb testing.TB) [][]byte {
	files, _ := filepath.Glob("../../testdata/conformance/*.txtar")
	var out [][]byte
	for _, name := range files {
		src, err := os.ReadFile(name)
		if err != nil {
			tb.Fatal(err)
		}
		conns := map[string][]byte{}
		var order []string
		for _, line := range strings.Split(string(src), "\n") {
			f := strings.Fields(line)
			if len(f) < 3 || f[0] != "send" {
				continue
			}
			rest := strings.TrimSpace(line[strings.Index(line, f[1])+len(f[1]):])
			var data []byte
			for strings.HasPrefix(rest, `"`) {
				q, err := strconv.QuotedPrefix(rest)
				if err != nil {
					break
				}
				s, _ := strconv.Unquote(q)
				data = append(data, s...)
				rest = strings.TrimSpace(rest[len(q):])
			}
			if n, ok := strings.CutPrefix(rest, "body="); ok {
				if size, err := strconv.Atoi(strings.TrimSuffix(n, "k")); err == nil && size <= 64 {
					data = append(data, bytes.Repeat([]byte("x"), size)...)
				}
			}
			if _, seen := conns[f[1]]; !seen {
				order = append(order, f[1])
			}
			conns[f[1]] = append(conns[f[1]], data...)
		}
		for _, c := range order {
			if len(conns[c]) > 0 {
				out = append(out, conns[c])
			}
		}
	}
	return out
}

// FuzzRequestStream reads a connection's bytes as the server does:
// request heads and their bodies (Content-Length or chunked), one after
// the other, until the bytes end or a request is rejected. It checks that
// reading always advances, that an accepted head never has two framings
// (the root of request smuggling: nginx answers 400 to Content-Length with
// Transfer-Encoding), that an accepted chunked body's decoded length never
// exceeds its encoding, and that a head, once complete, is judged the same
// with any bytes after it.
func FuzzRequestStream(f *testing.F) {
	for _, seed := range conformanceRequests(f) {
		f.Add(seed)
	}
	f.Add([]byte("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n"))
	f.Add([]byte("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;a=\"b\"\r\nhello\r\n0\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"))
	f.Add([]byte("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var h Head
		var uriBuf []byte
		total := len(b)
		for requests := 0; len(b) > 0; requests++ {
			if requests > total {
				t.Fatal("no progress")
			}
			var res HeadResult
			res, uriBuf = ParseHead(b, HeadOptions{IgnoreInvalid: true}, &h, uriBuf)
			if res.Incomplete || res.Status != 0 {
				return
			}
			if res.N <= 0 || res.N > len(b) {
				t.Fatalf("head of %d bytes from %d", res.N, len(b))
			}
			// The same head followed by anything is judged the same.
			var h2 Head
			again, _ := ParseHead(append(b[:res.N:res.N], "GARBAGE\x00\r\n"...), HeadOptions{IgnoreInvalid: true}, &h2, nil)
			if again.Status != 0 || again.N != res.N {
				t.Fatalf("head judged %d/%d alone, %d/%d with more bytes", res.Status, res.N, again.Status, again.N)
			}
			if h.Chunked && h.ContentLength >= 0 {
				t.Fatalf("accepted a head with both chunked and Content-Length %d", h.ContentLength)
			}
			if h.hasTE && !h.Chunked {
				t.Fatalf("accepted Transfer-Encoding %q without chunked framing", h.TransferEncoding)
			}
			b = b[res.N:]
			switch {
			case h.Chunked:
				var d ChunkedDecoder
				data := 0
				start := len(b)
				for {
					n, r := d.Next(b)
					b = b[n:]
					switch r {
					case ChunkAgain, ChunkInvalid:
						return
					case ChunkData:
						k := int(min(d.Remaining(), int64(len(b))))
						if k == 0 {
							return
						}
						data += k
						d.Consume(int64(k))
						b = b[k:]
						continue
					}
					break
				}
				if used := start - len(b); data > used {
					t.Fatalf("decoded %d bytes from %d", data, used)
				}
			case h.ContentLength > 0:
				if h.ContentLength > int64(len(b)) {
					return
				}
				b = b[h.ContentLength:]
			}
			if h.Line.Version < 1000 {
				return // HTTP/0.9: the connection ends with the response
			}
		}
	})
}
