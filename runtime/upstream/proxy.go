package upstream

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ngxkeep/ngxkeep/runtime/config"
)

// proxy_next_upstream conditions (NGX_HTTP_UPSTREAM_FT_*).
const (
	ftError uint32 = 1 << iota
	ftTimeout
	ftInvalidHeader
	ftHTTP500
	ftHTTP502
	ftHTTP503
	ftHTTP504
	ftHTTP403
	ftHTTP404
	ftHTTP429
	ftNonIdempotent
	ftNoLive
	ftOff
)

var ftNames = map[string]uint32{
	"error": ftError, "timeout": ftTimeout, "invalid_header": ftInvalidHeader,
	"http_500": ftHTTP500, "http_502": ftHTTP502, "http_503": ftHTTP503,
	"http_504": ftHTTP504, "http_403": ftHTTP403, "http_404": ftHTTP404,
	"http_429": ftHTTP429, "non_idempotent": ftNonIdempotent, "off": ftOff,
}

// statusFT maps response statuses to their conditions
// (ngx_http_upstream_next_errors).
var statusFT = map[int]uint32{
	500: ftHTTP500, 502: ftHTTP502, 503: ftHTTP503, 504: ftHTTP504,
	403: ftHTTP403, 404: ftHTTP404, 429: ftHTTP429,
}

// LocationInfo tells CompileProxy about the location that proxies.
type LocationInfo struct {
	// Prefix is the prefix location's URI, replaced by the proxy_pass URI
	// part; empty for regex and named locations.
	Prefix string
}

// Proxy is a compiled location's proxy configuration.
type Proxy struct {
	set *Set

	static    *Upstream // the target when Pass has no variables
	pass      *template // the target when it has
	uri       string    // URI part of a static Pass
	hasURI    bool
	proxyHost string
	proxyPort string

	version11   bool
	headers     []setHeader
	skip        nameSet // names never copied from the client
	hostSet     bool
	passHeaders bool
	passBody    bool
	next        uint32
	tries       int
	nextTimeout time.Duration
	connectTO   time.Duration
	readTO      time.Duration
	sendTO      time.Duration
	buffering   bool
	reqBuffer   bool
	bufferSize  int
	maxBuffered int64
	intercept   bool
	ignoreAbort bool
	method      string
	strict      bool
	loc         LocationInfo
}

type setHeader struct {
	name  string
	lname string
	value *template
}

// fixedSkip are the headers of ngx_http_proxy_headers: never copied from
// the client, in every version.
var fixedSkip = []string{"host", "connection", "content-length", "transfer-encoding", "te", "keep-alive", "expect", "upgrade"}

