package h1

// ConnectionType is the client's Connection header as nginx classifies it.
type ConnectionType uint8

// Connection header classes (NGX_HTTP_CONNECTION_*).
const (
	ConnectionNone ConnectionType = iota
	ConnectionClose
	ConnectionKeepAlive
)

// Header is a stored request header.
type Header struct {
	Name, Value []byte
}

// Head accumulates what nginx extracts from a request head while header
// lines arrive (ngx_http_headers_in and its handlers).
type Head struct {
	Line    RequestLine
	Headers []Header

	// Server is the validated host (lower case, without port and trailing
	// dot) from the absolute-form target or the Host header: nginx
	// r->headers_in.server, used for virtual server selection.
	Server []byte
	// HostHeader is the value of the Host header, nil when absent.
	HostHeader []byte
	hasHost    bool

	// ContentLength is -1 when absent.
	ContentLength    int64
	contentLength    []byte
	hasContentLength bool
	TransferEncoding []byte
	hasTE            bool
	// Chunked is set by Finish for "Transfer-Encoding: chunked".
	Chunked    bool
	Connection ConnectionType
	Expect     []byte
	hasExpect  bool
	UserAgent  []byte
	hasUA      bool
	KeepAlive  []byte

	// User-Agent classification (ngx_http_process_user_agent).
	MSIE, MSIE6, Opera, Gecko, Chrome, Safari, Konqueror bool

	seenUnique uint16 // bitmask of seen unique headers

	// HostBuf holds a lower-cased copy of the host when needed; it is
	// reused across requests.
	HostBuf []byte
}

// Reset prepares h for the next request, keeping its allocations.
func (h *Head) Reset() {
	hdrs := h.Headers[:0]
	hb := h.HostBuf[:0]
	// Cleared in place, then set: a composite literal would be built in
	// a temporary and copied.
	*h = Head{}
	h.Headers, h.HostBuf, h.ContentLength = hdrs, hb, -1
}

// HeaderError is the status nginx answers a bad header with, and why.
type HeaderError struct {
	Status int
	Reason string
}

func (e *HeaderError) Error() string { return e.Reason }

var (
	errDuplicateHeader = &HeaderError{400, "client sent duplicate header line"}
	errDuplicateHost   = &HeaderError{400, "client sent duplicate host header"}
	errInvalidHost     = &HeaderError{400, "client sent invalid host header"}
	errInvalidHostLine = &HeaderError{400, "client sent invalid host in request line"}
	errNoHost          = &HeaderError{400, "client sent HTTP/1.1 request without \"Host\" header"}
	errInvalidCL       = &HeaderError{400, "client sent invalid \"Content-Length\" header"}
	errTEOn10          = &HeaderError{400, "client sent HTTP/1.0 request with \"Transfer-Encoding\" header"}
	errCLAndTE         = &HeaderError{400, "client sent \"Content-Length\" and \"Transfer-Encoding\" headers at the same time"}
	errUnknownTE       = &HeaderError{501, "client sent unknown \"Transfer-Encoding\""}
	errTrace           = &HeaderError{405, "client sent TRACE method"}
	errConnect         = &HeaderError{405, "client sent CONNECT method"}
)

// unique header bits (ngx_http_process_unique_header_line)
const (
	uIfModifiedSince = 1 << iota
	uIfUnmodifiedSince
	uIfMatch
	uIfNoneMatch
	uContentLength
	uContentRange
	uIfRange
	uTransferEncoding
	uExpect
	uAuthorization
)

// SetRequestLineHost validates the host of an absolute-form request target
// (ngx_http_validate_host) and makes it the request's server name.
func (h *Head) SetRequestLineHost() error {
	if h.Line.Host == nil {
		return nil
	}
	host, ok := h.validateHost(h.Line.Host)
	if !ok {
		return errInvalidHostLine
	}
	h.Server = host
	return nil
}

// AddHeader processes one header line as nginx's header handlers do and
// stores it. hostChanged is true when the line set the request's server
// name (the caller then selects the virtual server).
func (h *Head) AddHeader(name, value []byte) (hostChanged bool, err error) {
	h.Headers = append(h.Headers, Header{Name: name, Value: value})
	switch len(name) {
	case 4:
		if EqualFold(name, "host") {
			if h.hasHost {
				return false, errDuplicateHost
			}
			h.hasHost = true
			h.HostHeader = value
			host, ok := h.validateHost(value)
			if !ok {
				return false, errInvalidHost
			}
			if h.Server != nil {
				return false, nil
			}
			h.Server = host
			return true, nil
		}
	case 10:
		if EqualFold(name, "connection") {
			// ngx_http_process_connection: substring match, close wins,
			// the last matching line wins.
			if containsFold(value, "close") {
				h.Connection = ConnectionClose
			} else if containsFold(value, "keep-alive") {
				h.Connection = ConnectionKeepAlive
			}
			return false, nil
		}
		if EqualFold(name, "user-agent") {
			if !h.hasUA {
				h.hasUA = true
				h.UserAgent = value
				h.classifyUserAgent(value)
			}
			return false, nil
		}
		if EqualFold(name, "keep-alive") {
			if h.KeepAlive == nil {
				h.KeepAlive = value
			}
			return false, nil
		}
	case 14:
		if EqualFold(name, "content-length") {
			if err := h.unique(uContentLength); err != nil {
				return false, err
			}
			h.hasContentLength = true
			h.contentLength = value
			return false, nil
		}
	case 17:
		if EqualFold(name, "transfer-encoding") {
			if err := h.unique(uTransferEncoding); err != nil {
				return false, err
			}
			h.hasTE = true
			h.TransferEncoding = value
			return false, nil
		}
		if EqualFold(name, "if-modified-since") {
			return false, h.unique(uIfModifiedSince)
		}
	case 6:
		if EqualFold(name, "expect") {
			if err := h.unique(uExpect); err != nil {
				return false, err
			}
			h.hasExpect = true
			h.Expect = value
			return false, nil
		}
	case 19:
		if EqualFold(name, "if-unmodified-since") {
			return false, h.unique(uIfUnmodifiedSince)
		}
	case 8:
		if EqualFold(name, "if-match") {
			return false, h.unique(uIfMatch)
		}
		if EqualFold(name, "if-range") {
			return false, h.unique(uIfRange)
		}
	case 13:
		if EqualFold(name, "if-none-match") {
			return false, h.unique(uIfNoneMatch)
		}
		if EqualFold(name, "content-range") {
			return false, h.unique(uContentRange)
		}
		if EqualFold(name, "authorization") {
			return false, h.unique(uAuthorization)
		}
	}
	return false, nil
}

