package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ngxkeep/ngxkeep/runtime/h1"
)

// adminServer is the HTTP/1.1 server of "ngxkeep run --admin": GET and
// HEAD of a few fixed paths, keep-alive, Content-Length bodies. It reads
// request heads with runtime/h1 (nginx's checks) rather than net/http,
// whose server would link net/http, crypto/tls and crypto/x509 into every
// ngxkeep binary: about 2.6 MB of code that "ngxkeep lint" maps too.
type adminServer struct {
	ln     net.Listener
	routes map[string]adminHandler

	mu     sync.Mutex
	conns  map[net.Conn]bool // open connections: true while a request is served
	closed bool
	wg     sync.WaitGroup
}

// adminRequest is what a handler sees of a request.
type adminRequest struct {
	query          url.Values
	acceptEncoding []string // the values of the Accept-Encoding headers
}

// adminResponse is a complete response; the server adds Date,
// Content-Length and Connection.
type adminResponse struct {
	status      int
	contentType string
	encoding    string // Content-Encoding, "" for none
	vary        bool   // the body depends on Accept and Accept-Encoding
	body        []byte
}

type adminHandler func(*adminRequest) adminResponse

// Admin connection limits.
const (
	adminMaxHead     = 16 << 10         // a longer request head gets 431 and a close
	adminHeadTimeout = 5 * time.Second  // to read a head once its first byte came
	adminIdleTimeout = 2 * time.Minute  // between requests on a connection
	adminMaxBody     = 64 << 10         // request bodies up to this are read and ignored
	adminBodyTimeout = 10 * time.Second // to read them
	adminLinger      = time.Second      // to drain input after a closing response
)

// newAdminServer serves routes (path to handler, for GET and HEAD) on ln
// until Shutdown.
func newAdminServer(ln net.Listener, routes map[string]adminHandler) *adminServer {
	s := &adminServer{ln: ln, routes: routes, conns: make(map[net.Conn]bool)}
	s.wg.Add(1)
	go s.accept()
	return s
}

func (s *adminServer) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// EMFILE and the like: wait for descriptors to free up.
			time.Sleep(10 * time.Millisecond)
			continue
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return
		}
		s.conns[c] = false
		s.wg.Add(1)
		s.mu.Unlock()
		go s.serve(c)
	}
}

// setActive marks c as serving a request (or idle); it reports false when
// the server is shutting down and c must close.
func (s *adminServer) setActive(c net.Conn, active bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = active
	return true
}

func (s *adminServer) serve(c net.Conn) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		c.Close()
	}()
	br := bufio.NewReaderSize(c, 4096)
	var (
		head   h1.Head
		buf    []byte
		uriBuf []byte
		out    []byte
	)
	for {
		// Wait for the next request, then give its head a deadline.
		c.SetReadDeadline(time.Now().Add(adminIdleTimeout))
		if len(buf) == 0 {
			if _, err := br.Peek(1); err != nil {
				return
			}
		}
		if !s.setActive(c, true) {
			return
		}
		c.SetReadDeadline(time.Now().Add(adminHeadTimeout))
		var res h1.HeadResult
		for {
			res, uriBuf = h1.ParseHead(buf, h1.HeadOptions{}, &head, uriBuf)
			if !res.Incomplete {
				break
			}
			if len(buf) >= adminMaxHead {
				res = h1.HeadResult{Status: 431}
				break
			}
			chunk, err := br.Peek(max(1, min(br.Buffered(), adminMaxHead-len(buf))))
			if err != nil {
				return
			}
			buf = append(buf, chunk...)
			br.Discard(len(chunk))
		}
		keep := res.Status == 0 && head.Line.Version >= 1000 &&
			(head.Connection == h1.ConnectionKeepAlive ||
				head.Line.Version >= 1001 && head.Connection != h1.ConnectionClose)
		var resp adminResponse
		if res.Status != 0 {
			resp = adminText(res.Status, strconv.Itoa(res.Status)+" "+adminStatusText(res.Status)+"\n")
		} else {
			resp = s.handle(&head, res.URI)
		}
		rest := buf[min(res.N, len(buf)):]
		if res.Status == 0 && (head.ContentLength > 0 || head.Chunked) {
			// The body is not ours to read; a small one of known length
			// is skipped so the connection can stay open.
			if head.Chunked || head.ContentLength > adminMaxBody {
				keep = false
			} else {
				c.SetReadDeadline(time.Now().Add(adminBodyTimeout))
				skip := int(head.ContentLength)
				n := min(skip, len(rest))
				rest, skip = rest[n:], skip-n
				if _, err := br.Discard(skip); err != nil {
					keep = false
				}
			}
		}
		buf = append(buf[:0], rest...)
		out = appendAdminResponse(out[:0], resp, head.Line.Method == h1.MethodHEAD && res.Status == 0, keep)
		c.SetWriteDeadline(time.Now().Add(adminHeadTimeout))
		if _, err := c.Write(out); err != nil {
			return
		}
		if !keep {
			lingerClose(c, br)
			return
		}
		if !s.setActive(c, false) {
			return
		}
	}
}

