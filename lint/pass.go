package lint

import (
	"fmt"
	"time"

	"github.com/ngxkeep/ngxkeep/parser"
)

// A Pass is one analyzer's view of a run: the target version, the
// instances with their shared indexes, the topology, the declared tiers and
// the rule's options. Rules report findings through it. A Pass is used by
// one goroutine; the shared facts it exposes are read-only.
type Pass struct {
	Analyzer *Analyzer
	// Target is the nginx version the configs are checked for.
	Target parser.Version
	// Instances are the configs of the run, in command-line order.
	Instances []*Instance
	// Topology links frontends to backends and tiers; computed once per
	// run and shared by all passes.
	Topology *Topology
	// Tiers are the external tiers declared in .ngxkeep.hcl.
	Tiers []*Tier

	opts     map[string]any
	shared   *shared
	findings []*Finding
	// counting is set for the passes at comparison versions, whose
	// findings are only counted ("N more findings with --nginx-version
	// X"): they are matched with the target's by rule, directive and
	// position, so messages, related positions, fixes and include chains
	// are not built.
	counting bool
}

// shared holds what every pass of one run (and one target version) shares.
type shared struct {
	target parser.Version
	roots  map[*parser.Node]*Instance
	names  map[*parser.File]string // display names of every instance's files
	facts  factStore               // this version's facts
}

// Effective returns the value nginx uses for directive name at node n (a
// block such as a location, server or upstream; for a simple directive, the
// block around it) for the target version, with nginx's inheritance rules
// and the version's defaults (parser.Node.Effective, memoized per tree).
// The slices of the Setting are shared and must not be modified.
func (p *Pass) Effective(n *parser.Node, name string) parser.Setting {
	return n.Effective(name, p.Target)
}

// InstanceOf returns the instance whose tree holds n.
func (p *Pass) InstanceOf(n *parser.Node) *Instance {
	return p.shared.instanceOf(n)
}

func (s *shared) fileName(n *parser.Node) string {
	if name, ok := s.names[n.Directive.File]; ok {
		return name
	}
	return displayName(s.instanceOf(n), n.Directive.File)
}

func (s *shared) instanceOf(n *parser.Node) *Instance {
	if n == nil {
		return nil
	}
	r := n
	for r.Parent != nil {
		r = r.Parent
	}
	return s.roots[r]
}

// Report records a finding. Empty Rule, Name and Severity are filled from
// the analyzer; when f.Node is set, an empty File, Pos, End and Chain are
// filled from it.
func (p *Pass) Report(f Finding) *Finding {
	ff := &f
	p.fill(ff)
	p.findings = append(p.findings, ff)
	return ff
}

func (p *Pass) fill(f *Finding) {
	if f.Rule == "" {
		f.Rule = p.Analyzer.ID
	}
	if f.Name == "" {
		f.Name = p.Analyzer.Name
	}
	if f.Severity == 0 {
		f.Severity = p.Analyzer.Severity
	}
	f.sh = p.shared
	if f.Node != nil && f.Node.Directive != nil {
		f.instance = p.InstanceOf(f.Node)
		f.counted = p.counting
		if f.File == "" {
			f.File = displayName(f.instance, f.Node.Directive.File)
		}
		if !f.Pos.IsValid() {
			f.Pos, f.End = NodeRange(f.Node)
		}
		if f.Chain == nil && !f.counted {
			f.Chain = chainLinks(f.instance, f.Node.Chain)
		}
	}
}

// Counting reports whether p runs at a comparison version, whose findings
// are only counted ("N more findings with --nginx-version X"): Report
// keeps their rule, directive and position, and drops messages, related
// positions, fixes and include chains. A rule whose report builds costly
// arguments (descriptions of places, edits) may skip them when counting;
// the finding must be reported at the same directive and position.
func (p *Pass) Counting() bool { return p.counting }

// Reportf reports a finding at directive at: the range from its name to the
// end of its arguments. The returned finding may be completed with
// AddRelated and SetFix before Run returns.
func (p *Pass) Reportf(at *parser.Node, format string, args ...any) *Finding {
	return p.Report(Finding{Node: at, Message: p.message(at, format, args)})
}

// message formats a finding's message, except for a finding at a
// directive that a comparison pass only counts.
func (p *Pass) message(at *parser.Node, format string, args []any) string {
	if p.counting && at != nil && at.Directive != nil {
		return ""
	}
	return fmt.Sprintf(format, args...)
}

// ReportArg reports a finding at argument i of directive at (the whole
// directive when it has no such argument).
func (p *Pass) ReportArg(at *parser.Node, i int, format string, args ...any) *Finding {
	f := Finding{Node: at, Message: p.message(at, format, args)}
	if at != nil && at.Directive != nil && i >= 0 && i < len(at.Args) {
		f.Pos, f.End = at.Args[i].Pos, at.Args[i].End
	}
	return p.Report(f)
}

// ReportRangef reports a finding about directive at with an explicit range
// in at's file (for example part of an argument).
func (p *Pass) ReportRangef(at *parser.Node, pos, end parser.Pos, format string, args ...any) *Finding {
	return p.Report(Finding{Node: at, Pos: pos, End: end, Message: p.message(at, format, args)})
}

// Related builds a Related for node n, for findings assembled by hand.
func (p *Pass) Related(n *parser.Node, format string, args ...any) Related {
	pos, end := NodeRange(n)
	return Related{File: p.shared.fileName(n), Pos: pos, End: end,
		Message: fmt.Sprintf(format, args...)}
}

// Option returns the value of the rule's option called name, typed by its
// Kind: string, int, bool, time.Duration or int64 (size). It panics if the
// analyzer does not declare the option (a programming error).
func (p *Pass) Option(name string) any {
	v, ok := p.opts[name]
	if !ok {
		panic(fmt.Sprintf("analyzer %s has no option %q", p.Analyzer.ID, name))
	}
	return v
}

// OptionDuration returns a duration option.
func (p *Pass) OptionDuration(name string) time.Duration { return p.Option(name).(time.Duration) }

// OptionInt returns an integer option.
func (p *Pass) OptionInt(name string) int { return p.Option(name).(int) }

// OptionBool returns a boolean option.
func (p *Pass) OptionBool(name string) bool { return p.Option(name).(bool) }

// OptionString returns a string option.
func (p *Pass) OptionString(name string) string { return p.Option(name).(string) }

// OptionSize returns a size option in bytes.
func (p *Pass) OptionSize(name string) int64 { return p.Option(name).(int64) }
