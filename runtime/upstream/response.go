package upstream

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
)

// ResponseHead is a parsed upstream response head.
type ResponseHead struct {
	// Major and Minor are the status line's version; a response without
	// a valid status line is HTTP/0.9 (0, 9).
	Major, Minor int
	// Status is the status code (200 for HTTP/0.9).
	Status int
	// StatusLine is the code and reason as the upstream sent them
	// ("404 Not Found"); nginx passes it to the client unchanged.
	StatusLine string
	// Header holds every header line in order.
	Header []Field
	// ContentLength is -1 when absent (or for a chunked response).
	ContentLength int64
	// Chunked is set for Transfer-Encoding: chunked.
	Chunked bool
	// ConnectionClose is nginx's headers_in.connection_close: a
	// "Connection" header containing "close", or a status line below
	// HTTP/1.1.
	ConnectionClose bool
	// Upgrade is set when an Upgrade header was present.
	Upgrade bool
}

// errIncomplete means more bytes are needed to finish the head.
var errIncomplete = errors.New("incomplete response head")

// invalidHeaderError is NGX_HTTP_UPSTREAM_INVALID_HEADER with nginx's
// log message.
type invalidHeaderError struct{ msg string }

func (e *invalidHeaderError) Error() string { return e.msg }

func invalidHeader(format string, a ...any) error {
	return &invalidHeaderError{fmt.Sprintf(format, a...)}
}

// parseResponseHead parses a response head at the start of buf
// (ngx_http_parse_status_line, ngx_http_parse_header_line and the
// upstream header handlers). It returns the head and the number of bytes
// it used; errIncomplete when buf ends inside the head. A buffer that does
// not start with a status line is an HTTP/0.9 response of 0 bytes of head.
// strict enables the checks nginx added in 1.23.0 (duplicate or
// conflicting Content-Length/Transfer-Encoding, unknown transfer coding,
// invalid Content-Length are invalid headers); without it nginx 1.22's
// lenient handling applies.
func parseResponseHead(buf []byte, strict bool) (*ResponseHead, int, error) {
	h := &ResponseHead{}
	n, err := parseResponseHeadInto(h, string(buf), strict)
	if err != nil {
		return nil, 0, err
	}
	return h, n, nil
}

