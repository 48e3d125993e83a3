package parser

import (
	"bufio"
	"io"
	"strconv"
	"unicode/utf8"
)

// WriteJSON writes c as one JSON object: every file once with its
// directives (positions, raw and unquoted arguments, blocks, the files each
// include resolved to as indexes into "files"), comments, the include chain
// of the file's first use, and the diagnostics. It streams, so memory does
// not grow with the output.
//
//	{"config": NAME, "prefix": DIR, "dump": BOOL, "status": "ok"|"failed",
//	 "files": [{"name", "path", "chain": [LINK], "directives": [DIRECTIVE],
//	            "comments": [{"text", "pos", "end"}]}],
//	 "diagnostics": [{"severity", "file", "pos", "end", "message", "chain"}]}
//
// DIRECTIVE is {"name", "pos", "end", "args": [{"raw", "value", "pos",
// "end"}], "block": [DIRECTIVE], "lua": TEXT, "includes": [INDEX]}, POS is
// {"line", "col", "offset"} and LINK is {"file", "line", "col"}.
func (c *Config) WriteJSON(w io.Writer) error {
	j := newJSONWriter(w)
	index := fileIndex(c)
	j.raw(`{"config":`)
	j.str(c.Name)
	j.raw(`,"prefix":`)
	j.str(c.Prefix)
	j.raw(`,"dump":`)
	j.bool(c.Dump)
	j.raw(`,"status":`)
	j.str(status(c))
	j.raw(`,"files":[`)
	for i, f := range c.Files {
		j.comma(i)
		j.raw(`{"name":`)
		j.str(f.Name)
		j.raw(`,"path":`)
		j.str(f.Path)
		j.raw(`,"chain":`)
		j.links(c.FileChain(f))
		j.raw(`,"directives":`)
		j.directives(f.Directives, index)
		j.raw(`,"comments":[`)
		for k, cm := range f.Comments {
			j.comma(k)
			j.raw(`{"text":`)
			j.str(cm.Text)
			j.raw(`,"pos":`)
			j.pos(cm.Pos)
			j.raw(`,"end":`)
			j.pos(cm.End)
			j.raw(`}`)
		}
		j.raw(`]}`)
	}
	j.raw(`],"diagnostics":[`)
	for i, d := range c.Diagnostics {
		j.comma(i)
		j.raw(`{"severity":`)
		j.str(d.Severity.String())
		j.raw(`,"file":`)
		j.str(d.File)
		j.raw(`,"pos":`)
		j.pos(d.Pos)
		j.raw(`,"end":`)
		j.pos(d.End)
		j.raw(`,"message":`)
		j.str(d.Message)
		j.raw(`,"chain":`)
		j.links(d.Chain)
		j.raw(`}`)
	}
	j.raw("]}\n")
	return j.flush()
}

// WriteCrossplane writes configs in the JSON format of "crossplane parse"
// (nginxinc/crossplane), so tools built on crossplane can read it:
//
//	{"status": "ok"|"failed", "errors": [{"file", "line", "error"}],
//	 "config": [{"file", "status", "errors": [{"line", "error"}],
//	             "parsed": [{"directive", "line", "args", "includes", "block"}]}]}
//
// Files of all configs share the "config" list; "includes" are indexes into
// it. The body of a *_by_lua_block is its single argument, as crossplane's
// Lua extension does.
func WriteCrossplane(w io.Writer, configs ...*Config) error {
	j := newJSONWriter(w)
	index := make(map[*File]int)
	var files []*File
	byFile := make(map[*File][]Diagnostic)
	failed := false
	for _, c := range configs {
		for _, f := range c.Files {
			if _, ok := index[f]; !ok {
				index[f] = len(files)
				files = append(files, f)
			}
		}
		for _, d := range c.Diagnostics {
			if d.Severity != SeverityError {
				continue
			}
			failed = true
			for _, f := range c.Files {
				if f.Name == d.File {
					byFile[f] = append(byFile[f], d)
					break
				}
			}
		}
	}
	j.raw(`{"status":`)
	if failed {
		j.str("failed")
	} else {
		j.str("ok")
	}
	j.raw(`,"errors":[`)
	n := 0
	for _, f := range files {
		for _, d := range byFile[f] {
			j.comma(n)
			n++
			j.raw(`{"file":`)
			j.str(f.Path)
			j.raw(`,"line":`)
			j.int(int(d.Pos.Line))
			j.raw(`,"error":`)
			j.str(d.Message)
			j.raw(`}`)
		}
	}
	j.raw(`],"config":[`)
	for i, f := range files {
		j.comma(i)
		j.raw(`{"file":`)
		j.str(f.Path)
		j.raw(`,"status":`)
		if len(byFile[f]) > 0 {
			j.str("failed")
		} else {
			j.str("ok")
		}
		j.raw(`,"errors":[`)
		for k, d := range byFile[f] {
			j.comma(k)
			j.raw(`{"line":`)
			j.int(int(d.Pos.Line))
			j.raw(`,"error":`)
			j.str(d.Message)
			j.raw(`}`)
		}
		j.raw(`],"parsed":`)
		j.crossplane(f.Directives, index)
		j.raw(`}`)
	}
	j.raw("]}\n")
	return j.flush()
}

