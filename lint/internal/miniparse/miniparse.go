// Package miniparse is a stopgap nginx parser for lint's tests and linttest
// until package parser's loader is committed: words, quotes, braces, ';' and
// comments with positions, Leading/Trailing comments, contexts and a tree.
// No includes, no diagnostics beyond an unexpected end.
package miniparse

import (
	"fmt"
	"strings"

	"github.com/ngxkeep/ngxkeep/parser"
)

// Parse is a small nginx parser: words, quotes, braces, ';' and comments, with
// positions, Leading/Trailing comments, contexts and a tree. No includes.
func Parse(name, src string) (*parser.Config, *parser.Node, error) {
	f := &parser.File{Name: name, Path: "/abs/" + name, Src: []byte(src)}
	type tok struct {
		text string
		arg  parser.Arg
		kind byte // 'w', '{', '}', ';'
	}
	var toks []tok
	line, col := 1, 1
	pos := func(off int) parser.Pos { return parser.Pos{Offset: off, Line: line, Col: col} }
	adv := func(c byte) {
		if c == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	var lastTokLine int
	comments := map[int]*parser.Comment{} // by index in toks at the time
	_ = comments
	type pending struct {
		c        *parser.Comment
		afterTok int // number of tokens before the comment
		ownLine  bool
	}
	var pend []pending
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			adv(c)
			i++
		case c == '#':
			p := pos(i)
			j := strings.IndexByte(src[i:], '\n')
			if j < 0 {
				j = len(src) - i
			}
			text := strings.TrimRight(src[i:i+j], "\r")
			for k := 0; k < j; k++ {
				adv(src[i+k])
			}
			cm := &parser.Comment{Text: text, Pos: p, End: pos(i + len(text))}
			f.Comments = append(f.Comments, cm)
			pend = append(pend, pending{cm, len(toks), lastTokLine != p.Line})
			i += j
		case c == '{' || c == '}' || c == ';':
			p := pos(i)
			toks = append(toks, tok{kind: c, arg: parser.Arg{Pos: p}})
			lastTokLine = p.Line
			adv(c)
			i++
		default:
			p := pos(i)
			start := i
			var val strings.Builder
			var q byte
			if c == '"' || c == '\'' {
				q = c
				adv(c)
				i++
				for i < len(src) && src[i] != q {
					if src[i] == '\\' && i+1 < len(src) {
						adv(src[i])
						i++
					}
					val.WriteByte(src[i])
					adv(src[i])
					i++
				}
				adv(src[i])
				i++
			} else {
				for i < len(src) && !strings.ContainsRune(" \t\r\n;{}", rune(src[i])) {
					val.WriteByte(src[i])
					adv(src[i])
					i++
				}
			}
			toks = append(toks, tok{kind: 'w', arg: parser.Arg{Raw: src[start:i], Value: val.String(), Quote: q, Pos: p, End: pos(i)}})
			lastTokLine = p.Line
		}
	}
	// Build directives.
	k := 0
	unexpected := false
	var block func(parent *parser.Directive) []*parser.Directive
	dirStartTok := map[*parser.Directive]int{}
	dirEndTok := map[*parser.Directive]int{}
	openTok := map[*parser.Directive]int{}
	block = func(parent *parser.Directive) []*parser.Directive {
		var out []*parser.Directive
		for k < len(toks) {
			if toks[k].kind == '}' {
				if parent != nil {
					parent.Block.Close = toks[k].arg.Pos
					parent.End = parser.Pos{Offset: toks[k].arg.Pos.Offset + 1, Line: toks[k].arg.Pos.Line, Col: toks[k].arg.Pos.Col + 1}
					dirEndTok[parent] = k
				}
				k++
				return out
			}
			d := &parser.Directive{File: f, Name: toks[k].arg.Value, Pos: toks[k].arg.Pos}
			dirStartTok[d] = k
			k++
			for k < len(toks) && toks[k].kind == 'w' {
				d.Args = append(d.Args, toks[k].arg)
				k++
			}
			if k >= len(toks) {
				unexpected = true
				return out
			}
			if toks[k].kind == ';' {
				d.End = parser.Pos{Offset: toks[k].arg.Pos.Offset + 1, Line: toks[k].arg.Pos.Line, Col: toks[k].arg.Pos.Col + 1}
				dirEndTok[d] = k
				k++
			} else if toks[k].kind == '{' {
				d.Block = &parser.Block{Open: toks[k].arg.Pos}
				openTok[d] = k // trailing comment after '{'
				k++
				d.Block.Directives = block(d)
			}
			out = append(out, d)
		}
		return out
	}
	f.Directives = block(nil)
	if unexpected {
		return nil, nil, fmt.Errorf("%s: unexpected end of file", name)
	}
	// Attach comments: trailing (same line as the ';' or '{' token) and
	// leading (own-line comments directly above).
	var all []*parser.Directive
	var walk func(ds []*parser.Directive)
	walk = func(ds []*parser.Directive) {
		for _, d := range ds {
			all = append(all, d)
			if d.Block != nil {
				walk(d.Block.Directives)
			}
		}
	}
	walk(f.Directives)
	for _, p := range pend {
		if !p.ownLine {
			for _, d := range all {
				et, ok := openTok[d]
				if !ok {
					et = dirEndTok[d]
				}
				if p.afterTok == et+1 && toks[et].arg.Pos.Line == p.c.Pos.Line {
					d.Trailing = p.c
				}
			}
			continue
		}
		for _, d := range all {
			if dirStartTok[d] == p.afterTok && d.Pos.Line > p.c.Pos.Line {
				d.Leading = append(d.Leading, p.c)
			}
		}
	}
	// Drop leading comments separated by a blank line.
	for _, d := range all {
		for len(d.Leading) > 0 {
			lastLine := d.Pos.Line
			ok := true
			for i := len(d.Leading) - 1; i >= 0; i-- {
				if d.Leading[i].Pos.Line != lastLine-1 {
					d.Leading = d.Leading[i+1:]
					ok = false
					break
				}
				lastLine = d.Leading[i].Pos.Line
			}
			if ok {
				break
			}
		}
	}
	cfg := &parser.Config{Name: name, Main: f, Files: []*parser.File{f}}
	root := &parser.Node{Ctx: parser.CtxMain}
	var build func(parent *parser.Node, ds []*parser.Directive, ctx parser.Context)
	build = func(parent *parser.Node, ds []*parser.Directive, ctx parser.Context) {
		for _, d := range ds {
			n := &parser.Node{Directive: d, Parent: parent, Ctx: ctx}
			parent.Children = append(parent.Children, n)
			if d.Block != nil {
				build(n, d.Block.Directives, childCtx(ctx, d.Name))
			}
		}
	}
	build(root, f.Directives, parser.CtxMain)
	return cfg, root, nil
}

func childCtx(ctx parser.Context, name string) parser.Context {
	switch name {
	case "events":
		return parser.CtxEvents
	case "http":
		return parser.CtxHTTP
	case "stream":
		return parser.CtxStream
	case "server":
		switch ctx {
		case parser.CtxStream:
			return parser.CtxStreamServer
		}
		return parser.CtxServer
	case "location":
		return parser.CtxLocation
	case "upstream":
		if ctx == parser.CtxStream {
			return parser.CtxStreamUpstream
		}
		return parser.CtxUpstream
	case "if":
		if ctx == parser.CtxServer {
			return parser.CtxServerIf
		}
		return parser.CtxLocationIf
	case "limit_except":
		return parser.CtxLimitExcept
	}
	return parser.CtxOpaque
}
