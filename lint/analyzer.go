package lint

import (
	"fmt"
	"strings"

	"github.com/ngxkeep/ngxkeep/parser"
)

// An Analyzer is one lint rule: its identity, its documentation and the
// function that checks a set of nginx instances. Rules are values declared
// in package rules (one file per rule); the engine receives the list of
// analyzers to run and never lists them itself.
type Analyzer struct {
	// ID is the stable identifier ("KA01"): two upper-case letters and two
	// digits. IDs never change; suppressions, baselines and SARIF use them.
	ID string
	// Name is the stable kebab-case name ("pool-needs-http11"). Users may
	// write either the ID or the name wherever a rule is named.
	Name string
	// Severity is the default severity of the rule's findings.
	Severity Severity
	// Scope says whether the rule looks at one instance, at links between
	// instances (Topology, declared tiers), or both.
	Scope Scope
	// Doc explains what the rule detects, why it is risky and what nginx
	// actually does at runtime. The first line is a one-sentence summary;
	// the rest is plain text paragraphs. Rendered by "ngxkeep explain" and
	// as SARIF help text.
	Doc string
	// Bad and Good are example configurations: Bad must produce at least
	// one finding of this rule and Good none (rules_test checks both). A
	// single config is written as is; several configs (a frontend and a
	// backend, included snippets, a .ngxkeep.hcl) are written as a txtar
	// archive, see package linttest.
	Bad, Good string
	// MinVersion and MaxVersion bound the target nginx versions the rule
	// applies to: MinVersion <= target < MaxVersion (MaxVersion is
	// exclusive, so parser.V1_29_7 reads "before 1.29.7"). A zero bound is
	// unbounded. Outside the range the engine skips the rule, and reruns it
	// at another version only to count what that version would add.
	MinVersion, MaxVersion parser.Version
	// Versioned marks a rule whose findings depend on the target version
	// beyond its range (usually through version-dependent defaults), so
	// the engine reruns it at comparison versions to say how many more
	// findings another target would give. Rules with a version range are
	// always treated as versioned.
	Versioned bool
	// Options are the rule's settings, with defaults, that users may
	// change in .ngxkeep.hcl (rule "TO01" { backend_idle_timeout = "30s" }).
	Options []Option
	// Run checks the instances of the pass and reports findings through
	// it. An error aborts the whole lint with an internal error.
	Run func(*Pass) error
}

func (a *Analyzer) String() string { return a.ID + " " + a.Name }

// Summary returns the first line of Doc.
func (a *Analyzer) Summary() string {
	s, _, _ := strings.Cut(strings.TrimSpace(a.Doc), "\n")
	return strings.TrimSpace(s)
}

// AppliesTo reports whether target lies in [MinVersion, MaxVersion).
func (a *Analyzer) AppliesTo(target parser.Version) bool {
	if !a.MinVersion.IsZero() && target.Before(a.MinVersion) {
		return false
	}
	if !a.MaxVersion.IsZero() && !target.Before(a.MaxVersion) {
		return false
	}
	return true
}

// VersionRange formats the rule's version range for listings: "all",
// ">= 1.29.7", "< 1.29.7" or ">= 1.15.3, < 1.29.7".
func (a *Analyzer) VersionRange() string {
	switch {
	case a.MinVersion.IsZero() && a.MaxVersion.IsZero():
		return "all"
	case a.MaxVersion.IsZero():
		return ">= " + a.MinVersion.String()
	case a.MinVersion.IsZero():
		return "< " + a.MaxVersion.String()
	}
	return ">= " + a.MinVersion.String() + ", < " + a.MaxVersion.String()
}

func (a *Analyzer) versioned() bool {
	return a.Versioned || !a.MinVersion.IsZero() || !a.MaxVersion.IsZero()
}

// option returns the declared option called name.
func (a *Analyzer) option(name string) *Option {
	for i := range a.Options {
		if a.Options[i].Name == name {
			return &a.Options[i]
		}
	}
	return nil
}

// Validate checks the analyzer's static fields: ID and name syntax, a
// known severity and scope, a Doc, examples, a Run function and option
// defaults that parse. Drivers call it once for every analyzer they
// register.
func (a *Analyzer) Validate() error {
	if !validID(a.ID) {
		return fmt.Errorf("analyzer %q: ID must be two upper-case letters and two digits", a.ID)
	}
	if !validName(a.Name) {
		return fmt.Errorf("analyzer %s: name %q must be lower-case kebab-case", a.ID, a.Name)
	}
	if a.Severity < SeverityInfo || a.Severity > SeverityError {
		return fmt.Errorf("analyzer %s: severity not set", a.ID)
	}
	if a.Scope == 0 || a.Scope&^Both != 0 {
		return fmt.Errorf("analyzer %s: scope not set", a.ID)
	}
	if strings.TrimSpace(a.Doc) == "" {
		return fmt.Errorf("analyzer %s: empty Doc", a.ID)
	}
	if strings.TrimSpace(a.Bad) == "" || strings.TrimSpace(a.Good) == "" {
		return fmt.Errorf("analyzer %s: Bad and Good examples are required", a.ID)
	}
	if a.Run == nil {
		return fmt.Errorf("analyzer %s: no Run function", a.ID)
	}
	if !a.MinVersion.IsZero() && !a.MaxVersion.IsZero() && !a.MinVersion.Before(a.MaxVersion) {
		return fmt.Errorf("analyzer %s: empty version range %s", a.ID, a.VersionRange())
	}
	seen := map[string]bool{}
	for _, o := range a.Options {
		if seen[o.Name] {
			return fmt.Errorf("analyzer %s: option %q declared twice", a.ID, o.Name)
		}
		seen[o.Name] = true
		if _, err := o.Kind.parse(o.Default); err != nil {
			return fmt.Errorf("analyzer %s: option %s: default: %v", a.ID, o.Name, err)
		}
	}
	return nil
}

func validID(s string) bool {
	return len(s) == 4 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z' &&
		s[2] >= '0' && s[2] <= '9' && s[3] >= '0' && s[3] <= '9'
}

func validName(s string) bool {
	if s == "" || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// Severity of a finding. Severities are ordered: Info < Warning < Error.
// The zero Severity means "not set".
type Severity uint8

const (
	SeverityInfo Severity = iota + 1
	SeverityWarning
	SeverityError
)

func (s Severity) String() string {
	switch s {
	case SeverityInfo:
		return "info"
	case SeverityWarning:
		return "warning"
	case SeverityError:
		return "error"
	}
	return "none"
}

// ParseSeverity parses "info", "warning" or "error".
func ParseSeverity(s string) (Severity, error) {
	switch strings.ToLower(s) {
	case "info":
		return SeverityInfo, nil
	case "warning", "warn":
		return SeverityWarning, nil
	case "error":
		return SeverityError, nil
	}
	return 0, fmt.Errorf("unknown severity %q (want error, warning or info)", s)
}

// Scope says what a rule looks at.
type Scope uint8

const (
	// Single rules check each instance on its own.
	Single Scope = 1 << iota
	// Cross rules check links between instances, or between an instance
	// and a declared external tier; they use Pass.Topology.
	Cross
	// Both is a rule with a single-config and a cross-config part.
	Both = Single | Cross
)

func (s Scope) String() string {
	switch s {
	case Single:
		return "single"
	case Cross:
		return "cross"
	case Both:
		return "single+cross"
	}
	return "unknown"
}
