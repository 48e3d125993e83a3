package h1

// Result is the outcome of parsing a request line or a header line.
type Result int

// Parse results. The Err* values are the malformed-request classes nginx
// distinguishes (ngx_http_client_errors plus header errors).
const (
	Again      Result = iota // more bytes are needed
	Done                     // a complete line was parsed
	HeadersEnd               // the empty line ending the header block
	ErrInvalidMethod
	ErrInvalidRequest
	ErrInvalidVersion  // HTTP major version >= 2: 505
	ErrInvalid09Method // HTTP/0.9 request with a method other than GET
	ErrInvalidHeader
)

// Status is the HTTP status nginx answers a parse error with.
func (r Result) Status() int {
	if r == ErrInvalidVersion {
		return 505
	}
	return 400
}

func (r Result) String() string {
	switch r {
	case Again:
		return "again"
	case Done:
		return "done"
	case HeadersEnd:
		return "headers end"
	case ErrInvalidMethod:
		return "client sent invalid method"
	case ErrInvalidRequest:
		return "client sent invalid request"
	case ErrInvalidVersion:
		return "client sent invalid version"
	case ErrInvalid09Method:
		return "client sent invalid method in HTTP/0.9 request"
	case ErrInvalidHeader:
		return "client sent invalid header line"
	}
	return "unknown"
}

// RequestLine is a parsed request line. Offsets are relative to the slice
// given to ParseRequestLine; the byte-slice fields are sub-slices of it.
type RequestLine struct {
	Method     Method
	MethodName []byte
	// Start is the offset of the first byte of the request line (leading
	// CR and LF bytes are skipped, as nginx does).
	Start int
	// Started is false while only CR/LF bytes were seen (nginx sw_start).
	Started bool

	Schema []byte // absolute-form scheme ("http"), else nil
	Host   []byte // absolute-form host without port, else nil
	Port   []byte // absolute-form port, else nil
	// URI is the request target as sent (nginx unparsed_uri), without the
	// scheme and host of an absolute-form target.
	URI []byte
	// ArgsStart is the offset in URI just after the first '?', or -1.
	ArgsStart int
	// ExtStart is the offset in URI of the extension after the last '.'
	// of the last path segment, or -1.
	ExtStart int

	ComplexURI     bool // "/.", "//", "#" seen: needs normalization
	QuotedURI      bool // '%' seen
	PlusInURI      bool
	EmptyPathInURI bool // "http://host?args": the path is empty

	// Line is the request line without its line ending.
	Line []byte

	Major, Minor int
	// Version is Major*1000+Minor, 9 for HTTP/0.9.
	Version int
}

// usual marks the bytes of a URI that need no attention
// (nginx's "usual" table: everything but controls, space, '#', '%', '/',
// '.', '?' and DEL).
var usual = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = c > 0x20 && c != 0x7f && c != '#' && c != '%' && c != '/' && c != '.' && c != '?'
	}
	return
}()

// request line states (ngx_http_parse_request_line)
const (
	rlStart = iota
	rlMethod
	rlSpacesBeforeURI
	rlSchema
	rlSchemaSlash
	rlSchemaSlashSlash
	rlHostStart
	rlHost
	rlHostEnd
	rlHostIPLiteral
	rlPort
	rlAfterSlashInURI
	rlCheckURI
	rlURI
	rlHTTP09
	rlHTTPH
	rlHTTPHT
	rlHTTPHTT
	rlHTTPHTTP
	rlFirstMajorDigit
	rlMajorDigit
	rlFirstMinorDigit
	rlMinorDigit
	rlSpacesAfterDigit
	rlAlmostDone
)