func status(c *Config) string {
	if c.HasErrors() {
		return "failed"
	}
	return "ok"
}

func fileIndex(c *Config) map[*File]int {
	m := make(map[*File]int, len(c.Files))
	for i, f := range c.Files {
		m[f] = i
	}
	return m
}

// jsonWriter writes JSON tokens to a buffered writer and keeps the first
// error.
type jsonWriter struct {
	w   *bufio.Writer
	buf []byte
}

func newJSONWriter(w io.Writer) *jsonWriter {
	return &jsonWriter{w: bufio.NewWriterSize(w, 64<<10)}
}

func (j *jsonWriter) raw(s string) { j.w.WriteString(s) }

func (j *jsonWriter) comma(i int) {
	if i > 0 {
		j.w.WriteByte(',')
	}
}

func (j *jsonWriter) int(n int) {
	j.buf = strconv.AppendInt(j.buf[:0], int64(n), 10)
	j.w.Write(j.buf)
}

func (j *jsonWriter) bool(b bool) {
	if b {
		j.raw("true")
	} else {
		j.raw("false")
	}
}

// str writes s as a JSON string; invalid UTF-8 becomes U+FFFD, as with
// encoding/json.
func (j *jsonWriter) str(s string) {
	const hex = "0123456789abcdef"
	b := append(j.buf[:0], '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20 || c == 0x7f:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	b = append(b, '"')
	j.buf = b
	j.w.Write(b)
}

func (j *jsonWriter) pos(p Pos) {
	j.raw(`{"line":`)
	j.int(int(p.Line))
	j.raw(`,"col":`)
	j.int(int(p.Col))
	j.raw(`,"offset":`)
	j.int(int(p.Offset))
	j.raw(`}`)
}

func (j *jsonWriter) links(ls []Link) {
	j.raw(`[`)
	for i, l := range ls {
		j.comma(i)
		j.raw(`{"file":`)
		j.str(l.File)
		j.raw(`,"line":`)
		j.int(l.Line)
		j.raw(`,"col":`)
		j.int(l.Col)
		j.raw(`}`)
	}
	j.raw(`]`)
}

func (j *jsonWriter) directives(ds []*Directive, index map[*File]int) {
	j.raw(`[`)
	for i, d := range ds {
		j.comma(i)
		j.raw(`{"name":`)
		j.str(d.Name)
		j.raw(`,"pos":`)
		j.pos(d.Pos)
		j.raw(`,"end":`)
		j.pos(d.End)
		j.raw(`,"args":[`)
		for k, a := range d.Args {
			j.comma(k)
			j.raw(`{"raw":`)
			j.str(a.Raw)
			j.raw(`,"value":`)
			j.str(a.Value)
			j.raw(`,"pos":`)
			j.pos(a.Pos)
			j.raw(`,"end":`)
			j.pos(a.End)
			j.raw(`}`)
		}
		j.raw(`]`)
		if d.Name == "include" && d.Block == nil {
			j.raw(`,"includes":[`)
			for k, f := range d.Include {
				j.comma(k)
				j.int(index[f])
			}
			j.raw(`]`)
		}
		if d.Block != nil {
			if d.Block.Opaque {
				j.raw(`,"lua":`)
				j.str(d.Block.Raw)
			} else {
				j.raw(`,"block":`)
				j.directives(d.Block.Directives, index)
			}
		}
		j.raw(`}`)
	}
	j.raw(`]`)
}

func (j *jsonWriter) crossplane(ds []*Directive, index map[*File]int) {
	j.raw(`[`)
	for i, d := range ds {
		j.comma(i)
		j.raw(`{"directive":`)
		j.str(d.Name)
		j.raw(`,"line":`)
		j.int(int(d.Pos.Line))
		j.raw(`,"args":[`)
		for k, a := range d.Args {
			j.comma(k)
			j.str(a.Value)
		}
		if d.Block != nil && d.Block.Opaque {
			j.comma(len(d.Args))
			j.str(d.Block.Raw)
		}
		j.raw(`]`)
		if d.Name == "include" && d.Block == nil {
			j.raw(`,"includes":[`)
			for k, f := range d.Include {
				j.comma(k)
				j.int(index[f])
			}
			j.raw(`]`)
		}
		if d.Block != nil && !d.Block.Opaque {
			j.raw(`,"block":`)
			j.crossplane(d.Block.Directives, index)
		}
		j.raw(`}`)
	}
	j.raw(`]`)
}

// flush writes what is buffered and returns the first write error.
func (j *jsonWriter) flush() error { return j.w.Flush() }
