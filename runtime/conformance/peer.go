package conformance

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// reqRecord is what a scripted backend or tap saw of one request.
type reqRecord struct {
	Line    string            // request line
	Headers map[string]string // lower-cased name -> last value
	Body    int               // body bytes read
	BodyErr bool              // the body ended early
	Action  string            // "", "dropped", "reset"
}

// connRecord is the life of one accepted connection.
type connRecord struct {
	ID       int
	Reqs     []*reqRecord
	End      string    // "" while open; "FIN", "RST", "closed by backend", ...
	EndAt    time.Time // when End was recorded
	lastSeen time.Time // last request received or response written
}

// recorder collects connRecords for one backend or tap.
type recorder struct {
	name string
	show []string // extra request headers to report

	mu      sync.Mutex
	conns   []*connRecord
	changed chan struct{} // closed and replaced on every change
}

func newRecorder(name string, show []string) *recorder {
	return &recorder{name: name, show: show, changed: make(chan struct{})}
}

func (r *recorder) notify() {
	close(r.changed)
	r.changed = make(chan struct{})
}

func (r *recorder) newConn() *connRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := &connRecord{ID: len(r.conns) + 1, lastSeen: time.Now()}
	r.conns = append(r.conns, c)
	r.notify()
	return c
}

func (r *recorder) addReq(c *connRecord, q *reqRecord) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c.Reqs = append(c.Reqs, q)
	c.lastSeen = time.Now()
	r.notify()
}

func (r *recorder) touch(c *connRecord) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c.lastSeen = time.Now()
	r.notify()
}

func (r *recorder) update(f func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f()
	r.notify()
}

func (r *recorder) end(c *connRecord, how string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c.End == "" {
		c.End = how
		c.EndAt = time.Now()
	}
	r.notify()
}

// requests returns the number of requests seen so far.
func (r *recorder) requests() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, c := range r.conns {
		n += len(c.Reqs)
	}
	return n
}

// await blocks until at least n requests were seen or the deadline passes.
func (r *recorder) await(n int, d time.Duration) bool {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		got := 0
		for _, c := range r.conns {
			got += len(c.Reqs)
		}
		ch := r.changed
		r.mu.Unlock()
		if got >= n {
			return true
		}
		select {
		case <-ch:
		case <-deadline.C:
			return false
		}
	}
}

// settleTime is how long a connection must be quiet before observe reports it
// as open.
const settleTime = 250 * time.Millisecond