// ParseRequestLine parses the request line at the start of b, mirroring
// ngx_http_parse_request_line byte for byte. It returns the number of bytes
// consumed (through the LF) with Done, 0 with Again when b ends before the
// line does, or an error Result. It is restartable only from the start of
// the line: call it again with the longer slice.
func ParseRequestLine(b []byte, rl *RequestLine) (int, Result) {
	*rl = RequestLine{ArgsStart: -1, ExtStart: -1}
	state := rlStart
	var (
		methodEnd   int
		schemaStart int
		schemaEnd   = -1
		hostStart   = -1
		hostEnd     = -1
		portEnd     = -1
		uriStart    = -1
		uriEnd      = -1
		argsStart   = -1
		uriExt      = -1
		requestEnd  = -1
		major       int
		minor       = -1
		p           int
	)
	for p = 0; p < len(b); p++ {
		ch := b[p]
		switch state {
		case rlStart:
			rl.Start = p
			if ch == '\r' || ch == '\n' {
				break
			}
			rl.Started = true
			if (ch < 'A' || ch > 'Z') && ch != '_' && ch != '-' {
				return 0, ErrInvalidMethod
			}
			state = rlMethod

		case rlMethod:
			if ch == ' ' {
				methodEnd = p
				rl.MethodName = b[rl.Start:p]
				rl.Method = lookupMethod(rl.MethodName)
				state = rlSpacesBeforeURI
				break
			}
			if (ch < 'A' || ch > 'Z') && ch != '_' && ch != '-' {
				return 0, ErrInvalidMethod
			}

		case rlSpacesBeforeURI:
			if ch == '/' {
				uriStart = p
				state = rlAfterSlashInURI
				break
			}
			c := ch | 0x20
			if c >= 'a' && c <= 'z' {
				schemaStart = p
				state = rlSchema
				break
			}
			if ch != ' ' {
				return 0, ErrInvalidRequest
			}

		case rlSchema:
			c := ch | 0x20
			if c >= 'a' && c <= 'z' || ch >= '0' && ch <= '9' || ch == '+' || ch == '-' || ch == '.' {
				break
			}
			if ch != ':' {
				return 0, ErrInvalidRequest
			}
			schemaEnd = p
			state = rlSchemaSlash

		case rlSchemaSlash:
			if ch != '/' {
				return 0, ErrInvalidRequest
			}
			state = rlSchemaSlashSlash

		case rlSchemaSlashSlash:
			if ch != '/' {
				return 0, ErrInvalidRequest
			}
			state = rlHostStart

		case rlHostStart, rlHost, rlHostEnd:
			if state == rlHostStart {
				hostStart = p
				if ch == '[' {
					state = rlHostIPLiteral
					break
				}
				state = rlHost
			}
			if state == rlHost {
				c := ch | 0x20
				if c >= 'a' && c <= 'z' || ch >= '0' && ch <= '9' || ch == '.' || ch == '-' {
					break
				}
			}
			// sw_host_end
			hostEnd = p
			switch ch {
			case ':':
				state = rlPort
			case '/':
				uriStart = p
				state = rlAfterSlashInURI
			case '?':
				uriStart = p
				argsStart = p + 1
				rl.EmptyPathInURI = true
				state = rlURI
			case ' ':
				// nginx points the URI at a single "/": the one after the
				// scheme's "//".
				uriStart = schemaEnd + 1
				uriEnd = schemaEnd + 2
				state = rlHTTP09
			default:
				return 0, ErrInvalidRequest
			}

		case rlHostIPLiteral:
			if ch >= '0' && ch <= '9' {
				break
			}
			c := ch | 0x20
			if c >= 'a' && c <= 'z' {
				break
			}
			switch ch {
			case ':':
			case ']':
				state = rlHostEnd
			case '-', '.', '_', '~', '!', '$', '&', '\'', '(', ')', '*', '+', ',', ';', '=':
			default:
				return 0, ErrInvalidRequest
			}

		case rlPort:
			if ch >= '0' && ch <= '9' {
				break
			}
			switch ch {
			case '/':
				portEnd = p
				uriStart = p
				state = rlAfterSlashInURI
			case '?':
				portEnd = p
				uriStart = p
				argsStart = p + 1
				rl.EmptyPathInURI = true
				state = rlURI
			case ' ':
				portEnd = p
				uriStart = schemaEnd + 1
				uriEnd = schemaEnd + 2
				state = rlHTTP09
			default:
				return 0, ErrInvalidRequest
			}

		case rlAfterSlashInURI:
			if usual[ch] {
				state = rlCheckURI
				break
			}
			switch ch {
			case ' ':
				uriEnd = p
				state = rlHTTP09
			case '\r':
				uriEnd = p
				minor = 9
				state = rlAlmostDone
			case '\n':
				uriEnd = p
				minor = 9
				return finishLine(b, p, rl, methodEnd, schemaStart, schemaEnd, hostStart, hostEnd, portEnd, uriStart, uriEnd, argsStart, uriExt, requestEnd, major, minor)
			case '.':
				rl.ComplexURI = true
				state = rlURI
			case '%':
				rl.QuotedURI = true
				state = rlURI
			case '/':
				rl.ComplexURI = true
				state = rlURI
			case '?':
				argsStart = p + 1
				state = rlURI
			case '#':
				rl.ComplexURI = true
				state = rlURI
			case '+':
				rl.PlusInURI = true
			default:
				if ch < 0x20 || ch == 0x7f {
					return 0, ErrInvalidRequest
				}
				state = rlCheckURI
			}

		case rlCheckURI:
			if usual[ch] {
				q := p + 1
				for q < len(b) && usual[b[q]] {
					q++
				}
				p = q - 1
				break
			}
			switch ch {
			case '/':
				uriExt = -1
				state = rlAfterSlashInURI
			case '.':
				uriExt = p + 1
			case ' ':
				uriEnd = p
				state = rlHTTP09
			case '\r':
				uriEnd = p
				minor = 9
				state = rlAlmostDone
			case '\n':
				uriEnd = p
				minor = 9
				return finishLine(b, p, rl, methodEnd, schemaStart, schemaEnd, hostStart, hostEnd, portEnd, uriStart, uriEnd, argsStart, uriExt, requestEnd, major, minor)
			case '%':
				rl.QuotedURI = true
				state = rlURI
			case '?':
				argsStart = p + 1
				state = rlURI
			case '#':
				rl.ComplexURI = true
				state = rlURI
			case '+':
				rl.PlusInURI = true
			default:
				if ch < 0x20 || ch == 0x7f {
					return 0, ErrInvalidRequest
				}
			}

		case rlURI:
			if usual[ch] {
				q := p + 1
				for q < len(b) && usual[b[q]] {
					q++
				}
				p = q - 1
				break
			}
			switch ch {
			case ' ':
				uriEnd = p
				state = rlHTTP09
			case '\r':
				uriEnd = p
				minor = 9
				state = rlAlmostDone
			case '\n':
				uriEnd = p
				minor = 9
				return finishLine(b, p, rl, methodEnd, schemaStart, schemaEnd, hostStart, hostEnd, portEnd, uriStart, uriEnd, argsStart, uriExt, requestEnd, major, minor)
			case '#':
				rl.ComplexURI = true
			default:
				if ch < 0x20 || ch == 0x7f {
					return 0, ErrInvalidRequest
				}
			}

		case rlHTTP09:
			switch ch {
			case ' ':
			case '\r':
				minor = 9
				state = rlAlmostDone
			case '\n':
				minor = 9
				return finishLine(b, p, rl, methodEnd, schemaStart, schemaEnd, hostStart, hostEnd, portEnd, uriStart, uriEnd, argsStart, uriExt, requestEnd, major, minor)
			case 'H':
				state = rlHTTPH
			default:
				return 0, ErrInvalidRequest
			}

		case rlHTTPH:
			if ch != 'T' {
				return 0, ErrInvalidRequest
			}
			state = rlHTTPHT
		case rlHTTPHT:
			if ch != 'T' {
				return 0, ErrInvalidRequest
			}
			state = rlHTTPHTT
		case rlHTTPHTT:
			if ch != 'P' {
				return 0, ErrInvalidRequest
			}
			state = rlHTTPHTTP
		case rlHTTPHTTP:
			if ch != '/' {
				return 0, ErrInvalidRequest
			}
			state = rlFirstMajorDigit

		case rlFirstMajorDigit:
			if ch < '1' || ch > '9' {
				return 0, ErrInvalidRequest
			}
			major = int(ch - '0')
			if major > 1 {
				return 0, ErrInvalidVersion
			}
			state = rlMajorDigit

		case rlMajorDigit:
			if ch == '.' {
				state = rlFirstMinorDigit
				break
			}
			if ch < '0' || ch > '9' {
				return 0, ErrInvalidRequest
			}
			major = major*10 + int(ch-'0')
			if major > 1 {
				return 0, ErrInvalidVersion
			}

		case rlFirstMinorDigit:
			if ch < '0' || ch > '9' {
				return 0, ErrInvalidRequest
			}
			minor = int(ch - '0')
			state = rlMinorDigit

		case rlMinorDigit:
			if ch == '\r' {
				state = rlAlmostDone
				break
			}
			if ch == '\n' {
				return finishLine(b, p, rl, methodEnd, schemaStart, schemaEnd, hostStart, hostEnd, portEnd, uriStart, uriEnd, argsStart, uriExt, requestEnd, major, minor)
			}
			if ch == ' ' {
				state = rlSpacesAfterDigit
				break
			}
			if ch < '0' || ch > '9' {
				return 0, ErrInvalidRequest
			}
			if minor > 99 {
				return 0, ErrInvalidRequest
			}
			minor = minor*10 + int(ch-'0')

		case rlSpacesAfterDigit:
			switch ch {
			case ' ':
			case '\r':
				state = rlAlmostDone
			case '\n':
				return finishLine(b, p, rl, methodEnd, schemaStart, schemaEnd, hostStart, hostEnd, portEnd, uriStart, uriEnd, argsStart, uriExt, requestEnd, major, minor)
			default:
				return 0, ErrInvalidRequest
			}

		case rlAlmostDone:
			requestEnd = p - 1
			if ch != '\n' {
				return 0, ErrInvalidRequest
			}
			return finishLine(b, p, rl, methodEnd, schemaStart, schemaEnd, hostStart, hostEnd, portEnd, uriStart, uriEnd, argsStart, uriExt, requestEnd, major, minor)
		}
	}
	if state == rlStart {
		rl.Start = len(b)
	}
	return 0, Again
}

