package upstream

import "testing"

// FuzzHeaderLine checks parseHeaderLine against the byte-at-a-time
// parser it replaced (parseHeaderLineRef): same header, length, end and
// error for every input, prefixes included.
func FuzzHeaderLine(f *testing.F) {
	for _, s := range []string{
		"Content-Length: 5\r\n", "X:  a b  \r\n", "X: a\r\r\n", "X: a\rb\n", "X: a\x00b\r\n",
		"X: a\r\x00\n", "Foo\r\n", "Foo\n", "HTTP/1.1 200 OK\r\n", "HTTP", "Bad Name: 1\r\n",
		":x\r\n", "\r\n", "\n", "\rx", "X:\r\n", "X: \xff\r\n", "\xc3\xa9: 1\r\n", "X\x7f: 1\r\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for k := 0; k <= len(s); k++ {
			b := s[:k]
			n1, v1, c1, d1, e1 := parseHeaderLine(b)
			n2, v2, c2, d2, e2 := parseHeaderLineRef(b)
			if n1 != n2 || v1 != v2 || c1 != c2 || d1 != d2 || (e1 == nil) != (e2 == nil) || (e1 != nil && e1.Error() != e2.Error()) {
				t.Fatalf("%q: got %q %q %d %v %v, want %q %q %d %v %v", b, n1, v1, c1, d1, e1, n2, v2, c2, d2, e2)
			}
		}
	})
}

// parseHeaderLineRef is the byte-at-a-time parseHeaderLine before it
// scanned with IndexByte, kept to check the new one against:
// ngx_http_parse_header_line for upstream responses
// (underscores allowed). It returns one header, or done at the empty line.
func parseHeaderLineRef(buf string) (name, value string, n int, done bool, err error) {
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
	i := 0
	nameEnd := -1
	for ; i < len(buf); i++ {
		c = buf[i]
		if c == ':' {
			nameEnd = i
			i++
			break
		}
		if c == '\r' || c == '\n' {
			// a header line without a colon: a name with an empty value
			return lineEndRef(buf, i, buf[:i], "")
		}
		if c == '/' && i == 4 && buf[:4] == "HTTP" {
			// IIS may send a duplicate "HTTP/1.1 ..." line: ignore it
			j := indexByte(buf, '\n')
			if j < 0 {
				return "", "", 0, false, errIncomplete
			}
			return "", "", j + 1, false, nil
		}
		if c <= 0x20 || c == 0x7f {
			return "", "", 0, false, invalidHeader("upstream sent invalid header: %q", printable(buf[:i+1]))
		}
	}
	if nameEnd < 0 {
		return "", "", 0, false, errIncomplete
	}
	name = buf[:nameEnd]
	for i < len(buf) && buf[i] == ' ' {
		i++
	}
	vstart := i
	vend := i
	for ; i < len(buf); i++ {
		c = buf[i]
		switch c {
		case '\r', '\n':
			return lineEndRef(buf, i, name, buf[vstart:vend])
		case 0:
			return "", "", 0, false, invalidHeader("upstream sent invalid header: %q", printable(buf[:i+1]))
		case ' ':
		default:
			vend = i + 1
		}
	}
	return "", "", 0, false, errIncomplete
}

func lineEndRef(buf string, i int, name, value string) (string, string, int, bool, error) {
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
