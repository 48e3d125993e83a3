package translate

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/ngxkeep/ngxkeep/parser"
)

// Verdict says what became of one directive use.
type Verdict uint8

// Verdicts, from best to worst.
const (
	// Preserved: the runtime has the same semantics.
	Preserved Verdict = iota + 1
	// Ignored: the directive only matters to a real nginx process (pid,
	// logs, temp paths, process limits, I/O tuning); it changes nothing the
	// runtime opens, keeps or closes.
	Ignored
	// Approximated: it runs, with a difference given in the note.
	Approximated
	// Unsupported: it is not run.
	Unsupported
)

var verdictNames = [...]string{"", "preserved", "ignored", "approximated", "unsupported"}

// String returns the verdict's lower-case name.
func (v Verdict) String() string {
	if int(v) < len(verdictNames) && v > 0 {
		return verdictNames[v]
	}
	return "unknown"
}

// MarshalText implements encoding.TextMarshaler.
func (v Verdict) MarshalText() ([]byte, error) { return []byte(v.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (v *Verdict) UnmarshalText(b []byte) error {
	for i, n := range verdictNames {
		if i > 0 && n == string(b) {
			*v = Verdict(i)
			return nil
		}
	}
	return fmt.Errorf("unknown verdict %q", b)
}

// Verdicts lists every verdict, best first.
func Verdicts() []Verdict { return []Verdict{Preserved, Ignored, Approximated, Unsupported} }

// Link is one include directive of an Entry's include chain.
type Link struct {
	File string `json:"file"`
	Line int    `json:"line"`
	Col  int    `json:"column"`
}

// Entry is the verdict on one directive use (one Node of the tree).
type Entry struct {
	// Instance names the runtime instance the directive's config became.
	Instance string `json:"instance"`
	// Directive is the directive's name.
	Directive string `json:"directive"`
	// Args are the arguments as written, space-separated (shortened when long).
	Args    string  `json:"args,omitempty"`
	File    string  `json:"file"`
	Line    int     `json:"line"`
	Col     int     `json:"column"`
	Chain   []Link  `json:"include_chain,omitempty"`
	Verdict Verdict `json:"verdict"`
	// Note says what differs (approximated, unsupported), why it does not
	// matter (ignored), or a remark on a preserved directive.
	Note string `json:"note,omitempty"`

	// Node is the directive use the entry is about; nil for include
	// directives, which have no Node.
	Node *parser.Node `json:"-"`
}

// Where returns "file:line:col".
func (e *Entry) Where() string { return fmt.Sprintf("%s:%d:%d", e.File, e.Line, e.Col) }

// InstanceInfo names one translated configuration.
type InstanceInfo struct {
	// Name is the runtime instance's name.
	Name string `json:"name"`
	// File is the nginx main file as given.
	File string `json:"file"`
}

// Report is the coverage report of one translation.
type Report struct {
	// Target is the nginx version whose behaviour the model emulates.
	Target    parser.Version
	Instances []InstanceInfo
	// Entries are in instance order, then source order (include
	// directives where they appear).
	Entries []Entry

	// origins maps model values (pointers into the Config) to the comment
	// lines Encode writes before their block.
	origins map[any][]string
}

// Count returns the number of entries with verdict v.
func (r *Report) Count(v Verdict) int {
	n := 0
	for i := range r.Entries {
		if r.Entries[i].Verdict == v {
			n++
		}
	}
	return n
}

// AllPreserved reports whether every directive is preserved (what
// --strict requires).
func (r *Report) AllPreserved() bool {
	for i := range r.Entries {
		if r.Entries[i].Verdict != Preserved {
			return false
		}
	}
	return true
}

// Summary counts the entries of each verdict, by verdict name.
func (r *Report) Summary() map[string]int {
	m := map[string]int{}
	for _, v := range Verdicts() {
		m[v.String()] = r.Count(v)
	}
	return m
}

type jsonInstance struct {
	InstanceInfo
	Summary map[string]int `json:"summary"`
}

type jsonReport struct {
	Target    string         `json:"target"`
	Instances []jsonInstance `json:"instances"`
	Summary   map[string]int `json:"summary"`
	Entries   []Entry        `json:"entries"`
}

// WriteJSON writes the report as one indented JSON document:
// {"target", "instances": [{name, file, summary}], "summary", "entries"}.
func (r *Report) WriteJSON(w io.Writer) error {
	jr := jsonReport{Target: r.Target.String(), Summary: r.Summary(), Entries: r.Entries}
	if jr.Entries == nil {
		jr.Entries = []Entry{}
	}
	for _, in := range r.Instances {
		s := map[string]int{}
		for _, v := range Verdicts() {
			s[v.String()] = 0
		}
		for i := range r.Entries {
			if r.Entries[i].Instance == in.Name {
				s[r.Entries[i].Verdict.String()]++
			}
		}
		jr.Instances = append(jr.Instances, jsonInstance{InstanceInfo: in, Summary: s})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(jr)
}
