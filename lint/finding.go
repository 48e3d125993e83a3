package lint

import (
	"fmt"

	"github.com/ngxkeep/ngxkeep/parser"
)

// A Finding is one problem found by a rule at one place. Findings are never
// merged: the same snippet included from two locations gives two findings,
// each with its own include chain.
type Finding struct {
	Rule     string // analyzer ID, "KA01"
	Name     string // analyzer name, "pool-needs-http11"
	Severity Severity
	// File is the file to show: the path as given on the command line, or
	// for an included file that path's directory joined with the include's
	// name, so that it can be opened from the working directory.
	File string
	// Pos and End delimit the exact source range (End is exclusive).
	Pos, End parser.Pos
	// Chain is the include chain through which the directive was reached,
	// outermost first (File names in the same form as File).
	Chain []parser.Link
	// Message says what nginx will actually do at runtime: which side
	// closes, when, and what the client sees.
	Message string
	// Related are other places that explain the finding: the upstream
	// block, the backend's keepalive_timeout, the inherited header.
	Related []Related
	// Fix, when not nil, is a machine-applicable correction.
	Fix *Fix
	// Node is the directive the finding is about (set by Pass.Reportf and
	// Pass.ReportArg). It decides which block-scoped suppressions apply and
	// gives the baseline fingerprint its directive path; nil for findings
	// not tied to a directive.
	Node *parser.Node `json:"-"`

	instance *Instance
	sh       *shared // the run, to name files of other instances
	key      string  // fingerprint: rule, file, directive path
	// counted marks a finding of a comparison run (another target
	// version), kept only to be counted: it has no message, related
	// positions, fix or include chain (see Pass.counting).
	counted bool
}

// Related is a secondary position of a finding.
type Related struct {
	File     string
	Pos, End parser.Pos
	Message  string
}

// Fix is a set of byte-range edits on original source files that resolves a
// finding. Edits of one fix are applied together or not at all.
type Fix struct {
	Message string // what the fix does, "add proxy_http_version 1.1"
	Edits   []Edit
}

// Edit replaces the bytes [Start, End) of File with New. Start == End
// inserts. Offsets are byte offsets in the file as read, never in an
// include-expanded view; an edit in an included file applies to that file
// once however many places include it.
type Edit struct {
	File       string // same form as Finding.File
	Start, End int
	New        string

	src *parser.File
}

// AddRelated appends a related position at node n and returns f.
func (f *Finding) AddRelated(n *parser.Node, format string, args ...any) *Finding {
	if n == nil || n.Directive == nil || f.counted {
		return f
	}
	pos, end := NodeRange(n)
	f.Related = append(f.Related, Related{
		File:    f.fileName(n.Directive.File),
		Pos:     pos,
		End:     end,
		Message: fmt.Sprintf(format, args...),
	})
	return f
}

// SetFix attaches a fix made of the given edits and returns f. Build edits
// with InsertBefore, InsertAfter, ReplaceArg, ReplaceDirective or Delete.
func (f *Finding) SetFix(message string, edits ...Edit) *Finding {
	if f.counted {
		return f
	}
	for i := range edits {
		if edits[i].src != nil {
			edits[i].File = f.fileName(edits[i].src)
		}
	}
	f.Fix = &Fix{Message: message, Edits: edits}
	return f
}

// fileName names a file of any instance of the run (a related position
// or an edit may be in another config than the finding).
func (f *Finding) fileName(file *parser.File) string {
	if f.sh != nil {
		if s, ok := f.sh.names[file]; ok {
			return s
		}
	}
	return displayName(f.instance, file)
}

// NodeRange returns the range to underline for a directive: from its name
// to the end of its arguments and ';', or, for a block directive, to the
// end of its last argument (the head before '{').
func NodeRange(n *parser.Node) (pos, end parser.Pos) {
	d := n.Directive
	if d == nil {
		return parser.Pos{}, parser.Pos{}
	}
	if d.Block == nil {
		if d.End.IsValid() {
			return d.Pos, d.End
		}
	}
	if len(d.Args) > 0 {
		return d.Pos, d.Args[len(d.Args)-1].End
	}
	return d.Pos, d.NameEnd()
}

// chainLinks converts a node's include chain.
func chainLinks(inst *Instance, chain []*parser.Directive) []parser.Link {
	if len(chain) == 0 {
		return nil
	}
	links := make([]parser.Link, len(chain))
	for i, d := range chain {
		links[i] = parser.Link{File: displayName(inst, d.File), Line: int(d.Pos.Line), Col: int(d.Pos.Col)}
	}
	return links
}