// parseResponseHeadInto is parseResponseHead into h, reusing its Header
// slice. Every string of the head is a substring of buf, so one string
// conversion of the buffered bytes serves the whole head.
func parseResponseHeadInto(h *ResponseHead, buf string, strict bool) (int, error) {
	*h = ResponseHead{ContentLength: -1, Header: h.Header[:0]}
	pos, err := parseStatusLine(buf, h)
	if err == errNoStatusLine {
		// "upstream sent no valid HTTP/1.0 header": treated as HTTP/0.9,
		// status 200, the whole input is body, never kept alive.
		*h = ResponseHead{Major: 0, Minor: 9, Status: 200, StatusLine: "200 OK", ContentLength: -1, ConnectionClose: true, Header: h.Header[:0]}
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var haveCL, haveTE bool
	for {
		name, value, n, done, err := parseHeaderLine(buf[pos:])
		if err != nil {
			return 0, err
		}
		pos += n
		if done {
			break
		}
		if name == "" && value == "" && n > 0 && ignoredLine(buf[pos-n:pos]) {
			continue
		}
		h.Header = append(h.Header, Field{Name: name, Value: value})
		switch {
		case len(name) < 7 || len(name) > 17:
			// none of the names below
		case equalLower(name, "content-length"):
			if strict {
				if haveCL {
					return 0, invalidHeader("upstream sent duplicate header line: %q", name+": "+value)
				}
				if haveTE {
					return 0, invalidHeader("upstream sent \"Content-Length\" and \"Transfer-Encoding\" headers at the same time")
				}
			}
			haveCL = true
			h.ContentLength = atoof(value)
			if h.ContentLength < 0 && strict {
				return 0, invalidHeader("upstream sent invalid \"Content-Length\" header: %q", value)
			}
		case equalLower(name, "transfer-encoding"):
			if strict {
				if haveTE {
					return 0, invalidHeader("upstream sent duplicate header line: %q", name+": "+value)
				}
				if haveCL {
					return 0, invalidHeader("upstream sent \"Content-Length\" and \"Transfer-Encoding\" headers at the same time")
				}
				if !equalLower(value, "chunked") {
					return 0, invalidHeader("upstream sent unknown \"Transfer-Encoding\": %q", value)
				}
				h.Chunked = true
			} else if containsFold(value, "chunked") {
				h.Chunked = true
			}
			haveTE = true
		case equalLower(name, "connection"):
			if containsFold(value, "close") {
				h.ConnectionClose = true
			}
		case equalLower(name, "upgrade"):
			h.Upgrade = true
		}
	}
	if h.Chunked {
		h.ContentLength = -1
	}
	if h.Major < 1 || h.Major == 1 && h.Minor < 1 {
		h.ConnectionClose = true
	}
	return pos, nil
}

var errNoStatusLine = errors.New("upstream sent no valid HTTP/1.0 header")

// ignoredLine reports an "HTTP/..." line inside the headers (IIS sends
// duplicate status lines; nginx skips them).
func ignoredLine(line string) bool {
	return len(line) >= 5 && line[:5] == "HTTP/"
}

// parseStatusLine is ngx_http_parse_status_line.
func parseStatusLine(buf string, h *ResponseHead) (int, error) {
	const prefix = "HTTP/"
	for i := 0; i < len(prefix); i++ {
		if i >= len(buf) {
			return 0, errIncomplete
		}
		if buf[i] != prefix[i] {
			return 0, errNoStatusLine
		}
	}
	p := len(prefix)
	next := func() (byte, bool) {
		if p >= len(buf) {
			return 0, false
		}
		c := buf[p]
		p++
		return c, true
	}
	c, ok := next()
	if !ok {
		return 0, errIncomplete
	}
	if c < '1' || c > '9' {
		return 0, errNoStatusLine
	}
	h.Major = int(c - '0')
	for {
		c, ok = next()
		if !ok {
			return 0, errIncomplete
		}
		if c == '.' {
			break
		}
		if c < '0' || c > '9' || h.Major > 99 {
			return 0, errNoStatusLine
		}
		h.Major = h.Major*10 + int(c-'0')
	}
	c, ok = next()
	if !ok {
		return 0, errIncomplete
	}
	if c < '0' || c > '9' {
		return 0, errNoStatusLine
	}
	h.Minor = int(c - '0')
	for {
		c, ok = next()
		if !ok {
			return 0, errIncomplete
		}
		if c == ' ' {
			break
		}
		if c < '0' || c > '9' || h.Minor > 99 {
			return 0, errNoStatusLine
		}
		h.Minor = h.Minor*10 + int(c-'0')
	}
	count := 0
	start := 0
	for count < 3 {
		c, ok = next()
		if !ok {
			return 0, errIncomplete
		}
		if c == ' ' && count == 0 {
			continue
		}
		if c < '0' || c > '9' {
			return 0, errNoStatusLine
		}
		if count == 0 {
			start = p - 1
		}
		h.Status = h.Status*10 + int(c-'0')
		count++
	}
	c, ok = next()
	if !ok {
		return 0, errIncomplete
	}
	end := -1
	switch c {
	case ' ', '.':
		for {
			c, ok = next()
			if !ok {
				return 0, errIncomplete
			}
			if c == '\r' {
				end = p - 1
				c, ok = next()
				if !ok {
					return 0, errIncomplete
				}
				if c != '\n' {
					return 0, errNoStatusLine
				}
				break
			}
			if c == '\n' {
				end = p - 1
				break
			}
		}
	case '\r':
		end = p - 1
		c, ok = next()
		if !ok {
			return 0, errIncomplete
		}
		if c != '\n' {
			return 0, errNoStatusLine
		}
	case '\n':
		end = p - 1
	default:
		return 0, errNoStatusLine
	}
	h.StatusLine = buf[start:end]
	return p, nil
}

// parseHeaderLine is ngx_http_parse_header_line for upstream responses
// (underscores allowed). It returns one header, or done at the empty line.
func parseHeaderLine(buf string) (name, value string, n int, done bool, err error) {
	if len(buf) == 0 {
		return "", "", 0, false, errIncomplete
	}
	switch buf[0] {
	case '\n':
		return "", "", 1, true, nil
	case '\r':
		if len(buf) < 2 {
			return "", "", 0, false, errIncomplete
		}
		if buf[1] != '\n' {
			return "", "", 0, false, invalidHeader("upstream sent invalid header")
		}
		return "", "", 2, true, nil
	}
	c := buf[0]
	if c <= 0x20 || c == 0x7f || c == ':' {
		return "", "", 0, false, invalidHeader("upstream sent invalid header: %q", printable(buf))
	}
	if len(buf) >= 5 && buf[:5] == "HTTP/" {
		// IIS may send a duplicate "HTTP/1.1 ..." line: ignore it
		j := indexByte(buf, '\n')
		if j < 0 {
			return "", "", 0, false, errIncomplete
		}
		return "", "", j + 1, false, nil
	}
	i := 1
	for i < len(buf) && nameByte[buf[i]] {
		i++
	}
	if i == len(buf) {
		return "", "", 0, false, errIncomplete
	}
	switch buf[i] {
	case ':':
	case '\r', '\n':
		// a header line without a colon: a name with an empty value
		return lineEnd(buf, i, buf[:i], "")
	default:
		return "", "", 0, false, invalidHeader("upstream sent invalid header: %q", printable(buf[:i+1]))
	}
	name = buf[:i]
	i++
	for i < len(buf) && buf[i] == ' ' {
		i++
	}
	// The value ends at the first CR, LF or NUL (invalid).
	rest := buf[i:]
	end := indexByte(rest, '\n')
	seg := rest
	if end >= 0 {
		seg = rest[:end]
	}
	stop := len(seg)
	if k := indexByte(seg, '\r'); k >= 0 {
		stop = k
	}
	if k := indexByte(seg[:stop], 0); k >= 0 {
		return "", "", 0, false, invalidHeader("upstream sent invalid header: %q", printable(buf[:i+k+1]))
	}
	if stop == len(seg) && end < 0 {
		return "", "", 0, false, errIncomplete
	}
	v := seg[:stop]
	for len(v) > 0 && v[len(v)-1] == ' ' {
		v = v[:len(v)-1]
	}
	return lineEnd(buf, i+stop, name, v)
}

// nameByte marks the bytes allowed in a header name after its first
// (ngx_http_parse_header_line for upstreams: anything but controls, space,
// DEL and the colon).
var nameByte = func() (t [256]bool) {
	for c := 0x21; c < 256; c++ {
		t[c] = c != 0x7f && c != ':'
	}
	return t
}()

func lineEnd(buf string, i int, name, value string) (string, string, int, bool, error) {
	if buf[i] == '\n' {
		return name, value, i + 1, false, nil
	}
	// CR: nginx accepts more CRs, then requires LF
	for j := i + 1; j < len(buf); j++ {
		switch buf[j] {
		case '\n':
			return name, value, j + 1, false, nil
		case '\r':
			continue
		default:
			return "", "", 0, false, invalidHeader("upstream sent invalid header: %q", printable(buf[:j+1]))
		}
	}
	return "", "", 0, false, errIncomplete
}

func indexByte(b string, c byte) int { return strings.IndexByte(b, c) }

func printable(b string) string {
	if len(b) > 64 {
		b = b[:64]
	}
	return strings.Clone(b)
}

// atoof is ngx_atoof: a non-negative decimal without sign or spaces; -1 on
// error or overflow.
func atoof(s string) int64 {
	if s == "" {
		return -1
	}
	var v int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return -1
		}
		if v > (1<<63-1-int64(c-'0'))/10 {
			return -1
		}
		v = v*10 + int64(c-'0')
	}
	return v
}

