package parser

import (
	"fmt"
	"strings"
)

// termKind is what ended a statement, as ngx_conf_read_token reports it.
type termKind uint8

const (
	termSemicolon  termKind = iota // ";" (NGX_OK)
	termBlockStart                 // "{" (NGX_CONF_BLOCK_START)
	termBlockEnd                   // "}" (NGX_CONF_BLOCK_DONE)
	termEOF                        // end of input (NGX_CONF_FILE_DONE)
)

// confBuffer is NGX_CONF_BUFFER: nginx reads a file through a 4096-byte
// buffer, and a token (or comment) that cannot fit in it is an error.
const confBuffer = 4096

// Byte classes for the lexer's hot loops.
const (
	clsSpace   = 1 << iota // ' ', '\t', '\r', '\n': the only separators nginx knows
	clsWordEnd             // ends a bare word: separators, ';', '{'
	clsSpecial             // needs a closer look inside a bare word: '\\', '$', '{'
)

var byteClass = func() (t [256]uint8) {
	for _, c := range []byte{' ', '\t', '\r', '\n'} {
		t[c] |= clsSpace | clsWordEnd
	}
	t[';'] |= clsWordEnd
	t['{'] |= clsWordEnd | clsSpecial
	t['\\'] |= clsSpecial
	t['$'] |= clsSpecial
	return t
}()

// lexer splits one file into statements the way ngx_conf_read_token does,
// keeping positions. It never stops at an error: it reports it through diag
// and continues as nginx would have if the input had been valid.
type lexer struct {
	src  []byte
	text string // src as a string: Raw and most Values are substrings of it
	file *File

	off       int // next byte to read
	line      int // line of src[off]
	lineStart int // offset of the first byte of the current line

	args     []Arg // words of the current statement, reused between statements
	comments []*Comment
	diag     func(pos Pos, msg string)
	errors   int // diagnostics reported so far

	// Trailing-comment attachment: a comment on the same line right after
	// the ';' or '{' that ended trail becomes its Trailing comment.
	trail    *Directive
	trailOff int

	// termPos is the position of the ';', '{' or '}' that ended the last
	// statement, or of the end of input.
	termPos Pos

	// budget, when set, counts down the words and comments the load may
	// still read (MaxWords); stopped is set once it ran out and the rest
	// of the input was skipped.
	budget  *int
	stopped bool
	// tooMany is set once the current statement passed
	// MaxStatementWords and that was reported.
	tooMany bool
}

func newLexer(f *File, text string, diag func(Pos, string)) *lexer {
	lx := &lexer{src: f.Src, text: text, file: f, line: 1}
	lx.diag = func(pos Pos, msg string) {
		lx.errors++
		diag(pos, msg)
	}
	return lx
}

func (lx *lexer) pos(off int) Pos {
	return makePos(off, lx.line, lx.lineStart)
}

// makePos returns the Pos of byte off on line line, which starts at offset
// lineStart. The conversions cannot wrap: parseFile refuses a source larger
// than MaxFileSize, and offsets, lines and columns are at most its length.
func makePos(off, line, lineStart int) Pos {
	return Pos{Offset: int32(off), Line: int32(line), Col: int32(off - lineStart + 1)}
}

// newline records that src[i] is a line feed.
func (lx *lexer) newline(i int) {
	lx.line++
	lx.lineStart = i + 1
}

