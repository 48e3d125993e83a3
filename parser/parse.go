package parser

import (
	"strings"
	"unsafe"
)

// maxDepth bounds block nesting. Real configurations stay below 20 levels;
// deeper input is still read to its end (so braces stay balanced) but its
// inner blocks are not kept.
const maxDepth = 100

// fileParser builds the directives of one file from the lexer's statements
// (ngx_conf_parse), recovering from every error.
type fileParser struct {
	lx    *lexer
	file  *File
	diags []fileDiag

	depth         int
	stmtMalformed bool // the current statement had a lexical error
	tooDeep       bool // the nesting error was reported
	eofSeen       bool // "unexpected end of file" was reported
	leadFrom      int  // first comment not yet considered as a Leading comment
	arena         *arena
	// malformed collects the directives whose statement had a lexical
	// error: nginx stops there, so they are never judged against the
	// directive table.
	malformed map[*Directive]bool
}

// arena hands out Directives and Args from blocks shared by every file of
// one load, so that loading makes few allocations and wastes little space.
type arena struct {
	dirs []Directive
	args []Arg
	// ptrs is carved into the Directives slices of files and blocks;
	// stack holds the directives of the blocks being read (see block).
	ptrs  []*Directive
	stack []*Directive
	// words is the lexer's buffer for the words of one statement, passed
	// from file to file so that it grows once per load, not once per file.
	words []Arg
}

// Chunk lengths of the arena: as many values as fit in 32 KiB, the largest
// size class of Go's allocator. A larger chunk is rounded up to whole 8 KiB
// pages (256 Directives of 136 bytes would take 40 KiB for 34 KiB).
const (
	dirChunk = 32 << 10 / int(unsafe.Sizeof(Directive{}))
	argChunk = 32 << 10 / int(unsafe.Sizeof(Arg{}))
)

// dirList returns a copy of list whose capacity is its length (nil when
// empty), so appending to it never overwrites a neighbour.
func (a *arena) dirList(list []*Directive) []*Directive {
	n := len(list)
	if n == 0 {
		return nil
	}
	if len(a.ptrs) < n {
		a.ptrs = make([]*Directive, max(1024, n))
	}
	out := a.ptrs[:n:n]
	a.ptrs = a.ptrs[n:]
	copy(out, list)
	return out
}

func (a *arena) directive() *Directive {
	if len(a.dirs) == cap(a.dirs) {
		a.dirs = make([]Directive, 0, dirChunk)
	}
	a.dirs = append(a.dirs, Directive{})
	return &a.dirs[len(a.dirs)-1]
}

// argList returns a slice of n Args whose capacity is n, so appending to it
// never overwrites a neighbour.
func (a *arena) argList(n int) []Arg {
	if len(a.args) < n {
		a.args = make([]Arg, max(argChunk, n))
	}
	list := a.args[:n:n]
	a.args = a.args[n:]
	return list
}

// fileDiag is a problem found in one file, without include chain. order is
// the offset it sorts by: a note about an unclosed "{" sorts with the end of
// file that revealed it.
type fileDiag struct {
	Diagnostic
	order int
}

// parseFile parses f.Src into f.Directives and f.Comments, allocating from
// a and adding directives with lexical errors to malformed, and returns the
// problems found. A source larger than MaxFileSize (given to Parse, or a
// section of such an "nginx -T" dump) is not read: its one problem, at
// 1:1, says so, as Load says it of such a file.
func parseFile(f *File, a *arena, malformed map[*Directive]bool) []fileDiag {
	return parseFileBudget(f, a, malformed, nil)
}

// parseFileBudget is parseFile taking the words and comments it reads from
// *budget (see MaxWords) when budget is not nil.
func parseFileBudget(f *File, a *arena, malformed map[*Directive]bool, budget *int) []fileDiag {
	if len(f.Src) > MaxFileSize {
		// Positions are int32 (see Pos): this bound keeps them exact.
		start := Pos{Line: 1, Col: 1}
		return []fileDiag{{Diagnostic: Diagnostic{Severity: SeverityError, File: f.Name, Pos: start, End: start, Message: errTooLarge.Error()}}}
	}
	// Src is never modified (see File), so the words can share its bytes.
	text := unsafe.String(unsafe.SliceData(f.Src), len(f.Src))
	p := &fileParser{file: f, arena: a, malformed: malformed}
	p.lx = newLexer(f, text, p.error)
	p.lx.budget = budget
	p.lx.args = a.words[:0]
	f.Directives = p.block(nil)
	f.Comments = p.lx.comments
	a.words = p.lx.args
	return p.diags
}

func (p *fileParser) error(pos Pos, msg string) {
	p.errorOrdered(pos, msg, int(pos.Offset))
}

func (p *fileParser) errorOrdered(pos Pos, msg string, order int) {
	if n := len(p.diags); n > 0 && p.diags[n-1].Pos == pos && p.diags[n-1].Message == msg {
		return // one problem seen twice by the recovering lexer
	}
	// Lexical problems are points: End == Pos.
	d := Diagnostic{Severity: SeverityError, File: p.file.Name, Pos: pos, End: pos, Message: msg}
	p.diags = append(p.diags, fileDiag{d, order})
}

// unclosed reports the "{" of d that the end of file left open.
func (p *fileParser) unclosed(d *Directive, eof Pos) {
	if p.lx.stopped {
		d.End = eof // the limit was reported; the rest was not read
		return
	}
	if !p.eofSeen {
		p.eofSeen = true
		p.error(eof, `unexpected end of file, expecting "}"`)
	}
	p.errorOrdered(d.Block.Open, `"{" of "`+d.Name+`" is not closed by a "}"`, int(eof.Offset))
	d.End = eof
}

