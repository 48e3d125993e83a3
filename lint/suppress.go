package lint

import (
	"fmt"
	"strings"

	"github.com/ngxkeep/ngxkeep/parser"
)

// The built-in pseudo-rules about suppression comments.
var (
	// InvalidSuppression reports a suppression comment without a reason,
	// naming an unknown rule, or attached to nothing.
	InvalidSuppression = &Analyzer{
		ID:       "NK01",
		Name:     "invalid-suppression",
		Severity: SeverityWarning,
		Scope:    Single,
		Doc: `A "# ngxkeep:ignore" comment is malformed: it has no reason, names an unknown rule, or applies to no directive.

Suppressions document why a finding is accepted; the reason is mandatory so that
the next reader knows whether it still holds. Write the rule IDs or names
(comma-separated, no spaces) and then the reason:

    # ngxkeep:ignore KA08,TO01 legacy app closes connections itself

A suppression on the line above a directive, or after it on the same line,
covers that directive; on a block's opening line (or the line above it) it
covers the whole block, including files included inside it. A suppression at
the top of a file, separated from the first directive by a blank line, covers
the whole file and the files it includes.`,
		Bad:  "# ngxkeep:ignore KA08\nhttp {\n}\n",
		Good: "# ngxkeep:ignore KA08 the app tier cannot keep connections open\nhttp {\n}\n",
		Run:  func(*Pass) error { return nil },
	}
	// UnusedSuppression reports a suppression that suppressed nothing.
	UnusedSuppression = &Analyzer{
		ID:       "NK02",
		Name:     "unused-suppression",
		Severity: SeverityWarning,
		Scope:    Single,
		Doc: `A "# ngxkeep:ignore" comment suppresses a rule that reports nothing where the comment applies.

The problem it was written for is gone (or the comment sits on the wrong line),
so the comment now only hides future findings. Remove it, or move it to the
directive the rule reports. Suppressions of rules that did not run (disabled,
or outside the target version's range) are not reported.`,
		Bad:  "http {\n    keepalive_timeout 65s; # ngxkeep:ignore TO06 header timeout is fine\n}\n",
		Good: "http {\n    keepalive_timeout 65s;\n}\n",
		Run:  func(*Pass) error { return nil },
	}
)

// ConfigErrorRule is the pseudo-rule under which formats that only know
// findings (SARIF, GitHub annotations, checkstyle) show problems reading a
// config: parse errors and warnings.
var ConfigErrorRule = &Analyzer{
	ID:       "NK00",
	Name:     "config-error",
	Severity: SeverityError,
	Scope:    Single,
	Doc: `nginx cannot read this configuration (or reads it with a warning).

The message uses nginx's wording (unexpected "}", directive "x" is not
terminated by ";", unknown directive "x"). nginx -t would refuse a config with
an error, so the other findings may be incomplete: fix these first. Config
errors make ngxkeep lint exit with status 2.`,
	Bad:  "http {\n    keepalive_timeout 65s\n}\n",
	Good: "http {\n    keepalive_timeout 65s;\n}\n",
	Run:  func(*Pass) error { return nil },
}

// Builtins returns the engine's own pseudo-rules (config errors and
// suppression checks), for explain and SARIF rule lists.
func Builtins() []*Analyzer {
	return []*Analyzer{ConfigErrorRule, InvalidSuppression, UnusedSuppression}
}

const suppressPrefix = "ngxkeep:ignore"

// suppression is one "# ngxkeep:ignore" comment.
type suppression struct {
	in      *Instance
	file    *parser.File
	comment *parser.Comment
	rules   []string // resolved IDs
	reason  string
	// target is the directive it applies to; nil for file scope.
	target *parser.Directive
	used   map[string]bool
	bad    []string // problems to report as NK01
}

type suppressions struct {
	byDir  map[*parser.Directive][]*suppression
	byFile map[*parser.File][]*suppression
	all    []*suppression
}