// next reads one statement into lx.args and reports what ended it
// (ngx_conf_read_token). Errors are reported and recovered from:
// a stray ";" is skipped, a "{" without a name still opens a block, a "}"
// after unterminated words ends the statement and closes the block.
func (lx *lexer) next() termKind {
	lx.args = lx.args[:0]
	lx.tooMany = false
	src := lx.src
	for {
		for lx.off < len(src) && byteClass[src[lx.off]]&clsSpace != 0 {
			if src[lx.off] == '\n' {
				lx.newline(lx.off)
			}
			lx.off++
		}
		if lx.off >= len(src) {
			lx.termPos = lx.pos(lx.off)
			if lx.stopped {
				lx.args = lx.args[:0] // cut by the budget, already reported
				return termEOF
			}
			if len(lx.args) > 0 {
				lx.diag(lx.termPos, `unexpected end of file, expecting ";" or "}"`)
			}
			return termEOF
		}
		c := src[lx.off]
		switch c {
		case ';':
			lx.termPos = lx.pos(lx.off)
			lx.off++
			if len(lx.args) == 0 {
				lx.diag(lx.termPos, `unexpected ";"`)
				continue
			}
			lx.trailOff = lx.off
			return termSemicolon
		case '{':
			lx.termPos = lx.pos(lx.off)
			lx.off++
			if len(lx.args) == 0 {
				lx.diag(lx.termPos, `unexpected "{"`)
			}
			lx.trailOff = lx.off
			return termBlockStart
		case '}':
			lx.termPos = lx.pos(lx.off)
			lx.off++
			lx.trail = nil
			if len(lx.args) > 0 {
				lx.diag(lx.termPos, `unexpected "}"`)
			}
			return termBlockEnd
		case '#':
			lx.comment()
		case '"', '\'':
			lx.trail = nil
			lx.quoted(c)
		default:
			lx.trail = nil
			lx.bare()
		}
	}
}

// spend takes one word or comment from the budget. When none is left it
// reports so at pos, skips the rest of the input and returns false.
func (lx *lexer) spend(pos Pos) bool {
	if lx.budget == nil {
		return true
	}
	if *lx.budget > 0 {
		*lx.budget--
		return true
	}
	if !lx.stopped {
		lx.stopped = true
		lx.diag(pos, fmt.Sprintf("%s %d words and comments in the configuration (ngxkeep's limit); the rest is not read", wordLimitPrefix, MaxWords))
	}
	lx.off = len(lx.src)
	return false
}

// comment reads a "#" comment up to the end of the line.
func (lx *lexer) comment() {
	start := lx.off
	if !lx.spend(lx.pos(start)) {
		return
	}
	end := start
	if i := strings.IndexByte(lx.text[start:], '\n'); i >= 0 {
		end = start + i
	} else {
		end = len(lx.src)
	}
	pos := lx.pos(start)
	lx.checkLong(start, end, 0)
	text := lx.text[start:end]
	text = strings.TrimSuffix(text, "\r")
	c := &Comment{Text: text, Pos: pos, End: lx.pos(start + len(text))}
	lx.comments = append(lx.comments, c)
	if lx.trail != nil && lx.trail.Trailing == nil && onlyBlanks(lx.src[lx.trailOff:start]) {
		lx.trail.Trailing = c
	}
	lx.trail = nil
	lx.off = end
}

func onlyBlanks(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' {
			return false
		}
	}
	return true
}

// quoted reads a single- or double-quoted word. nginx requires a space,
// ";", "{" or ")" after the closing quote.
func (lx *lexer) quoted(q byte) {
	src := lx.src
	start := lx.off
	pos := lx.pos(start)
	i := start + 1
	escaped := false
	for i < len(src) && src[i] != q {
		switch src[i] {
		case '\\':
			escaped = true
			i++
			if i < len(src) && src[i] == '\n' {
				lx.newline(i)
			}
		case '\n':
			lx.newline(i)
		}
		i++
	}
	if i >= len(src) {
		// Unterminated: the word runs to the end of input, and next reports
		// the end of file.
		lx.off = len(src)
		lx.push(start, len(src), pos, start+1, len(src), q, escaped)
		if !lx.checkLong(start+1, len(src), q) {
			lx.diag(pos, "quoted string is not terminated")
		}
		return
	}
	closing := i
	lx.off = closing + 1
	lx.push(start, lx.off, pos, start+1, closing, q, escaped)

	// The quoted word stays "pending" in nginx's buffer until the byte after
	// the closing quote is read, and one byte more when that is a space.
	pendingEnd := closing + 1
	if lx.off < len(src) {
		switch c := src[lx.off]; {
		case byteClass[c]&clsSpace != 0:
			pendingEnd = closing + 2
		case c == ';' || c == '{' || c == ')':
		default:
			lx.diag(lx.pos(lx.off), `unexpected "`+quoteByte(c)+`"`)
		}
	}
	lx.checkLong(start+1, min(pendingEnd, len(src)), q)
}

