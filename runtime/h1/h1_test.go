package h1

import (
	"bytes"
	"strings"
	"testing"
)

// TestParseHeadMatchesNginx runs malformed and unusual heads through
// ParseHead. The expected statuses are what nginx 1.22.1 answered for the
// same bytes (0 = accepted). [V1.22 checked]
func TestParseHeadMatchesNginx(t *testing.T) {
	cases := []struct {
		name, raw string
		status    int
	}{
		{"simple", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", 0},
		{"leading-crlf", "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 0},
		{"bare-lf", "GET / HTTP/1.1\nHost: a\n\n", 0},
		{"lower-method", "get / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"no-host-11", "GET / HTTP/1.1\r\n\r\n", 400},
		{"no-host-10", "GET / HTTP/1.0\r\n\r\n", 0},
		{"host-space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400},
		{"host-empty", "GET / HTTP/1.1\r\nHost:\r\n\r\n", 400},
		{"host-dotdot", "GET / HTTP/1.1\r\nHost: a..b\r\n\r\n", 400},
		{"host-slash", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400},
		{"host-dup", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
		{"host-port", "GET / HTTP/1.1\r\nHost: a:99\r\n\r\n", 0},
		{"host-onlyport", "GET / HTTP/1.1\r\nHost: :99\r\n\r\n", 400},
		{"host-dot", "GET / HTTP/1.1\r\nHost: .\r\n\r\n", 400},
		{"host-v6", "GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n", 0},
		{"cl-te", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
		{"te-10", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
		{"te-gzip", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501},
		{"te-upper", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: CHUNKED\r\n\r\n0\r\n\r\n", 0},
		{"te-dup", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
		{"cl-dup", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx", 400},
		{"cl-neg", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400},
		{"cl-plus", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\nx", 400},
		{"cl-space", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1 2\r\n\r\n", 400},
		{"cl-empty", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", 400},
		{"cl-huge", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n", 400},
		{"obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n  2\r\n\r\n", 400},
		{"obs-fold-tab", "GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n\t2\r\n\r\n", 400},
		{"name-space", "GET / HTTP/1.1\r\nHost: a\r\nX A: 1\r\n\r\n", 400},
		{"name-colon-space", "GET / HTTP/1.1\r\nHost: a\r\nX-A : 1\r\n\r\n", 400},
		{"name-underscore", "GET / HTTP/1.1\r\nHost: a\r\nX_A: 1\r\n\r\n", 0},
		{"name-dot", "GET / HTTP/1.1\r\nHost: a\r\nX.A: 1\r\n\r\n", 0},
		{"no-colon", "GET / HTTP/1.1\r\nHost: a\r\nXA\r\n\r\n", 0},
		{"leading-colon", "GET / HTTP/1.1\r\nHost: a\r\n: x\r\n\r\n", 400},
		{"nul-value", "GET / HTTP/1.1\r\nHost: a\r\nX-A: a\x00b\r\n\r\n", 400},
		{"ctl-value", "GET / HTTP/1.1\r\nHost: a\r\nX-A: a\x01b\r\n\r\n", 0},
		{"bare-cr", "GET / HTTP/1.1\r\nHost: a\rX-A: 1\r\n\r\n", 400},
		{"http2", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505},
		{"http12", "GET / HTTP/1.2\r\nHost: a\r\n\r\n", 0},
		{"http10", "GET / HTTP/1.0\r\n\r\n", 0},
		{"http09", "GET /\r\n", 0},
		{"http09-post", "POST /\r\n", 400},
		{"http-lower", "GET / http/1.1\r\nHost: a\r\n\r\n", 400},
		{"http-0", "GET / HTTP/0.9\r\nHost: a\r\n\r\n", 400},
		{"http-minor-big", "GET / HTTP/1.999\r\nHost: a\r\n\r\n", 0},
		{"http-minor-1000", "GET / HTTP/1.1000\r\nHost: a\r\n\r\n", 400},
		{"http-leading0", "GET / HTTP/01.1\r\nHost: a\r\n\r\n", 400},
		{"trace", "TRACE / HTTP/1.1\r\nHost: a\r\n\r\n", 405},
		{"connect", "CONNECT a:443 HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"unknown-method", "FOO / HTTP/1.1\r\nHost: a\r\n\r\n", 0},
		{"method-digit", "G1T / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"space-uri", "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"nul-uri", "GET /a\x00b HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"pct-nul", "GET /a%00b HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"pct-bad", "GET /a%zz HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"dotdot-root", "GET /../x HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"dotdot-ok", "GET /a/../x HTTP/1.1\r\nHost: a\r\n\r\n", 0},
		{"abs-uri", "GET http://b.example/ HTTP/1.1\r\nHost: a\r\n\r\n", 0},
		{"abs-uri-nohost", "GET http://b.example/ HTTP/1.1\r\n\r\n", 400},
		{"abs-uri-badhost", "GET http://b..example/ HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"abs-uri-noslash", "GET http://b.example HTTP/1.1\r\nHost: a\r\n\r\n", 0},
		{"star", "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"uri-no-slash", "GET a HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"tab-sep", "GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"two-spaces", "GET  /  HTTP/1.1\r\nHost: a\r\n\r\n", 0},
		{"trailing-space-ver", "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 0},
		{"dup-ims", "GET / HTTP/1.1\r\nHost: a\r\nIf-Modified-Since: x\r\nIf-Modified-Since: y\r\n\r\n", 400},
		{"dup-auth", "GET / HTTP/1.1\r\nHost: a\r\nAuthorization: x\r\nAuthorization: y\r\n\r\n", 400},
		{"dup-expect", "GET / HTTP/1.1\r\nHost: a\r\nExpect: x\r\nExpect: y\r\n\r\n", 400},
		{"dup-ua", "GET / HTTP/1.1\r\nHost: a\r\nUser-Agent: x\r\nUser-Agent: y\r\n\r\n", 0},
		{"dup-host-invalid-first", "GET / HTTP/1.1\r\nHost: a b\r\nHost: c\r\n\r\n", 400},
	}
	opts := HeadOptions{IgnoreInvalid: true, MergeSlashes: true}
	var h Head
	var buf []byte
	for _, c := range cases {
		var res HeadResult
		res, buf = ParseHead([]byte(c.raw), opts, &h, buf)
		if res.Incomplete {
			t.Errorf("%s: incomplete", c.name)
			continue
		}
		if res.Status != c.status {
			t.Errorf("%s: status %d (%s), nginx says %d", c.name, res.Status, res.Reason, c.status)
		}
	}
}

func TestParseRequestLineFields(t *testing.T) {
	var rl RequestLine
	raw := "\r\nGET http://Example.COM:8080/a/b.html?x=1&y HTTP/1.1\r\n"
	n, res := ParseRequestLine([]byte(raw), &rl)
	if res != Done || n != len(raw) {
		t.Fatalf("res %v n %d", res, n)
	}
	if string(rl.MethodName) != "GET" || rl.Method != MethodGET || string(rl.Schema) != "http" ||
		string(rl.Host) != "Example.COM" || string(rl.Port) != "8080" || string(rl.URI) != "/a/b.html?x=1&y" ||
		rl.Version != 1001 || string(rl.Line) != "GET http://Example.COM:8080/a/b.html?x=1&y HTTP/1.1" {
		t.Errorf("fields: %+v", rl)
	}
	u, _, ok := ProcessURI(&rl, true, nil)
	if !ok || string(u.Path) != "/a/b.html" || string(u.Args) != "x=1&y" || string(u.Exten) != "html" {
		t.Errorf("uri: %q %q %q", u.Path, u.Args, u.Exten)
	}
	// Every proper prefix of a valid line asks for more bytes.
	for i := 0; i < len(raw); i++ {
		if _, res := ParseRequestLine([]byte(raw[:i]), &rl); res != Again {
			t.Errorf("prefix %q: %v", raw[:i], res)
		}
	}
	// Only CR/LF seen so far: not started (nginx resets the buffer).
	ParseRequestLine([]byte("\r\n\r\n"), &rl)
	if rl.Started {
		t.Error("CRLF-only input marked started")
	}
	ParseRequestLine([]byte("\r\nG"), &rl)
	if !rl.Started || rl.Start != 2 {
		t.Errorf("started %v start %d", rl.Started, rl.Start)
	}
}

func TestProcessURI(t *testing.T) {
	cases := []struct {
		uri, path, args, ext string
		merge, ok            bool
	}{
		{"/", "/", "", "", true, true},
		{"/a//b", "/a/b", "", "", true, true},
		{"/a//b", "/a//b", "", "", false, true},
		{"/a/./b/../c.txt", "/a/c.txt", "", "txt", true, true},
		{"/a/%2e%2e/b", "/b", "", "", true, true},
		{"/%2F/x", "/x", "", "", true, true},
		{"/a%20b?q=%20", "/a b", "q=%20", "", true, true},
		{"/a%3Fb", "/a?b", "", "", true, true},
		{"/a%25b", "/a%b", "", "", true, true},
		{"/a#frag", "/a", "", "", true, true},
		{"/a/..", "/", "", "", true, true},
		{"/a/.", "/a/", "", "", true, true},
		{"/..", "", "", "", true, false},
		{"/a/../..", "", "", "", true, false},
		{"/%00", "", "", "", true, false},
		{"/%4", "", "", "", true, false},
		{"/x.tar.gz", "/x.tar.gz", "", "gz", true, true},
		{"/.hidden", "/.hidden", "", "", true, true},
		{"/a.b/c", "/a.b/c", "", "", true, true},
		{"/a/../b.c?x#y", "/b.c", "x", "c", true, true},
	}
	for _, c := range cases {
		var rl RequestLine
		if _, res := ParseRequestLine([]byte("GET "+c.uri+" HTTP/1.1\r\n"), &rl); res != Done {
			t.Errorf("%s: %v", c.uri, res)
			continue
		}
		u, _, ok := ProcessURI(&rl, c.merge, nil)
		if ok != c.ok {
			t.Errorf("%s: ok=%v want %v", c.uri, ok, c.ok)
			continue
		}
		if ok && (string(u.Path) != c.path || string(u.Args) != c.args || string(u.Exten) != c.ext) {
			t.Errorf("%s: path %q args %q ext %q; want %q %q %q", c.uri, u.Path, u.Args, u.Exten, c.path, c.args, c.ext)
		}
	}
}

func TestHeadFields(t *testing.T) {
	raw := "POST /x HTTP/1.1\r\nHost: WWW.Example.com.:81\r\nConnection: close\r\nConnection: keep-alive\r\n" +
		"User-Agent: Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)\r\nContent-Length: 12\r\nX_U: 1\r\nExpect: 100-continue\r\n\r\n"
	var h Head
	res, _ := ParseHead([]byte(raw), HeadOptions{IgnoreInvalid: true}, &h, nil)
	if res.Status != 0 || res.N != len(raw) {
		t.Fatalf("%+v", res)
	}
	if string(h.Server) != "www.example.com" || h.Connection != ConnectionKeepAlive || h.ContentLength != 12 ||
		!h.MSIE || !h.MSIE6 || h.Chunked || !h.HasExpect() || len(h.Headers) != 6 {
		t.Errorf("head: server %q conn %v cl %d msie %v/%v headers %d", h.Server, h.Connection, h.ContentLength, h.MSIE, h.MSIE6, len(h.Headers))
	}
	// With ignore_invalid_headers off the underscore header is kept.
	res, _ = ParseHead([]byte(raw), HeadOptions{}, &h, nil)
	if res.Status != 0 || len(h.Headers) != 7 {
		t.Errorf("invalid header not kept: %d", len(h.Headers))
	}
}

func TestUserAgentClasses(t *testing.T) {
	cases := []struct {
		ua                  string
		msie6, safari, chro bool
	}{
		{"Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)", true, false, false},
		{"Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1; SV1)", false, false, false},
		{"Mozilla/4.0 (compatible; MSIE 5.5; Windows 98)", true, false, false},
		{"Mozilla/4.0 (compatible; MSIE 7.0; Windows NT 6.0)", false, false, false},
		{"Opera/9.0 (MSIE 6.0)", false, false, false},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15", false, true, false},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1", false, true, false},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36", false, false, true},
		{"MSIE 6", false, false, false},
	}
	for _, c := range cases {
		var h Head
		h.Reset()
		h.AddHeader([]byte("User-Agent"), []byte(c.ua))
		if h.MSIE6 != c.msie6 || h.Safari != c.safari || h.Chrome != c.chro {
			t.Errorf("%q: msie6 %v safari %v chrome %v", c.ua, h.MSIE6, h.Safari, h.Chrome)
		}
	}
}

func TestChunkedDecoder(t *testing.T) {
	cases := []struct {
		in, data, rest string
		res            ChunkResult
	}{
		{"3\r\nabc\r\n0\r\n\r\nNEXT", "abc", "NEXT", ChunkDone},
		{"3;ext=1\r\nabc\r\n0;x\r\nTrailer: y\r\n\r\n", "abc", "", ChunkDone},
		{"A\nabcdefghij\n0\n\n", "abcdefghij", "", ChunkDone},
		{"3\r\nabcX\r\n", "abc", "", ChunkInvalid},
		{"x\r\n", "", "", ChunkInvalid},
		{"-1\r\n", "", "", ChunkInvalid},
		{"3\rabc", "", "", ChunkInvalid},
		{"3\r\nab", "ab", "", ChunkAgain},
		{"ffffffffffffffff\r\n", "", "", ChunkInvalid},
		{"0\r\n\r", "", "", ChunkAgain},
		{"3\r\n", "", "", ChunkAgain},
	}
	for _, c := range cases {
		data, rest, res := decodeAll([]byte(c.in), len(c.in))
		if res != c.res || string(data) != c.data || string(rest) != c.rest {
			t.Errorf("%q: data %q rest %q res %v; want %q %q %v", c.in, data, rest, res, c.data, c.rest, c.res)
		}
		// Feeding one byte at a time gives the same outcome.
		data1, rest1, res1 := decodeAll([]byte(c.in), 1)
		if res1 != res || !bytes.Equal(data1, data) || !bytes.Equal(rest1, rest) {
			t.Errorf("%q bytewise: data %q rest %q res %v", c.in, data1, rest1, res1)
		}
	}
}

// decodeAll runs a ChunkedDecoder over in, delivered step bytes at a time.
func decodeAll(in []byte, step int) (data, rest []byte, res ChunkResult) {
	var d ChunkedDecoder
	var pending []byte
	for off := 0; off < len(in) || len(pending) > 0; {
		if len(pending) == 0 {
			end := min(off+step, len(in))
			pending = append(pending, in[off:end]...)
			off = end
		}
		for len(pending) > 0 {
			n, r := d.Next(pending)
			pending = pending[n:]
			switch r {
			case ChunkData:
				k := min(int64(len(pending)), d.Remaining())
				data = append(data, pending[:k]...)
				d.Consume(k)
				pending = pending[k:]
				if len(pending) == 0 && off >= len(in) {
					return data, nil, ChunkAgain
				}
			case ChunkDone:
				rest = append(pending, in[off:]...)
				return data, rest, ChunkDone
			case ChunkInvalid:
				return data, nil, ChunkInvalid
			case ChunkAgain:
				if off >= len(in) {
					return data, nil, ChunkAgain
				}
			}
		}
	}
	return data, nil, ChunkAgain
}

func TestErrorPage(t *testing.T) {
	got := string(ErrorPage(494, "nginx/1.22.1", TokensOn, false))
	want := "<html>\r\n<head><title>400 Request Header Or Cookie Too Large</title></head>\r\n<body>\r\n" +
		"<center><h1>400 Bad Request</h1></center>\r\n<center>Request Header Or Cookie Too Large</center>\r\n" +
		"<hr><center>nginx/1.22.1</center>\r\n</body>\r\n</html>\r\n"
	if got != want {
		t.Errorf("494 page:\n%q\nwant\n%q", got, want)
	}
	if len(ErrorPage(500, "nginx/1.22.1", TokensOn, false)) != 177 { // [V1.22 checked]: Content-Length 177
		t.Errorf("500 page length %d", len(ErrorPage(500, "nginx/1.22.1", TokensOn, false)))
	}
	if !strings.Contains(string(ErrorPage(404, "x", TokensOff, true)), "<hr><center>nginx</center>") {
		t.Error("tokens off footer")
	}
	if ErrorPage(204, "x", TokensOn, false) != nil || ErrorPage(418, "x", TokensOn, false) != nil {
		t.Error("pages for codes without one")
	}
	if s := string(AppendStatusLine(nil, 418)); s != "HTTP/1.1 418 \r\n" {
		t.Errorf("status line %q", s)
	}
	if s := string(AppendHTTPDate(nil, 1764157890)); s != "Wed, 26 Nov 2025 11:51:30 GMT" {
		t.Errorf("date %q", s)
	}
}

// TestChunkedSizeLineAtEnd: a size line that ends with the input is not
// reported as a chunk until a data byte is there, as ngx_http_parse_chunked
// returns NGX_OK only then; the server checks client_max_body_size on that
// report, so nginx waits for the first byte of an oversized chunk.
func TestChunkedSizeLineAtEnd(t *testing.T) {
	var d ChunkedDecoder
	if n, r := d.Next([]byte("5\r\nhello\r\n10\r\n")); n != 3 || r != ChunkData {
		t.Fatalf("first chunk: %d %v", n, r)
	}
	d.Consume(5)
	if n, r := d.Next([]byte("\r\n10\r\n")); n != 6 || r != ChunkAgain || d.Remaining() != 0 {
		t.Fatalf("size line at the end: %d %v remaining %d, want 6 ChunkAgain 0", n, r, d.Remaining())
	}
	if n, r := d.Next(nil); n != 0 || r != ChunkAgain || d.Remaining() != 0 {
		t.Fatalf("no input: %d %v remaining %d", n, r, d.Remaining())
	}
	if n, r := d.Next([]byte("x")); n != 0 || r != ChunkData || d.Remaining() != 16 {
		t.Fatalf("first data byte: %d %v remaining %d, want 0 ChunkData 16", n, r, d.Remaining())
	}
}