// collectSuppressions reads the suppression comments of every file of the
// instances (each file once).
func collectSuppressions(ins []*Instance, known []*Analyzer) *suppressions {
	s := &suppressions{byDir: map[*parser.Directive][]*suppression{}, byFile: map[*parser.File][]*suppression{}}
	all := append(append([]*Analyzer(nil), known...), Builtins()...)
	seen := map[*parser.File]bool{}
	for _, in := range ins {
		if in.Config == nil {
			continue
		}
		for _, f := range in.Config.Files {
			if seen[f] {
				continue
			}
			seen[f] = true
			s.collectFile(in, f, all)
		}
	}
	return s
}

func (s *suppressions) collectFile(in *Instance, f *parser.File, all []*Analyzer) {
	var any bool
	for _, c := range f.Comments {
		if strings.Contains(c.Text, suppressPrefix) {
			any = true
			break
		}
	}
	if !any {
		return
	}
	owner := map[*parser.Comment]*parser.Directive{}
	// closers holds the directives that end on each line, for comments
	// after a block's closing "}" ("location / { ... } # ngxkeep:ignore").
	closers := map[int32][]*parser.Directive{}
	var visit func(ds []*parser.Directive)
	visit = func(ds []*parser.Directive) {
		for _, d := range ds {
			closers[d.End.Line] = append(closers[d.End.Line], d)
			for _, c := range d.Leading {
				owner[c] = d
			}
			if d.Trailing != nil {
				owner[d.Trailing] = d
			}
			if d.Block != nil {
				visit(d.Block.Directives)
			}
		}
	}
	visit(f.Directives)
	var first parser.Pos
	if len(f.Directives) > 0 {
		first = f.Directives[0].Pos
	}
	for _, c := range f.Comments {
		body, ok := suppressionBody(c.Text)
		if !ok {
			continue
		}
		sp := &suppression{in: in, file: f, comment: c, used: map[string]bool{}}
		sp.parse(body, all)
		d := owner[c]
		if d == nil {
			// The outermost directive whose end is followed on the same
			// line by nothing but the comment.
			for _, cd := range closers[c.Pos.Line] {
				if cd.End.Offset <= c.Pos.Offset && isBlank(f.Src[cd.End.Offset:c.Pos.Offset]) {
					d = cd
					break
				}
			}
		}
		if d != nil {
			sp.target = d
			s.byDir[d] = append(s.byDir[d], sp)
		} else if !first.IsValid() || c.Pos.Offset < first.Offset {
			s.byFile[f] = append(s.byFile[f], sp)
		} else {
			sp.rules = nil // reported once, as NK01
			sp.bad = append(sp.bad, "the suppression applies to no directive: put it on the line above the directive, or after it on the same line")
		}
		s.all = append(s.all, sp)
	}
}

// suppressionBody returns the text after "ngxkeep:ignore" when c is a
// suppression comment.
func suppressionBody(text string) (string, bool) {
	t := strings.TrimLeft(text, "#")
	t = strings.TrimSpace(t)
	rest, ok := strings.CutPrefix(t, suppressPrefix)
	if !ok || (rest != "" && rest[0] != ' ' && rest[0] != '\t') {
		return "", false
	}
	return strings.TrimSpace(rest), true
}

// parse reads "ID[,ID...] reason".
func (sp *suppression) parse(body string, all []*Analyzer) {
	list, reason, _ := strings.Cut(body, " ")
	// Allow "KA01, KA02 reason": a list ending in ',' continues.
	for strings.HasSuffix(list, ",") && reason != "" {
		var next string
		next, reason, _ = strings.Cut(strings.TrimSpace(reason), " ")
		list += next
	}
	sp.reason = strings.TrimSpace(reason)
	if list == "" {
		sp.bad = append(sp.bad, "the suppression names no rule: write # ngxkeep:ignore <ID>[,<ID>...] <reason>")
		return
	}
	for _, r := range strings.Split(list, ",") {
		if r == "" {
			continue
		}
		a := FindAnalyzer(r, all)
		if a == nil {
			var cands []string
			for _, a := range all {
				cands = append(cands, a.ID, a.Name)
			}
			sp.bad = append(sp.bad, fmt.Sprintf("the suppression names an unknown rule %q.%s", r, didYouMean(r, cands)))
			continue
		}
		sp.rules = append(sp.rules, a.ID)
	}
	if sp.reason == "" {
		sp.bad = append(sp.bad, fmt.Sprintf("the suppression of %s has no reason: say why the finding is accepted after the rule list", strings.Join(sp.rules, ",")))
	}
}