// bare reads an unquoted word: up to a space, ";" or "{", where "\" makes the
// next byte part of the word and "${" does not end it.
func (lx *lexer) bare() {
	src := lx.src
	start := lx.off
	pos := lx.pos(start)
	i := start
	variable := false
	escaped := false
	for i < len(src) {
		c := src[i]
		if byteClass[c] == 0 {
			variable = false
			i++
			continue
		}
		if c == '{' && variable {
			i++
			continue
		}
		variable = false
		switch {
		case c == '\\':
			escaped = true
			i++
			if i < len(src) {
				if src[i] == '\n' {
					lx.newline(i)
				}
				i++
			}
			continue
		case c == '$':
			variable = true
			i++
			continue
		case byteClass[c]&clsWordEnd != 0:
			goto done
		}
		i++
	}
done:
	lx.off = i
	lx.push(start, i, pos, start, i, 0, escaped)
	pendingEnd := i
	if i < len(src) && byteClass[src[i]]&clsSpace != 0 {
		pendingEnd = i + 1
	}
	lx.checkLong(start, pendingEnd, 0)
}

// checkLong reports a token that nginx cannot hold in its read buffer: the
// bytes from start until the token stops being pending (end) must fit in
// NGX_CONF_BUFFER unless the file ends first (ngx_conf_read_token's "too long
// parameter"). q is the quote of a quoted word (0 otherwise). It reports
// whether it found the problem.
func (lx *lexer) checkLong(start, end int, q byte) bool {
	if end-start < confBuffer || start+confBuffer >= len(lx.src) {
		return false
	}
	// nginx reports the line where the token started.
	line, lineStart := lx.lineOf(start)
	pos := makePos(start, line, lineStart)
	if q != 0 && lx.quotePending(start, q) {
		lx.diag(pos, `too long parameter, probably missing terminating "`+string(q)+`" character`)
		return true
	}
	lx.diag(pos, `too long parameter "`+lx.text[start:start+10]+`..." started`)
	return true
}

// quotePending reports whether the quoted word whose content starts at start
// is still open after NGX_CONF_BUFFER bytes.
func (lx *lexer) quotePending(start int, q byte) bool {
	src := lx.src
	for i := start; i < start+confBuffer; i++ {
		switch src[i] {
		case '\\':
			i++
		case q:
			return false
		}
	}
	return true
}

// lineOf returns the line number and line start of offset off, which must
// not be after lx.off. Only used on the rare error path.
func (lx *lexer) lineOf(off int) (line, lineStart int) {
	line, lineStart = lx.line, lx.lineStart
	for lineStart > off {
		line--
		prev := strings.LastIndexByte(lx.text[:lineStart-1], '\n')
		lineStart = prev + 1
	}
	return line, lineStart
}

// push appends the word src[start:end] whose value is the bytes
// src[vstart:vend] after nginx's escape processing.
func (lx *lexer) push(start, end int, pos Pos, vstart, vend int, q byte, escaped bool) {
	if len(lx.args) >= MaxStatementWords {
		if !lx.tooMany {
			lx.tooMany = true
			lx.diag(pos, fmt.Sprintf("more than %d parameters in one directive (ngxkeep's limit); the rest are not kept", MaxStatementWords-1))
		}
		return
	}
	if !lx.spend(pos) {
		return
	}
	value := lx.text[vstart:vend]
	if escaped {
		value = unescape(value)
	}
	endPos := lx.pos(end)
	lx.args = append(lx.args, Arg{Raw: lx.text[start:end], Value: value, Quote: q, Pos: pos, End: endPos})
}