func (h *Head) unique(bit uint16) error {
	if h.seenUnique&bit != 0 {
		return errDuplicateHeader
	}
	h.seenUnique |= bit
	return nil
}

// classifyUserAgent mirrors ngx_http_process_user_agent.
func (h *Head) classifyUserAgent(ua []byte) {
	if i := index(ua, "MSIE "); i >= 0 && i+7 < len(ua) {
		h.MSIE = true
		if ua[i+6] == '.' {
			switch ua[i+5] {
			case '4', '5':
				h.MSIE6 = true
			case '6':
				if !contains(ua[i+8:], "SV1") {
					h.MSIE6 = true
				}
			}
		}
	}
	if contains(ua, "Opera") {
		h.Opera = true
		h.MSIE = false
		h.MSIE6 = false
	}
	if !h.MSIE && !h.Opera {
		switch {
		case contains(ua, "Gecko/"):
			h.Gecko = true
		case contains(ua, "Chrome/"):
			h.Chrome = true
		case contains(ua, "Safari/") && contains(ua, "Mac OS X"):
			h.Safari = true
		case contains(ua, "Konqueror"):
			h.Konqueror = true
		}
	}
}

// Host byte classes for validateHost: most bytes need no further look.
const (
	hostPlain   = iota // allowed, nothing to note
	hostUpper          // 'A'-'Z': the host is lower-cased
	hostBad            // '/', controls, space, DEL: invalid
	hostSpecial        // '.', ':', '[', ']': looked at by validateHost
)

var hostClass = func() (t [256]uint8) {
	for ch := 0; ch < 256; ch++ {
		switch {
		case ch == '.' || ch == ':' || ch == '[' || ch == ']':
			t[ch] = hostSpecial
		case ch == '/' || ch <= 0x20 || ch == 0x7f:
			t[ch] = hostBad
		case ch >= 'A' && ch <= 'Z':
			t[ch] = hostUpper
		}
	}
	return t
}()

// validateHost mirrors ngx_http_validate_host: it rejects empty hosts,
// "..", '/', controls and spaces, strips the port and a trailing dot and
// lower-cases the result.
func (h *Head) validateHost(host []byte) ([]byte, bool) {
	const (
		usual = iota
		literal
		rest
	)
	state := usual
	dotPos := len(host)
	hostLen := len(host)
	lower := false
	for i := 0; i < len(host); i++ {
		ch := host[i]
		switch hostClass[ch] {
		case hostPlain:
			continue
		case hostUpper:
			lower = true
			continue
		case hostBad:
			return nil, false
		}
		switch ch {
		case '.':
			if dotPos == i-1 {
				return nil, false
			}
			dotPos = i
		case ':':
			if state == usual {
				hostLen = i
				state = rest
			}
		case '[':
			if i == 0 {
				state = literal
			}
		case ']':
			if state == literal {
				hostLen = i + 1
				state = rest
			}
		}
	}
	if dotPos == hostLen-1 {
		hostLen--
	}
	if hostLen <= 0 {
		return nil, false
	}
	if !lower {
		return host[:hostLen], true
	}
	start := len(h.HostBuf)
	for _, c := range host[:hostLen] {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		h.HostBuf = append(h.HostBuf, c)
	}
	return h.HostBuf[start:], true
}

// Finish applies the checks nginx makes once the whole head is read
// (ngx_http_process_request_header), in nginx's order.
func (h *Head) Finish() error {
	if !h.hasHost && h.Line.Version > 1000 {
		return errNoHost
	}
	if h.hasContentLength {
		n, ok := parseContentLength(h.contentLength)
		if !ok {
			return errInvalidCL
		}
		h.ContentLength = n
	}
	if h.hasTE {
		if h.Line.Version < 1001 {
			return errTEOn10
		}
		if EqualFold(h.TransferEncoding, "chunked") {
			if h.hasContentLength {
				return errCLAndTE
			}
			h.Chunked = true
		} else {
			return errUnknownTE
		}
	}
	if h.Line.Method == MethodCONNECT {
		return errConnect
	}
	if h.Line.Method == MethodTRACE {
		return errTrace
	}
	return nil
}

// HasExpect reports whether an Expect header was sent.
func (h *Head) HasExpect() bool { return h.hasExpect }

// parseContentLength mirrors ngx_atoof: digits only, no sign, no
// overflow, not empty.
func parseContentLength(b []byte) (int64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	var n int64
	const cutoff = (1<<63 - 1) / 10
	const cutlim = (1<<63 - 1) % 10
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := int64(c - '0')
		if n >= cutoff && (n > cutoff || d > cutlim) {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

// Header returns the value of the first header named name (lower case).
func (h *Head) Header(name string) ([]byte, bool) {
	for _, f := range h.Headers {
		if EqualFold(f.Name, name) {
			return f.Value, true
		}
	}
	return nil, false
}