func (sp *suppression) covers(rule string) bool {
	for _, r := range sp.rules {
		if r == rule {
			return true
		}
	}
	return false
}

func (s *suppressions) resetUse() {
	for _, sp := range s.all {
		clear(sp.used)
	}
}

// apply drops suppressed findings and returns the rest with the number
// dropped.
func (s *suppressions) apply(fs []*Finding) ([]*Finding, int) {
	if len(s.all) == 0 {
		return fs, 0
	}
	out := fs[:0]
	n := 0
	for _, f := range fs {
		if sp := s.match(f); sp != nil {
			sp.used[f.Rule] = true
			n++
			continue
		}
		out = append(out, f)
	}
	return out, n
}

// match returns the suppression that covers f, or nil. A suppression covers
// a finding when it is attached to the finding's directive, to one of its
// enclosing blocks, or to an include directive through which it was reached,
// or when it has file scope in the finding's file or in a file that
// (transitively) includes it.
func (s *suppressions) match(f *Finding) *suppression {
	if f.Node == nil || f.Node.Directive == nil {
		return s.matchByPosition(f)
	}
	for n := f.Node; n != nil && n.Directive != nil; n = n.Parent {
		for _, sp := range s.byDir[n.Directive] {
			if sp.covers(f.Rule) {
				return sp
			}
		}
	}
	for i := len(f.Node.Chain) - 1; i >= 0; i-- {
		d := f.Node.Chain[i]
		for _, sp := range s.byDir[d] {
			if sp.covers(f.Rule) {
				return sp
			}
		}
	}
	for _, sp := range s.byFile[f.Node.Directive.File] {
		if sp.covers(f.Rule) {
			return sp
		}
	}
	for _, d := range f.Node.Chain {
		for _, sp := range s.byFile[d.File] {
			if sp.covers(f.Rule) {
				return sp
			}
		}
	}
	return nil
}

// matchByPosition handles findings without a directive: a suppression
// covers them when its directive's lines contain the finding's line.
func (s *suppressions) matchByPosition(f *Finding) *suppression {
	for _, sp := range s.all {
		if !sp.covers(f.Rule) || displayName(sp.in, sp.file) != f.File {
			continue
		}
		if sp.target == nil {
			return sp
		}
		if f.Pos.Line >= sp.target.Pos.Line && f.Pos.Line <= sp.target.End.Line {
			return sp
		}
	}
	return nil
}

// report returns the NK01 and NK02 findings: malformed suppressions, and
// suppressions of rules that ran (ran) but matched nothing.
func (s *suppressions) report(ran, enabled map[string]bool) []*Finding {
	var out []*Finding
	for _, sp := range s.all {
		mk := func(a *Analyzer, msg string) {
			out = append(out, &Finding{Rule: a.ID, Name: a.Name, Severity: a.Severity,
				File: displayName(sp.in, sp.file), Pos: sp.comment.Pos, End: sp.comment.End, Message: msg, instance: sp.in})
		}
		for _, b := range sp.bad {
			mk(InvalidSuppression, b)
		}
		if sp.reason == "" {
			continue
		}
		for _, r := range sp.rules {
			if !ran[r] || sp.used[r] || r == InvalidSuppression.ID || r == UnusedSuppression.ID {
				continue
			}
			where := "here"
			if sp.target == nil {
				where = "in this file"
			} else if sp.target.Block != nil {
				where = "in this block"
			}
			mk(UnusedSuppression, fmt.Sprintf("%s reports nothing %s: remove the suppression", r, where))
		}
	}
	return out
}