// unescape applies the escapes ngx_conf_read_token understands: \" \' \\
// \t \r \n. Any other backslash is kept with the byte after it.
func unescape(s string) string {
	if strings.IndexByte(s, '\\') < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' && i+1 < len(s) {
			switch s[i+1] {
			case '"', '\'', '\\':
				i++
				c = s[i]
			case 't':
				i++
				c = '\t'
			case 'r':
				i++
				c = '\r'
			case 'n':
				i++
				c = '\n'
			}
		}
		b.WriteByte(c)
	}
	return b.String()
}

// luaBody reads the body of a *_by_lua_block directive after its "{": Lua
// code up to the matching "}", skipping braces inside Lua strings, long
// brackets and comments. It returns the raw text and the position of the
// closing brace, or ok=false at the end of input.
func (lx *lexer) luaBody() (raw string, closePos Pos, ok bool) {
	src := lx.src
	start := lx.off
	depth := 0
	i := start
	for i < len(src) {
		c := src[i]
		switch c {
		case '\n':
			lx.newline(i)
		case '{':
			depth++
		case '}':
			if depth == 0 {
				closePos = lx.pos(i)
				lx.off = i + 1
				return lx.text[start:i], closePos, true
			}
			depth--
		case '"', '\'':
			i = lx.luaString(i, c)
			continue
		case '[':
			if level, n := longBracket(src, i); n > 0 {
				i = lx.luaLong(i+n, level)
				continue
			}
		case '-':
			if i+1 < len(src) && src[i+1] == '-' {
				i += 2
				if level, n := longBracket(src, i); n > 0 {
					i = lx.luaLong(i+n, level)
					continue
				}
				for i < len(src) && src[i] != '\n' {
					i++
				}
				continue
			}
		}
		i++
	}
	lx.off = len(src)
	return lx.text[start:], lx.pos(len(src)), false
}

// luaString skips a Lua short string starting at src[i] == q and returns
// the offset after it.
func (lx *lexer) luaString(i int, q byte) int {
	src := lx.src
	for i++; i < len(src); i++ {
		switch src[i] {
		case '\\':
			i++
			if i < len(src) && src[i] == '\n' {
				lx.newline(i)
			}
		case '\n':
			// An unfinished short string ends at the line end in Lua.
			lx.newline(i)
			return i + 1
		case q:
			return i + 1
		}
	}
	return i
}

// longBracket reports whether src[i:] opens a Lua long bracket "[[" or
// "[==[" and returns its level and length.
func longBracket(src []byte, i int) (level, n int) {
	if i >= len(src) || src[i] != '[' {
		return 0, 0
	}
	j := i + 1
	for j < len(src) && src[j] == '=' {
		j++
	}
	if j < len(src) && src[j] == '[' {
		return j - i - 1, j - i + 1
	}
	return 0, 0
}

// luaLong skips to the end of a long bracket of the given level.
func (lx *lexer) luaLong(i, level int) int {
	src := lx.src
	for ; i < len(src); i++ {
		switch src[i] {
		case '\n':
			lx.newline(i)
		case ']':
			j := i + 1
			for j < len(src) && src[j] == '=' {
				j++
			}
			if j < len(src) && src[j] == ']' && j-i-1 == level {
				return j + 1
			}
		}
	}
	return i
}

// quoteByte formats c for a message the way nginx prints "%c", with
// control and non-ASCII bytes written as \xNN so messages stay valid UTF-8.
func quoteByte(c byte) string {
	if c < 0x20 || c >= 0x7f {
		const hex = "0123456789abcdef"
		return string([]byte{'\\', 'x', hex[c>>4], hex[c&15]})
	}
	return string(c)
}
