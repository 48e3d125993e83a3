package h1

// URI is a request target split the way nginx splits it.
type URI struct {
	// Path is the decoded and normalized path (nginx r->uri): "%XX"
	// decoded, "." and ".." segments resolved, "//" merged when asked.
	Path []byte
	// Args is the query string without the '?' (nginx r->args).
	Args []byte
	// Exten is the extension of the last path segment (nginx r->exten).
	Exten []byte
}

// ProcessURI computes the path, arguments and extension of a parsed request
// line, like ngx_http_process_request_uri. Complex targets are decoded into
// dst (which is grown as needed and returned for reuse); simple ones are
// sub-slices of rl.URI. It reports false for a target nginx rejects with
// 400 (bad %-escape, ".." above the root, an encoded NUL).
func ProcessURI(rl *RequestLine, mergeSlashes bool, dst []byte) (URI, []byte, bool) {
	var u URI
	raw := rl.URI
	pathEnd := len(raw)
	if rl.ArgsStart >= 0 {
		pathEnd = rl.ArgsStart - 1
		if rl.ArgsStart < len(raw) {
			u.Args = raw[rl.ArgsStart:]
		}
	}
	if rl.ComplexURI || rl.QuotedURI || rl.EmptyPathInURI {
		n := pathEnd + 1
		if cap(dst) < n {
			dst = make([]byte, 0, n+64)
		}
		var ok bool
		var args []byte
		var argsSet bool
		u.Path, u.Exten, args, argsSet, ok = parseComplexURI(raw, rl.EmptyPathInURI, mergeSlashes, dst[:0])
		if !ok {
			return URI{}, dst, false
		}
		if argsSet {
			u.Args = args
		}
		return u, dst, true
	}
	u.Path = raw[:pathEnd]
	if rl.ExtStart >= 0 && rl.ExtStart <= pathEnd {
		u.Exten = raw[rl.ExtStart:pathEnd]
	}
	return u, dst, true
}

// complex URI states (ngx_http_parse_complex_uri)
const (
	cuUsual = iota
	cuSlash
	cuDot
	cuDotDot
	cuQuoted
	cuQuotedSecond
)

