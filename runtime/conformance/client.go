package conformance

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// clientConn is one scripted client connection.
type clientConn struct {
	name string
	c    *net.TCPConn
	br   *bufio.Reader
}

// timeClass renders a duration as a wide class, so that scheduling jitter
// never changes a transcript.
func timeClass(d time.Duration) string {
	switch {
	case d < 500*time.Millisecond:
		return "<0.5s"
	case d < 1750*time.Millisecond:
		return "~1s"
	case d < 2750*time.Millisecond:
		return "~2s"
	case d < 3750*time.Millisecond:
		return "~3s"
	}
	return ">3.7s"
}

// bodySink keeps a short prefix of a body and hashes all of it.
type bodySink struct {
	n      int
	prefix []byte
	h      interface {
		io.Writer
		Sum([]byte) []byte
	}
}

const bodyShown = 64 // bodies up to this size are shown verbatim

func newBodySink() *bodySink { return &bodySink{h: sha256.New()} }

func (s *bodySink) Write(p []byte) (int, error) {
	s.n += len(p)
	if len(s.prefix) < 1024 {
		k := min(len(p), 1024-len(s.prefix))
		s.prefix = append(s.prefix, p[:k]...)
	}
	s.h.Write(p)
	return len(p), nil
}

var errorPageRE = regexp.MustCompile(`^<html>\r?\n<head><title>([^<]*)</title></head>`)

// describe renders the body: nginx-style error pages by title, short
// printable bodies verbatim, others by length and hash.
func (s *bodySink) describe() string {
	if m := errorPageRE.FindSubmatch(s.prefix); m != nil {
		return fmt.Sprintf("error-page %q", m[1])
	}
	if s.n <= bodyShown && printable(s.prefix) {
		return fmt.Sprintf("%d %q", s.n, s.prefix)
	}
	return fmt.Sprintf("%d sha256:%s", s.n, hex.EncodeToString(s.h.Sum(nil))[:12])
}

func printable(b []byte) bool {
	for _, c := range b {
		if (c < 0x20 || c > 0x7e) && c != '\r' && c != '\n' && c != '\t' {
			return false
		}
	}
	return true
}

// read reads one response and renders it as a transcript line, with the
// response headers named in show ("-" when absent).
func (cc *clientConn) read(timeout time.Duration, head bool, show []string) string {
	start := time.Now()
	cc.c.SetReadDeadline(start.Add(timeout))
	p, err := cc.br.Peek(5)
	if len(p) == 0 && err != nil {
		return fmt.Sprintf("%s no response: %s %s", cc.name, classifyErr(err), timeClass(time.Since(start)))
	}
	if !bytes.HasPrefix(p, []byte("HTTP/")) {
		// HTTP/0.9: the body alone, delimited by the close.
		sink := newBodySink()
		_, err := io.Copy(sink, cc.br)
		how := classifyErr(err)
		if err == nil {
			how = "FIN"
		}
		return fmt.Sprintf("%s (no status line) body %s then %s", cc.name, sink.describe(), how)
	}
	status, hdr, err := readHead(cc.br)
	if err != nil {
		return fmt.Sprintf("%s incomplete head %q: %s %s", cc.name, status, classifyErr(err), timeClass(time.Since(start)))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", cc.name, status)
	if v, ok := hdr["connection"]; ok {
		fmt.Fprintf(&b, " | Connection: %s", v)
	} else {
		b.WriteString(" | Connection: -")
	}
	if v, ok := hdr["keep-alive"]; ok {
		fmt.Fprintf(&b, " | Keep-Alive: %s", v)
	}
	for _, h := range show {
		v, ok := hdr[strings.ToLower(h)]
		if !ok {
			v = "-"
		}
		fmt.Fprintf(&b, " | %s: %s", h, v)
	}
	code := 0
	if f := strings.Fields(status); len(f) > 1 {
		code, _ = strconv.Atoi(f[1])
	}
	sink := newBodySink()
	framing := ""
	switch {
	case head || code/100 == 1 || code == 204 || code == 304:
		b.WriteString(" | no body")
		return b.String()
	case isChunked(hdr):
		framing = "chunked"
		_, err = readChunked(cc.br, sink)
	case hdr["content-length"] != "":
		framing = "cl"
		n, perr := strconv.ParseInt(hdr["content-length"], 10, 64)
		if perr != nil {
			fmt.Fprintf(&b, " | bad Content-Length %q", hdr["content-length"])
			return b.String()
		}
		_, err = readN(cc.br, n, sink)
	default:
		framing = "close-delimited"
		_, err = io.Copy(sink, cc.br)
		if err == nil {
			err = io.EOF
		}
		fmt.Fprintf(&b, " | %s %s then %s", framing, sink.describe(), classifyErr(err))
		return b.String()
	}
	if err != nil {
		// How much arrived before the end depends on socket buffers.
		if framing == "cl" {
			framing += " " + hdr["content-length"]
		}
		fmt.Fprintf(&b, " | %s truncated: %s", framing, classifyErr(err))
		return b.String()
	}
	fmt.Fprintf(&b, " | %s %s", framing, sink.describe())
	return b.String()
}

// end waits up to window for the connection to end, and says how and when.
func (cc *clientConn) end(window time.Duration) string {
	start := time.Now()
	cc.c.SetReadDeadline(start.Add(window))
	sink := newBodySink()
	_, err := io.Copy(sink, cc.br)
	if err == nil {
		err = io.EOF
	}
	how := classifyErr(err)
	var s string
	if how == "timeout" {
		s = fmt.Sprintf("%s end: open (%s)", cc.name, window)
	} else {
		s = fmt.Sprintf("%s end: %s %s", cc.name, how, timeClass(time.Since(start)))
	}
	if sink.n > 0 {
		first, _, _ := strings.Cut(string(sink.prefix), "\n")
		s += fmt.Sprintf(" after %d bytes %q", sink.n, strings.TrimRight(first, "\r"))
	}
	return s
}

// quiet checks that nothing (no data, no close) arrives within window.
// Data that arrives stays buffered for the next step.
func (cc *clientConn) quiet(window time.Duration) string {
	start := time.Now()
	cc.c.SetReadDeadline(start.Add(window))
	_, err := cc.br.Peek(1)
	switch how := classifyErr(err); {
	case err == nil:
		return fmt.Sprintf("%s not quiet: data after %s", cc.name, timeClass(time.Since(start)))
	case how == "timeout":
		return fmt.Sprintf("%s quiet (%s)", cc.name, window)
	default:
		return fmt.Sprintf("%s not quiet: %s %s", cc.name, how, timeClass(time.Since(start)))
	}
}

// probe tells a peer that still reads (e.g. nginx in lingering close) from
// one that is gone: after a FIN a read cannot show a later RST, so it writes
// twice; the second write fails once the first drew an RST.
func (cc *clientConn) probe() string {
	for i := range 2 {
		cc.c.SetWriteDeadline(time.Now().Add(time.Second))
		if _, err := cc.c.Write([]byte("p")); err != nil {
			return fmt.Sprintf("%s probe: %s", cc.name, classifyErr(err))
		}
		if i == 0 {
			time.Sleep(100 * time.Millisecond)
		}
	}
	return fmt.Sprintf("%s probe: accepted", cc.name)
}

// send writes data; an error is part of the transcript.
func (cc *clientConn) send(data []byte) string {
	cc.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := cc.c.Write(data); err != nil {
		return fmt.Sprintf("%s send failed: %s", cc.name, classifyErr(err))
	}
	return ""
}

func newReader(c net.Conn) *bufio.Reader { return bufio.NewReaderSize(c, 64*1024) }
