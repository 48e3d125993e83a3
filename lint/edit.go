package lint

import (
	"bytes"

	"github.com/ngxkeep/ngxkeep/parser"
)

// The functions below build Edits for Finding.SetFix. They work on the
// directive's own file (n.Directive.File.Src), so an edit in an included snippet
// edits the snippet.

// InsertBefore returns an edit that inserts text (a directive such as
// `proxy_http_version 1.1;`) on its own line just before n, indented like
// n. When n does not start its line, text is inserted before n followed by
// a space.
func InsertBefore(n *parser.Node, text string) Edit {
	src := n.Directive.File.Src
	off := int(n.Pos.Offset)
	start := lineStart(src, off)
	indent := src[start:off]
	if isBlank(indent) {
		return Edit{Start: start, End: start, New: string(indent) + text + "\n", src: n.Directive.File}
	}
	return Edit{Start: off, End: off, New: text + " ", src: n.Directive.File}
}

// InsertAfter returns an edit that inserts text on its own line just after
// n (after its ';' or its block's '}'), indented like n. When something
// other than a comment follows n on its line, text is inserted right after
// n, preceded by a space.
func InsertAfter(n *parser.Node, text string) Edit {
	src := n.Directive.File.Src
	pos, end := int(n.Pos.Offset), int(n.End.Offset)
	start := lineStart(src, pos)
	indent := src[start:pos]
	eol := lineEnd(src, end)
	rest := bytes.TrimSpace(src[end:eol])
	if isBlank(indent) && (len(rest) == 0 || rest[0] == '#') {
		nl := "\n"
		if eol > 0 && eol <= len(src) && eol > end && src[eol-1] == '\r' {
			nl = "\r\n"
			eol--
		}
		return Edit{Start: eol, End: eol, New: nl + string(indent) + text, src: n.Directive.File}
	}
	return Edit{Start: end, End: end, New: " " + text, src: n.Directive.File}
}

// ReplaceArg returns an edit that replaces argument i of n with text (raw:
// quote it yourself if needed).
func ReplaceArg(n *parser.Node, i int, text string) Edit {
	a := n.Args[i]
	return Edit{Start: int(a.Pos.Offset), End: int(a.End.Offset), New: text, src: n.Directive.File}
}

// ReplaceDirective returns an edit that replaces the whole directive n
// (name to ';' or '}') with text.
func ReplaceDirective(n *parser.Node, text string) Edit {
	return Edit{Start: int(n.Pos.Offset), End: int(n.End.Offset), New: text, src: n.Directive.File}
}

// Delete returns an edit that removes directive n; when n is alone on its
// line, the whole line goes, with the comment that trails it.
func Delete(n *parser.Node) Edit {
	src := n.Directive.File.Src
	pos, end := int(n.Pos.Offset), int(n.End.Offset)
	start := lineStart(src, pos)
	eol := lineEnd(src, end)
	rest := bytes.TrimSpace(src[end:eol])
	if isBlank(src[start:pos]) && (len(rest) == 0 || rest[0] == '#') {
		if eol < len(src) {
			eol++ // the '\n'
		}
		return Edit{Start: start, End: eol, src: n.Directive.File}
	}
	return Edit{Start: pos, End: end, src: n.Directive.File}
}

func lineStart(src []byte, off int) int {
	if off > len(src) {
		off = len(src)
	}
	return bytes.LastIndexByte(src[:off], '\n') + 1
}

// lineEnd returns the offset of the '\n' ending the line that holds off, or
// len(src).
func lineEnd(src []byte, off int) int {
	if off > len(src) {
		return len(src)
	}
	i := bytes.IndexByte(src[off:], '\n')
	if i < 0 {
		return len(src)
	}
	return off + i
}

func isBlank(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\r' {
			return false
		}
	}
	return true
}