func finishLine(b []byte, p int, rl *RequestLine, methodEnd, schemaStart, schemaEnd, hostStart, hostEnd, portEnd, uriStart, uriEnd, argsStart, uriExt, requestEnd, major, minor int) (int, Result) {
	if requestEnd < 0 {
		requestEnd = p
	}
	_ = methodEnd
	rl.Line = b[rl.Start:requestEnd]
	if minor == 9 && major == 0 {
		rl.Major, rl.Minor, rl.Version = 0, 9, 9
	} else {
		if minor < 0 {
			minor = 0
		}
		rl.Major, rl.Minor = major, minor
		rl.Version = major*1000 + minor
	}
	if schemaEnd >= 0 {
		rl.Schema = b[schemaStart:schemaEnd]
	}
	if hostStart >= 0 && hostEnd >= 0 {
		rl.Host = b[hostStart:hostEnd]
		if portEnd >= 0 && hostEnd+1 <= portEnd {
			rl.Port = b[hostEnd+1 : portEnd]
		}
	}
	rl.URI = b[uriStart:uriEnd]
	if argsStart >= 0 {
		rl.ArgsStart = argsStart - uriStart
	}
	if uriExt >= 0 {
		rl.ExtStart = uriExt - uriStart
	}
	if rl.Version == 9 && rl.Method != MethodGET {
		return 0, ErrInvalid09Method
	}
	return p + 1, Done
}
