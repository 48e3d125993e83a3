package h1

// HeaderLine is one parsed header line. Name and Value are sub-slices of
// the parsed bytes; Value has surrounding spaces removed.
type HeaderLine struct {
	Name  []byte
	Value []byte
	// Invalid is set for names with characters nginx does not accept in a
	// header name (anything but letters, digits and '-', and '_' unless
	// underscores are allowed). Such lines are skipped when
	// ignore_invalid_headers is on, and used as they are otherwise.
	Invalid bool
	// Raw is the whole line without its line ending.
	Raw []byte
}

// header line states (ngx_http_parse_header_line)
const (
	hlStart = iota
	hlName
	hlSpaceBeforeValue
	hlValue
	hlSpaceAfterValue
	hlAlmostDone
	hlHeaderAlmostDone
)

// valueStop marks the bytes a header value scan must look at.
var valueStop = func() (t [256]bool) {
	t[' '], t['\r'], t['\n'], t[0] = true, true, true, true
	return
}()

var tokenLower = func() (t [256]byte) {
	for c := '0'; c <= '9'; c++ {
		t[c] = byte(c)
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = byte(c)
		t[c-'a'+'A'] = byte(c)
	}
	t['-'] = '-'
	return
}()

// ParseHeaderLine parses the header line at the start of b, mirroring
// ngx_http_parse_header_line for requests. It returns the bytes consumed
// with Done (a header line) or HeadersEnd (the empty line), 0 with Again,
// or ErrInvalidHeader (a control byte or space in a name, a line starting
// with a space, i.e. obs-fold, a NUL in a value, a bare CR). Started
// reports whether any byte of a line was seen (nginx r->state != 0).
func ParseHeaderLine(b []byte, allowUnderscores bool, h *HeaderLine) (n int, res Result, started bool) {
	*h = HeaderLine{}
	state := hlStart
	nameEnd, valStart, valEnd := 0, 0, 0
	for p := 0; p < len(b); p++ {
		ch := b[p]
		switch state {
		case hlStart:
			switch ch {
			case '\r':
				state = hlHeaderAlmostDone
			case '\n':
				return p + 1, HeadersEnd, true
			default:
				state = hlName
				if tokenLower[ch] != 0 {
					break
				}
				if ch == '_' {
					if !allowUnderscores {
						h.Invalid = true
					}
					break
				}
				if ch <= 0x20 || ch == 0x7f || ch == ':' {
					return 0, ErrInvalidHeader, true
				}
				h.Invalid = true
			}

		case hlName:
			if tokenLower[ch] != 0 {
				q := p + 1
				for q < len(b) && tokenLower[b[q]] != 0 {
					q++
				}
				p = q - 1
				break
			}
			if ch == '_' {
				if !allowUnderscores {
					h.Invalid = true
				}
				break
			}
			switch ch {
			case ':':
				nameEnd = p
				state = hlSpaceBeforeValue
				continue
			case '\r':
				nameEnd, valStart, valEnd = p, p, p
				state = hlAlmostDone
				continue
			case '\n':
				nameEnd, valStart, valEnd = p, p, p
				return finishHeader(b, p, h, nameEnd, valStart, valEnd)
			}
			if ch <= 0x20 || ch == 0x7f {
				return 0, ErrInvalidHeader, true
			}
			h.Invalid = true

		case hlSpaceBeforeValue:
			switch ch {
			case ' ':
			case '\r':
				valStart, valEnd = p, p
				state = hlAlmostDone
			case '\n':
				valStart, valEnd = p, p
				return finishHeader(b, p, h, nameEnd, valStart, valEnd)
			case 0:
				return 0, ErrInvalidHeader, true
			default:
				valStart = p
				state = hlValue
			}

		case hlValue:
			// Fast path: skip the bytes that need no attention.
			q := p
			for q < len(b) && !valueStop[b[q]] {
				q++
			}
			if q == len(b) {
				p = q - 1
				continue
			}
			p, ch = q, b[q]
			switch ch {
			case ' ':
				valEnd = p
				state = hlSpaceAfterValue
			case '\r':
				valEnd = p
				state = hlAlmostDone
			case '\n':
				valEnd = p
				return finishHeader(b, p, h, nameEnd, valStart, valEnd)
			case 0:
				return 0, ErrInvalidHeader, true
			}

		case hlSpaceAfterValue:
			switch ch {
			case ' ':
			case '\r':
				state = hlAlmostDone
			case '\n':
				return finishHeader(b, p, h, nameEnd, valStart, valEnd)
			case 0:
				return 0, ErrInvalidHeader, true
			default:
				state = hlValue
			}

		case hlAlmostDone:
			switch ch {
			case '\n':
				return finishHeader(b, p, h, nameEnd, valStart, valEnd)
			case '\r':
			default:
				return 0, ErrInvalidHeader, true
			}

		case hlHeaderAlmostDone:
			if ch != '\n' {
				return 0, ErrInvalidHeader, true
			}
			return p + 1, HeadersEnd, true
		}
	}
	return 0, Again, len(b) > 0
}

func finishHeader(b []byte, p int, h *HeaderLine, nameEnd, valStart, valEnd int) (int, Result, bool) {
	h.Name = b[:nameEnd]
	h.Value = b[valStart:valEnd]
	end := p
	if end > 0 && b[end-1] == '\r' {
		end--
	}
	h.Raw = b[:end]
	return p + 1, Done, true
}

// EqualFold reports whether a equals the lower-case ASCII name b, ignoring
// case.
func EqualFold(a []byte, lower string) bool {
	if len(a) != len(lower) {
		return false
	}
	for i := 0; i < len(a); i++ {
		c := a[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// containsFold reports whether s contains the lower-case ASCII word sub,
// ignoring case (nginx ngx_strcasestrn).
func containsFold(s []byte, sub string) bool {
	n := len(sub)
	for i := 0; i+n <= len(s); i++ {
		if EqualFold(s[i:i+n], sub) {
			return true
		}
	}
	return false
}

// contains reports whether s contains sub, case-sensitively (ngx_strstrn).
func contains(s []byte, sub string) bool {
	return index(s, sub) >= 0
}

func index(s []byte, sub string) int {
	n := len(sub)
	for i := 0; i+n <= len(s); i++ {
		if string(s[i:i+n]) == sub {
			return i
		}
	}
	return -1
}