// CompileProxy compiles a location's proxy settings. strict selects the
// response-header checks of nginx 1.23.0+ (see parseResponseHead).
func (s *Set) CompileProxy(cp *config.Proxy, loc LocationInfo, strict bool) (*Proxy, error) {
	p := &Proxy{set: s, loc: loc, strict: strict, passHeaders: true, passBody: true, buffering: true, reqBuffer: true}
	if cp.Pass == "" {
		return nil, fmt.Errorf("proxy: empty pass")
	}
	switch cp.HTTPVersion {
	case "", "1.0":
	case "1.1":
		p.version11 = true
	default:
		return nil, fmt.Errorf("proxy: unsupported http_version %q", cp.HTTPVersion)
	}
	pt, err := compileTemplate(cp.Pass)
	if err != nil {
		return nil, fmt.Errorf("proxy: pass %q: %v", cp.Pass, err)
	}
	if lit, ok := pt.static(); ok {
		host, port, noPort, uri, hasURI, err := splitPass(lit)
		if err != nil {
			return nil, err
		}
		p.uri, p.hasURI = uri, hasURI
		if u := s.Upstream(host); u != nil && noPort {
			p.static = u
		} else {
			if noPort {
				port = "80"
			}
			u, err := s.implicit(host, port)
			if err != nil {
				return nil, fmt.Errorf("proxy: pass %q: %v", cp.Pass, err)
			}
			p.static = u
		}
		p.proxyHost, p.proxyPort = proxyHostPort(host, port, noPort)
	} else {
		p.pass = pt
	}
	p.skip = newNameSet(fixedSkip...)
	for _, h := range cp.SetHeaders {
		t, err := compileTemplate(h.Value)
		if err != nil {
			return nil, fmt.Errorf("proxy: set_header %s: %v", h.Name, err)
		}
		ln := strings.ToLower(h.Name)
		p.headers = append(p.headers, setHeader{name: h.Name, lname: ln, value: t})
		p.skip.add(ln)
		if ln == "host" {
			p.hostSet = true
		}
	}
	if cp.PassRequestHeaders != nil {
		p.passHeaders = *cp.PassRequestHeaders
	}
	if cp.PassRequestBody != nil {
		p.passBody = *cp.PassRequestBody
	}
	if cp.Buffering != nil {
		p.buffering = *cp.Buffering
	}
	if cp.RequestBuffering != nil {
		p.reqBuffer = *cp.RequestBuffering
	}
	if cp.NextUpstream == nil {
		p.next = ftError | ftTimeout
	}
	for _, n := range cp.NextUpstream {
		f, ok := ftNames[n]
		if !ok {
			return nil, fmt.Errorf("proxy: invalid next_upstream value %q", n)
		}
		if f == ftOff {
			p.next = 0
			continue
		}
		p.next |= f
	}
	p.tries = cp.NextUpstreamTries
	durs := []struct {
		dst *time.Duration
		s   string
		def time.Duration
		nm  string
	}{
		{&p.nextTimeout, cp.NextUpstreamTimeout, 0, "next_upstream_timeout"},
		{&p.connectTO, cp.ConnectTimeout, 60 * time.Second, "connect_timeout"},
		{&p.readTO, cp.ReadTimeout, 60 * time.Second, "read_timeout"},
		{&p.sendTO, cp.SendTimeout, 60 * time.Second, "send_timeout"},
	}
	for _, d := range durs {
		if *d.dst, err = parseDuration(d.s, d.def); err != nil {
			return nil, fmt.Errorf("proxy: %s: %v", d.nm, err)
		}
	}
	bs, err := parseSize(cp.BufferSize, 4096)
	if err != nil {
		return nil, fmt.Errorf("proxy: buffer_size: %v", err)
	}
	p.bufferSize = int(bs)
	if p.bufferSize < 1024 {
		p.bufferSize = 1024
	}
	if p.maxBuffered, err = parseSize(cp.MaxBuffered, 1<<20); err != nil {
		return nil, fmt.Errorf("proxy: max_buffered: %v", err)
	}
	p.intercept = cp.InterceptErrors
	p.ignoreAbort = cp.IgnoreClientAbort
	p.method = cp.Method
	return p, nil
}

// splitPass splits "http://host[:port][/uri]".
func splitPass(s string) (host, port string, noPort bool, uri string, hasURI bool, err error) {
	rest, ok := strings.CutPrefix(s, "http://")
	if !ok {
		if strings.HasPrefix(s, "https://") {
			return "", "", false, "", false, fmt.Errorf("proxy: %q: https upstreams are not supported by the runtime", s)
		}
		return "", "", false, "", false, fmt.Errorf("proxy: invalid URL prefix in %q", s)
	}
	hp := rest
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		hp, uri, hasURI = rest[:i], rest[i:], true
		if uri[0] == '?' {
			uri = "/" + uri
		}
	}
	if strings.HasPrefix(strings.ToLower(hp), "unix:") {
		// http://unix:/path:/uri
		path := hp
		if i := strings.LastIndexByte(rest, ':'); i > 5 {
			path, uri, hasURI = rest[:i], rest[i+1:], true
		} else {
			path, uri, hasURI = rest, "", false
		}
		return path, "", true, uri, hasURI, nil
	}
	h, pt, e := net.SplitHostPort(hp)
	if e != nil {
		if hp == "" {
			return "", "", false, "", false, fmt.Errorf("proxy: no host in %q", s)
		}
		return strings.Trim(hp, "[]"), "80", true, uri, hasURI, nil
	}
	if _, e := strconv.ParseUint(pt, 10, 16); e != nil {
		return "", "", false, "", false, fmt.Errorf("proxy: invalid port in %q", s)
	}
	return h, pt, false, uri, hasURI, nil
}

// proxyHostPort computes $proxy_host and $proxy_port
// (ngx_http_proxy_set_vars): the port is shown only when not 80.
func proxyHostPort(host, port string, noPort bool) (string, string) {
	if noPort || port == "" {
		port = "80"
	}
	h := host
	if strings.Contains(h, ":") && !strings.HasPrefix(strings.ToLower(h), "unix:") {
		h = "[" + h + "]"
	}
	if strings.HasPrefix(strings.ToLower(host), "unix:") {
		return "localhost", ""
	}
	if port != "80" {
		h += ":" + port
	}
	return h, port
}

// escapeURI is ngx_escape_uri(NGX_ESCAPE_URI) for a re-built URI.
func escapeURI(s string) string {
	return (&url.URL{Path: s}).EscapedPath()
}