// containsFold is ngx_strcasestrn: whether s contains sub (lower-case
// ASCII), ignoring ASCII case.
func containsFold(s, sub string) bool {
	n := len(sub)
	for i := 0; i+n <= len(s); i++ {
		if equalLower(s[i:i+n], sub) {
			return true
		}
	}
	return false
}

// Body framing modes.
const (
	frameNone    = iota // no body (204, 304, HEAD, Content-Length: 0)
	frameLength         // exactly Content-Length bytes
	frameChunked        // chunked until the last chunk and trailers
	frameClose          // until the upstream closes: never reusable
)

// framing is ngx_http_proxy_input_filter_init: how the body is delimited.
func framing(h *ResponseHead, head bool) int {
	switch {
	case h.Status == 204 || h.Status == 304 || head:
		return frameNone
	case h.Chunked:
		return frameChunked
	case h.ContentLength == 0:
		return frameNone
	case h.ContentLength > 0:
		return frameLength
	}
	return frameClose
}

// bodyReader decodes a response body from the connection's reader.
type bodyReader struct {
	br        *bufio.Reader
	mode      int
	remaining int64 // frameLength: bytes left; frameChunked: bytes left in the chunk
	chunkEnd  bool  // frameChunked: a CRLF is due after the current chunk
	trailers  bool  // frameChunked: the last chunk was read, trailers follow
	noWait    bool  // decode buffered bytes only (readBuffered)
	done      bool
	err       error
}

var (
	errPrematureClose = errors.New("upstream prematurely closed connection")
	errInvalidChunked = errors.New("upstream sent invalid chunked response")
	// errWouldWait: readBuffered needs bytes that have not arrived yet.
	errWouldWait = errors.New("body bytes not buffered yet")
)

func (b *bodyReader) reset(br *bufio.Reader, mode int, length int64) {
	*b = bodyReader{br: br, mode: mode, remaining: length}
	if mode == frameNone {
		b.done = true
	}
}

// readBuffered is Read limited to the bytes already buffered: it never
// reads the connection and returns errWouldWait (consuming nothing of the
// incomplete step) when the next decoding step needs more. nginx's input
// filters take a whole recv() at once (ngx_http_proxy_non_buffered_chunked_filter,
// ngx_http_proxy_chunked_filter), so an invalid chunk anywhere in what
// arrived fails the read before any of it is passed on.
func (b *bodyReader) readBuffered(p []byte) (int, error) {
	if b.err == nil && !b.done && b.br.Buffered() == 0 {
		return 0, errWouldWait
	}
	b.noWait = true
	n, err := b.Read(p)
	b.noWait = false
	return n, err
}