// block reads directives until the "}" that closes open, or to the end of
// the file for the top level (open == nil). The directives of all open
// blocks collect on one stack shared by the files of a load; each block
// then gets an exactly sized slice of them, instead of one grown by
// doubling per block.
func (p *fileParser) block(open *Directive) []*Directive {
	start := len(p.arena.stack)
	p.readBlock(open)
	list := p.arena.dirList(p.arena.stack[start:])
	clear(p.arena.stack[start:])
	p.arena.stack = p.arena.stack[:start]
	return list
}

// readBlock is block, pushing the directives on the arena's stack.
func (p *fileParser) readBlock(open *Directive) {
	for {
		errs := p.lx.errors
		t := p.lx.next()
		args := p.lx.args
		p.stmtMalformed = p.lx.errors != errs
		switch t {
		case termEOF:
			if len(args) > 0 {
				// The lexer reported the end of file inside a statement.
				p.eofSeen = true
				p.arena.stack = append(p.arena.stack, p.directive(args, p.lx.termPos))
			}
			if open != nil {
				p.unclosed(open, p.lx.termPos)
			}
			return
		case termBlockEnd:
			closePos := p.lx.termPos
			if len(args) > 0 {
				// "unexpected }" was reported: keep what was written.
				d := p.directive(args, closePos)
				d.End = closePos
				p.arena.stack = append(p.arena.stack, d)
			}
			if open == nil {
				if len(args) == 0 {
					p.error(closePos, `unexpected "}"`)
				}
				continue
			}
			open.Block.Close = closePos
			open.End = after(closePos)
			// "} # end of http" comments the block, unless "{" had one.
			p.lx.trail, p.lx.trailOff = open, int(open.End.Offset)
			return
		case termSemicolon:
			d := p.directive(args, p.lx.termPos)
			d.End = after(p.lx.termPos)
			p.lx.trail = d
			p.arena.stack = append(p.arena.stack, d)
		case termBlockStart:
			bracePos := p.lx.termPos
			if len(args) == 0 {
				// "unexpected {" was reported; read the block so that its
				// braces stay balanced, and drop it.
				anon := &Directive{File: p.file, Pos: bracePos, Block: &Block{Open: bracePos}}
				p.body(anon)
				continue
			}
			d := p.directive(args, bracePos)
			d.Block = &Block{Open: bracePos}
			p.lx.trail = d
			p.body(d)
			p.arena.stack = append(p.arena.stack, d)
		}
	}
}

// body reads the block of d after its "{".
func (p *fileParser) body(d *Directive) {
	if strings.HasSuffix(d.Name, "_by_lua_block") {
		raw, closePos, ok := p.lx.luaBody()
		d.Block.Opaque = true
		d.Block.Raw = raw
		if !ok {
			p.unclosed(d, closePos)
			return
		}
		d.Block.Close = closePos
		d.End = after(closePos)
		return
	}
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxDepth {
		if !p.tooDeep {
			p.tooDeep = true
			p.error(d.Block.Open, "blocks are nested too deeply")
		}
		p.skip(d)
		return
	}
	d.Block.Directives = p.block(d)
}

// skip reads statements up to the "}" that closes d without keeping them,
// iteratively, so that absurd nesting cannot exhaust the stack.
func (p *fileParser) skip(d *Directive) {
	level := 0
	for {
		switch p.lx.next() {
		case termEOF:
			if !p.eofSeen && !p.lx.stopped {
				p.eofSeen = true
				p.error(p.lx.termPos, `unexpected end of file, expecting "}"`)
			}
			d.End = p.lx.termPos
			return
		case termBlockStart:
			level++
		case termBlockEnd:
			if level == 0 {
				d.Block.Close = p.lx.termPos
				d.End = after(p.lx.termPos)
				return
			}
			level--
		}
	}
}

func after(p Pos) Pos { return Pos{Offset: p.Offset + 1, Line: p.Line, Col: p.Col + 1} }

// directive makes a Directive from the words of a statement ended at end.
func (p *fileParser) directive(words []Arg, end Pos) *Directive {
	d := p.arena.directive()
	name := words[0]
	d.File = p.file
	d.Name = name.Value
	if name.Quote == 0 {
		if s, ok := internName(p.lx.src[name.Pos.Offset:name.End.Offset]); ok {
			d.Name = s
		}
	}
	d.Pos = name.Pos
	d.End = end
	if p.stmtMalformed {
		p.malformed[d] = true
	}
	if n := len(words) - 1; n > 0 {
		d.Args = p.arena.argList(n)
		copy(d.Args, words[1:])
	}
	p.leading(d)
	return d
}

// leading attaches the comments on the lines directly above d, each alone on
// its line, with no blank line in between.
func (p *fileParser) leading(d *Directive) {
	comments := p.lx.comments
	end := len(comments)
	for end > p.leadFrom && comments[end-1].Pos.Offset > d.Pos.Offset {
		end-- // comments between the arguments of d
	}
	first := end
	line := d.Pos.Line - 1
	for first > p.leadFrom {
		c := comments[first-1]
		if c.Pos.Line != line || !onlyBlanks(p.file.Src[c.Pos.Offset-c.Pos.Col+1:c.Pos.Offset]) {
			break
		}
		first--
		line--
	}
	if first < end {
		d.Leading = comments[first:end:end]
	}
	p.leadFrom = len(comments)
}