// observe waits until every open connection has been quiet for settleTime,
// counted from its last activity and at least from the call (so that a close
// nginx performs right now is seen), bounded by 5s; then renders the report.
func (r *recorder) observe(brief bool) []string {
	start := time.Now()
	limit := start.Add(5 * time.Second)
	for {
		r.mu.Lock()
		wait := time.Duration(0)
		for _, c := range r.conns {
			if c.End == "" {
				from := c.lastSeen
				if start.After(from) {
					from = start
				}
				if left := settleTime - time.Since(from); left > wait {
					wait = left
				}
			}
		}
		ch := r.changed
		r.mu.Unlock()
		if wait <= 0 || time.Now().After(limit) {
			break
		}
		t := time.NewTimer(wait)
		select {
		case <-ch:
		case <-t.C:
		}
		t.Stop()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	counts := make([]string, len(r.conns))
	for i, c := range r.conns {
		counts[i] = strconv.Itoa(len(c.Reqs))
	}
	plural := "s"
	if len(r.conns) == 1 {
		plural = ""
	}
	out := []string{fmt.Sprintf("%s: %d conn%s, requests [%s]", r.name, len(r.conns), plural, strings.Join(counts, " "))}
	if brief {
		return out
	}
	for _, c := range r.conns {
		var reqs []string
		for _, q := range c.Reqs {
			s := q.Line
			conn, ok := q.Headers["connection"]
			if !ok {
				conn = "-"
			}
			s += " conn=" + conn
			for _, h := range r.show {
				key := strings.ToLower(h)
				switch key {
				case "framing", "hop":
					key = ":" + key
				}
				v, ok := q.Headers[key]
				if !ok {
					v = "-"
				}
				s += " " + h + "=" + v
			}
			if q.Body > 0 || q.BodyErr {
				s += fmt.Sprintf(" body=%d", q.Body)
				if q.BodyErr {
					s += "(incomplete)"
				}
			}
			if q.Action != "" {
				s += " (" + q.Action + ")"
			}
			reqs = append(reqs, s)
		}
		end := "open"
		if c.End != "" {
			end = c.End + " " + timeClass(c.EndAt.Sub(c.lastSeen))
		}
		if len(reqs) == 0 {
			reqs = []string{"no request"}
		}
		out = append(out, fmt.Sprintf("%s #%d: %s -> %s", r.name, c.ID, strings.Join(reqs, ", "), end))
	}
	return out
}

// classifyErr maps a read error to FIN / RST / timeout / error text.
func classifyErr(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "FIN"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "RST"
	case isTimeout(err):
		return "timeout"
	case errors.Is(err, net.ErrClosed):
		return "closed"
	}
	return "error: " + err.Error()
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// readHead reads a request or response head (up to the empty line). It
// returns the first line and the header fields (lower-cased names, last value
// wins, values of repeated fields joined with ", " for Connection).
func readHead(br *bufio.Reader) (string, map[string]string, error) {
	return readHeadRaw(br, nil)
}

// readHeadRaw is readHead that also copies the bytes it reads to raw.
func readHeadRaw(br *bufio.Reader, raw *bytes.Buffer) (string, map[string]string, error) {
	first := ""
	hdr := map[string]string{}
	total := 0
	for {
		line, err := br.ReadString('\n')
		if raw != nil {
			raw.WriteString(line)
		}
		total += len(line)
		if err != nil {
			if first == "" && line == "" {
				return "", nil, err
			}
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return first, hdr, err
		}
		if total > 1<<20 {
			return first, hdr, errors.New("head too large")
		}
		line = strings.TrimRight(line, "\r\n")
		if first == "" {
			if line == "" {
				continue // tolerate leading empty lines
			}
			first = line
			continue
		}
		if line == "" {
			return first, hdr, nil
		}
		name, val, _ := strings.Cut(line, ":")
		name = strings.ToLower(strings.TrimSpace(name))
		val = strings.TrimSpace(val)
		if old, ok := hdr[name]; ok && name == "connection" {
			val = old + ", " + val
		}
		hdr[name] = val
		noteFraming(hdr, name, val)
	}
}

// Pseudo-headers that readHeadRaw adds for "show=framing" and "show=hop".
const (
	framingKey = ":framing"
	hopKey     = ":hop"
)

// noteFraming records, in the order received, every header line that
// frames a body (Content-Length, Transfer-Encoding) as "cl:V" or "te:V"
// joined by "+", so that a request with two framings reads
// "cl:3+te:chunked", and the hop-by-hop headers other than Connection.
func noteFraming(hdr map[string]string, name, val string) {
	add := func(key, item string) {
		if old, ok := hdr[key]; ok {
			item = old + "+" + item
		}
		hdr[key] = item
	}
	switch name {
	case "content-length":
		add(framingKey, "cl:"+val)
	case "transfer-encoding":
		add(framingKey, "te:"+val)
	case "keep-alive", "te", "trailer", "upgrade", "proxy-connection", "proxy-authenticate", "proxy-authorization":
		add(hopKey, name)
	}
}

// isChunked reports whether the head declares a chunked body.
func isChunked(hdr map[string]string) bool {
	te, ok := hdr["transfer-encoding"]
	return ok && strings.Contains(strings.ToLower(te), "chunked")
}

// readBody reads a body framed by Content-Length or chunked encoding into w
// (nil: discarded) and returns its decoded length. Without either header the
// body is empty (requests).
func readBody(br *bufio.Reader, hdr map[string]string, w io.Writer) (int, error) {
	if isChunked(hdr) {
		return readChunked(br, w)
	}
	cl, ok := hdr["content-length"]
	if !ok {
		return 0, nil
	}
	n, err := strconv.ParseInt(strings.TrimSpace(cl), 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("bad Content-Length %q", cl)
	}
	return readN(br, n, w)
}

func readN(br *bufio.Reader, n int64, w io.Writer) (int, error) {
	if w == nil {
		w = io.Discard
	}
	m, err := io.CopyN(w, br, n)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return int(m), err
}

func readChunked(br *bufio.Reader, w io.Writer) (int, error) {
	return readChunkedRaw(br, w, nil)
}

// readBodyRaw is readBody that copies the body bytes as they were framed to
// raw.
func readBodyRaw(br *bufio.Reader, hdr map[string]string, raw *bytes.Buffer) (int, error) {
	if isChunked(hdr) {
		return readChunkedRaw(br, nil, raw)
	}
	return readBody(br, hdr, raw)
}

// readChunkedRaw decodes a chunked body into w and copies its framing and
// data to raw (either may be nil).
func readChunkedRaw(br *bufio.Reader, w io.Writer, raw *bytes.Buffer) (int, error) {
	if raw != nil {
		if w == nil {
			w = raw
		} else {
			w = io.MultiWriter(w, raw)
		}
	}
	copyLine := func(line string) {
		if raw != nil {
			raw.WriteString(line)
		}
	}
	total := 0
	for {
		line, err := br.ReadString('\n')
		copyLine(line)
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return total, err
		}
		line = strings.TrimSpace(line)
		if i := strings.IndexByte(line, ';'); i >= 0 {
			line = line[:i]
		}
		size, err := strconv.ParseInt(line, 16, 64)
		if err != nil || size < 0 {
			return total, fmt.Errorf("bad chunk size %q", line)
		}
		if size == 0 {
			// Trailers up to the empty line.
			for {
				t, err := br.ReadString('\n')
				copyLine(t)
				if err != nil {
					if err == io.EOF {
						err = io.ErrUnexpectedEOF
					}
					return total, err
				}
				if strings.TrimRight(t, "\r\n") == "" {
					return total, nil
				}
			}
		}
		m, err := readN(br, size, w)
		total += m
		if err != nil {
			return total, err
		}
		crlf, err := br.ReadString('\n')
		copyLine(crlf)
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return total, err
		}
	}
}
