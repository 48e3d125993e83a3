package h1

import (
	"bytes"
	"strconv"
	"testing"
)

// FuzzRequestHead checks that the head parser never panics, that a head it
// accepts or rejects is classified the same whatever prefix it is fed
// (a proper prefix never yields a different verdict than "need more" or the
// final verdict), and that accepted URIs are normalized.
func FuzzRequestHead(f *testing.F) {
	for _, s := range []string{
		"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
		"\r\nGET /a/../b?x=1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
		"POST http://h:80/p HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
		"GET /%2e%2e/x HTTP/1.1\r\nHost: [::1]:8\r\nUser-Agent: MSIE 6.0; x\r\n\r\n",
		"GET /\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n 2\r\n\r\n",
	} {
		f.Add([]byte(s), true, true)
	}
	f.Fuzz(func(t *testing.T, b []byte, merge, ignore bool) {
		opts := HeadOptions{MergeSlashes: merge, IgnoreInvalid: ignore}
		var h Head
		full, _ := ParseHead(b, opts, &h, nil)
		if !full.Incomplete && full.Status == 0 {
			if len(full.URI.Path) == 0 || full.URI.Path[0] != '/' {
				t.Fatalf("accepted path %q does not start with /", full.URI.Path)
			}
			if bytes.Contains(full.URI.Path, []byte("/../")) || bytes.HasSuffix(full.URI.Path, []byte("/..")) {
				t.Fatalf("accepted path %q keeps a .. segment", full.URI.Path)
			}
			if merge && bytes.Contains(full.URI.Path, []byte("//")) {
				t.Fatalf("merged path %q has //", full.URI.Path)
			}
			if full.N > len(b) {
				t.Fatalf("consumed %d of %d", full.N, len(b))
			}
		}
		// Prefixes: "incomplete" or the same verdict once all the bytes
		// that decided it are present.
		step := 1
		if len(b) > 256 {
			step = len(b)/64 + 1 // keep each run linear-ish on big inputs
		}
		for i := 0; i < len(b); i += step {
			var hp Head
			pre, _ := ParseHead(b[:i], opts, &hp, nil)
			if pre.Incomplete {
				continue
			}
			if full.Incomplete {
				t.Fatalf("prefix %d decided (%d %s) but the whole input is incomplete", i, pre.Status, pre.Reason)
			}
			if pre.Status != full.Status {
				t.Fatalf("prefix %d: status %d (%s), whole input: %d (%s)", i, pre.Status, pre.Reason, full.Status, full.Reason)
			}
		}
	})
}

// FuzzChunked checks the chunked decoder: no panics, the same outcome
// whatever the read boundaries, and well-formed encodings of arbitrary data
// decode to that data with the following bytes left intact.
func FuzzChunked(f *testing.F) {
	f.Add([]byte("3\r\nabc\r\n0\r\n\r\n"), []byte("hello"), uint8(3), uint8(2))
	f.Add([]byte("1;a=b\nx\n0\nT: v\n\nGET"), []byte(""), uint8(1), uint8(0))
	f.Fuzz(func(t *testing.T, raw, payload []byte, step, csize uint8) {
		st := int(step%16) + 1
		d1, r1, res1 := decodeAll(raw, len(raw)+1)
		d2, r2, res2 := decodeAll(raw, st)
		if res1 != res2 || !bytes.Equal(d1, d2) || !bytes.Equal(r1, r2) {
			t.Fatalf("split %d changes the result: %v %q %q vs %v %q %q", st, res1, d1, r1, res2, d2, r2)
		}
		// Encode payload with chunks of csize bytes (at least 1).
		cs := int(csize%32) + 1
		var enc []byte
		for off := 0; off < len(payload); off += cs {
			end := min(off+cs, len(payload))
			enc = strconv.AppendInt(enc, int64(end-off), 16)
			if csize%3 == 0 {
				enc = append(enc, ";ext=1"...)
			}
			enc = append(enc, "\r\n"...)
			enc = append(enc, payload[off:end]...)
			enc = append(enc, "\r\n"...)
		}
		enc = append(enc, "0\r\n"...)
		if csize%2 == 0 {
			enc = append(enc, "X-T: 1\r\n"...)
		}
		enc = append(enc, "\r\nNEXT"...)
		data, rest, res := decodeAll(enc, st)
		if res != ChunkDone || !bytes.Equal(data, payload) || string(rest) != "NEXT" {
			t.Fatalf("encoded %q: res %v data %q rest %q", enc, res, data, rest)
		}
	})
}

func BenchmarkParseHead(b *testing.B) {
	raw := []byte("GET /index.html?x=1 HTTP/1.1\r\nHost: localhost:8080\r\n" +
		"User-Agent: wrk/4.2.0\r\nAccept: */*\r\nAccept-Encoding: gzip\r\nConnection: keep-alive\r\n\r\n")
	var h Head
	var buf []byte
	opts := HeadOptions{IgnoreInvalid: true, MergeSlashes: true}
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		var res HeadResult
		res, buf = ParseHead(raw, opts, &h, buf)
		if res.Status != 0 || res.Incomplete {
			b.Fatal(res)
		}
	}
}