// lingerClose half-closes c and reads what the client still sends for a
// moment (nginx's lingering close), so that unread request bytes do not
// turn the close into a reset that destroys the response in flight.
func lingerClose(c net.Conn, br *bufio.Reader) {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return
	}
	tc.CloseWrite()
	c.SetReadDeadline(time.Now().Add(adminLinger))
	io.CopyN(io.Discard, br, adminMaxBody)
}

// handle routes one parsed request the way net/http's ServeMux routes
// "GET /path" patterns: GET and HEAD only (405 otherwise), 404 for other
// paths.
func (s *adminServer) handle(head *h1.Head, uri h1.URI) adminResponse {
	h, ok := s.routes[string(uri.Path)]
	if !ok {
		return adminText(404, "404 page not found\n")
	}
	if head.Line.Method != h1.MethodGET && head.Line.Method != h1.MethodHEAD {
		return adminText(405, "Method Not Allowed\n")
	}
	q, _ := url.ParseQuery(string(uri.Args))
	req := &adminRequest{query: q}
	for _, f := range head.Headers {
		if h1.EqualFold(f.Name, "accept-encoding") {
			req.acceptEncoding = append(req.acceptEncoding, string(f.Value))
		}
	}
	return h(req)
}

func adminText(status int, body string) adminResponse {
	return adminResponse{status: status, contentType: "text/plain; charset=utf-8", body: []byte(body)}
}

func adminStatusText(status int) string {
	switch status {
	case 200:
		return "OK"
	case 400:
		return "Bad Request"
	case 404:
		return "Not Found"
	case 405:
		return "Method Not Allowed"
	case 414:
		return "Request-URI Too Large"
	case 431:
		return "Request Header Fields Too Large"
	case 501:
		return "Not Implemented"
	case 505:
		return "HTTP Version Not Supported"
	}
	return "Error"
}

func appendAdminResponse(out []byte, r adminResponse, headOnly, keep bool) []byte {
	out = append(out, "HTTP/1.1 "...)
	out = strconv.AppendInt(out, int64(r.status), 10)
	out = append(out, ' ')
	out = append(out, adminStatusText(r.status)...)
	out = append(out, "\r\nDate: "...)
	out = h1.AppendHTTPDate(out, time.Now().Unix())
	out = append(out, "\r\nContent-Type: "...)
	out = append(out, r.contentType...)
	if r.status == 405 {
		out = append(out, "\r\nAllow: GET, HEAD"...)
	}
	if r.status == 404 || r.status == 405 {
		out = append(out, "\r\nX-Content-Type-Options: nosniff"...)
	}
	if r.encoding != "" {
		out = append(out, "\r\nContent-Encoding: "...)
		out = append(out, r.encoding...)
	}
	if r.vary {
		out = append(out, "\r\nVary: Accept\r\nVary: Accept-Encoding"...)
	}
	out = append(out, "\r\nContent-Length: "...)
	out = strconv.AppendInt(out, int64(len(r.body)), 10)
	if !keep {
		out = append(out, "\r\nConnection: close"...)
	}
	out = append(out, "\r\n\r\n"...)
	if !headOnly {
		out = append(out, r.body...)
	}
	return out
}

// Shutdown stops accepting, closes idle connections at once and the
// others after their response, and waits for them until ctx ends (then
// closes them all).
func (s *adminServer) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	s.ln.Close()
	for c, active := range s.conns {
		if !active {
			c.Close()
		}
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		<-done
		return ctx.Err()
	}
}

// gzipBody compresses body when the Accept-Encoding values rate gzip
// higher than identity, the negotiation Prometheus' client library does
// for /metrics; it returns the Content-Encoding to send.
func gzipBody(acceptEncoding []string, body []byte) ([]byte, string) {
	if !acceptsGzip(acceptEncoding) {
		return body, ""
	}
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write(body)
	zw.Close()
	return b.Bytes(), "gzip"
}

// acceptsGzip reports whether the Accept-Encoding values rate gzip higher
// than identity (ties go to identity, as client_golang's promhttp offers
// identity first).
func acceptsGzip(values []string) bool {
	identity, gz := -1.0, -1.0
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			coding, params, _ := strings.Cut(part, ";")
			coding = strings.ToLower(strings.TrimSpace(coding))
			q := 1.0
			if params = strings.TrimSpace(params); params != "" {
				qs, ok := strings.CutPrefix(params, "q=")
				if !ok {
					continue
				}
				f, err := strconv.ParseFloat(strings.TrimSpace(qs), 64)
				if err != nil || f < 0 || f > 1 {
					continue
				}
				q = f
			}
			if coding == "identity" || coding == "*" {
				identity = max(identity, q)
			}
			if coding == "gzip" || coding == "*" {
				gz = max(gz, q)
			}
		}
	}
	return gz > identity && gz > 0
}