// Read returns decoded body bytes; io.EOF once the body is complete.
func (b *bodyReader) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.done {
		return 0, io.EOF
	}
	switch b.mode {
	case frameLength:
		if int64(len(p)) > b.remaining {
			p = p[:b.remaining]
		}
		n, err := b.br.Read(p)
		b.remaining -= int64(n)
		if b.remaining == 0 {
			b.done = true
			return n, nil
		}
		if err == io.EOF {
			err = errPrematureClose
		}
		if err != nil {
			b.err = err
		}
		return n, err
	case frameClose:
		n, err := b.br.Read(p)
		if err == io.EOF {
			b.done = true
			if n > 0 {
				return n, nil
			}
			return 0, io.EOF
		}
		if err != nil {
			b.err = err
		}
		return n, err
	}
	return b.readChunked(p)
}

// readChunked is ngx_http_parse_chunked driven by the proxy's chunked filter.
func (b *bodyReader) readChunked(p []byte) (int, error) {
	for {
		if b.remaining > 0 {
			if b.noWait && b.br.Buffered() == 0 {
				return 0, errWouldWait
			}
			if int64(len(p)) > b.remaining {
				p = p[:b.remaining]
			}
			n, err := b.br.Read(p)
			b.remaining -= int64(n)
			if n > 0 {
				return n, nil
			}
			return 0, b.fail(err)
		}
		if b.trailers {
			// trailers until the empty line
			line, err := b.readLine(lineTrailer)
			if err != nil {
				return 0, err
			}
			if len(line) == 0 {
				b.done = true
				return 0, io.EOF
			}
			continue
		}
		if b.chunkEnd {
			line, err := b.readLine(lineCRLF)
			if err != nil {
				return 0, err
			}
			if len(line) != 0 {
				b.err = errInvalidChunked
				return 0, b.err
			}
			b.chunkEnd = false
		}
		line, err := b.readLine(lineSize)
		if err != nil {
			return 0, err
		}
		size, ok := parseChunkSize(line)
		if !ok {
			b.err = errInvalidChunked
			return 0, b.err
		}
		if size == 0 {
			b.trailers = true
			continue
		}
		b.remaining = size
		b.chunkEnd = true
	}
}

func (b *bodyReader) fail(err error) error {
	if err == nil || err == io.EOF {
		err = errPrematureClose
	}
	b.err = err
	return err
}

// The lines of the chunked framing.
const (
	lineSize    = iota // chunk-size [; extension]
	lineCRLF           // the CRLF after a chunk's data
	lineTrailer        // a trailer field, or the final empty line
)

// readLine reads one line without its CRLF/LF. With noWait, a line not
// complete in the buffer is errWouldWait, or invalid already when what
// arrived of it cannot start a valid line (ngx_http_parse_chunked fails
// at the first bad byte).
func (b *bodyReader) readLine(kind int) ([]byte, error) {
	if b.noWait {
		buf, _ := b.br.Peek(b.br.Buffered())
		if bytes.IndexByte(buf, '\n') < 0 {
			if len(buf) >= b.br.Size() || !linePrefixOK(buf, kind) {
				b.err = errInvalidChunked
				return nil, b.err
			}
			return nil, errWouldWait
		}
	}
	line, err := b.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		b.err = errInvalidChunked
		return nil, b.err
	}
	if err != nil {
		return nil, b.fail(err)
	}
	line = line[:len(line)-1]
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	return line, nil
}

// linePrefixOK reports whether b, the start of a framing line of the
// given kind without its LF, can still become a valid line.
func linePrefixOK(b []byte, kind int) bool {
	if n := len(b); n > 0 && b[n-1] == '\r' {
		b = b[:n-1]
	}
	switch kind {
	case lineCRLF:
		return len(b) == 0
	case lineSize:
		if len(b) == 0 {
			return true
		}
		_, ok := parseChunkSize(b)
		return ok
	}
	return true
}

// parseChunkSize parses "hex[;ext]" with optional spaces before ';'.
func parseChunkSize(line []byte) (int64, bool) {
	var size int64
	i := 0
	for ; i < len(line); i++ {
		c := line[i]
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			goto rest
		}
		if size > (1<<63-1)/16-1 {
			return 0, false
		}
		size = size*16 + int64(d)
	}
rest:
	if i == 0 {
		return 0, false
	}
	for ; i < len(line); i++ {
		switch line[i] {
		case ' ', '\t':
			continue
		case ';':
			return size, true
		default:
			return 0, false
		}
	}
	return size, true
}