// parseComplexURI mirrors ngx_http_parse_complex_uri (non-Windows). It
// returns the decoded path, the extension, the args when a '#' ends them
// early, and false for an invalid target.
func parseComplexURI(raw []byte, emptyPath, mergeSlashes bool, u []byte) (path, exten, args []byte, argsSet, ok bool) {
	state, quotedState := cuUsual, cuUsual
	var decoded byte
	ext := -1
	if emptyPath {
		u = append(u, '/')
	}
	// nginx reads one byte past the URI (the line end); a sentinel stands
	// in for it so the loop shape matches.
	at := func(i int) byte {
		if i < len(raw) {
			return raw[i]
		}
		return '\n'
	}
	p := 0
	ch := at(p)
	p++
	backToSlash := func() bool {
		// u -= 4 (past "/..") then back to the previous '/'
		i := len(u) - 4
		for {
			if i < 0 {
				return false
			}
			if u[i] == '/' {
				u = u[:i+1]
				return true
			}
			i--
		}
	}
	finish := func() ([]byte, []byte) {
		var e []byte
		if ext >= 0 && ext <= len(u) {
			e = u[ext:]
		}
		return u, e
	}
	for p <= len(raw) {
		switch state {
		case cuUsual:
			if usual[ch] {
				u = append(u, ch)
				ch = at(p)
				p++
				break
			}
			switch ch {
			case '/':
				ext = -1
				state = cuSlash
				u = append(u, ch)
			case '%':
				quotedState = state
				state = cuQuoted
			case '?':
				path, exten = finish()
				args, argsSet = argsUntilHash(raw, p)
				return path, exten, args, argsSet, true
			case '#':
				path, exten = finish()
				return path, exten, nil, false, true
			case '.':
				ext = len(u) + 1
				u = append(u, ch)
			default:
				u = append(u, ch)
			}
			ch = at(p)
			p++

		case cuSlash:
			if usual[ch] {
				state = cuUsual
				u = append(u, ch)
				ch = at(p)
				p++
				break
			}
			switch ch {
			case '/':
				if !mergeSlashes {
					u = append(u, ch)
				}
			case '.':
				state = cuDot
				u = append(u, ch)
			case '%':
				quotedState = state
				state = cuQuoted
			case '?':
				path, exten = finish()
				args, argsSet = argsUntilHash(raw, p)
				return path, exten, args, argsSet, true
			case '#':
				path, exten = finish()
				return path, exten, nil, false, true
			default:
				state = cuUsual
				u = append(u, ch)
			}
			ch = at(p)
			p++

		case cuDot:
			if usual[ch] {
				state = cuUsual
				u = append(u, ch)
				ch = at(p)
				p++
				break
			}
			switch ch {
			case '/':
				state = cuSlash
				u = u[:len(u)-1]
			case '.':
				state = cuDotDot
				u = append(u, ch)
			case '%':
				quotedState = state
				state = cuQuoted
			case '?':
				u = u[:len(u)-1]
				path, exten = finish()
				args, argsSet = argsUntilHash(raw, p)
				return path, exten, args, argsSet, true
			case '#':
				u = u[:len(u)-1]
				path, exten = finish()
				return path, exten, nil, false, true
			default:
				state = cuUsual
				u = append(u, ch)
			}
			ch = at(p)
			p++

		case cuDotDot:
			if usual[ch] {
				state = cuUsual
				u = append(u, ch)
				ch = at(p)
				p++
				break
			}
			switch ch {
			case '/', '?', '#':
				if !backToSlash() {
					return nil, nil, nil, false, false
				}
				if ch == '?' {
					path, exten = finish()
					args, argsSet = argsUntilHash(raw, p)
					return path, exten, args, argsSet, true
				}
				if ch == '#' {
					path, exten = finish()
					return path, exten, nil, false, true
				}
				state = cuSlash
			case '%':
				quotedState = state
				state = cuQuoted
			default:
				state = cuUsual
				u = append(u, ch)
			}
			ch = at(p)
			p++

		case cuQuoted:
			if ch >= '0' && ch <= '9' {
				decoded = ch - '0'
				state = cuQuotedSecond
				ch = at(p)
				p++
				break
			}
			c := ch | 0x20
			if c >= 'a' && c <= 'f' {
				decoded = c - 'a' + 10
				state = cuQuotedSecond
				ch = at(p)
				p++
				break
			}
			return nil, nil, nil, false, false

		case cuQuotedSecond:
			if ch >= '0' && ch <= '9' {
				ch = decoded<<4 + (ch - '0')
				if ch == '%' || ch == '#' {
					state = cuUsual
					u = append(u, ch)
					ch = at(p)
					p++
					break
				} else if ch == 0 {
					return nil, nil, nil, false, false
				}
				state = quotedState
				break
			}
			c := ch | 0x20
			if c >= 'a' && c <= 'f' {
				ch = decoded<<4 + (c - 'a') + 10
				if ch == '?' {
					state = cuUsual
					u = append(u, ch)
					ch = at(p)
					p++
					break
				}
				state = quotedState
				break
			}
			return nil, nil, nil, false, false
		}
	}
	switch state {
	case cuQuoted, cuQuotedSecond:
		return nil, nil, nil, false, false
	case cuDot:
		u = u[:len(u)-1]
	case cuDotDot:
		if !backToSlash() {
			return nil, nil, nil, false, false
		}
	}
	path, exten = finish()
	return path, exten, nil, false, true
}

// argsUntilHash returns the args that start at raw[p:], up to a '#' if any
// (ngx_http_parse_complex_uri sets them itself when a '#' ends them;
// otherwise ngx_http_process_request_uri takes them up to the URI end).
func argsUntilHash(raw []byte, p int) ([]byte, bool) {
	for i := p; i < len(raw); i++ {
		if raw[i] == '#' {
			return raw[p:i], true
		}
	}
	if p >= len(raw) {
		return nil, true
	}
	return raw[p:], true
}
