package lint

import (
	"encoding/json"
	"io"
)

// jsonReport is the stable JSON schema (see the package doc, "JSON
// output"). Fields are only ever added.
type jsonReport struct {
	TargetNginx string        `json:"target_nginx"`
	Configs     []string      `json:"configs"`
	Findings    []jsonFinding `json:"findings"`
	Errors      []jsonError   `json:"errors"`
	Others      []jsonOther   `json:"other_versions"`
	Suppressed  int           `json:"suppressed"`
	Baselined   int           `json:"baselined"`
}

type jsonFinding struct {
	Rule         string        `json:"rule"`
	Name         string        `json:"name"`
	Severity     string        `json:"severity"`
	File         string        `json:"file"`
	Line         int           `json:"line"`
	Column       int           `json:"column"`
	EndLine      int           `json:"end_line"`
	EndColumn    int           `json:"end_column"`
	Message      string        `json:"message"`
	IncludeChain []jsonLink    `json:"include_chain"`
	Related      []jsonRelated `json:"related"`
	Fix          *jsonFix      `json:"fix"`
}

type jsonLink struct {
	File   string `json:"file"`
	Line   int    `json:"line"`
	Column int    `json:"column"`
}

type jsonRelated struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Message string `json:"message"`
}

type jsonFix struct {
	Message string     `json:"message"`
	Edits   []jsonEdit `json:"edits"`
}

type jsonEdit struct {
	File  string `json:"file"`
	Start int    `json:"start"`
	End   int    `json:"end"`
	New   string `json:"new"`
}

type jsonError struct {
	File         string     `json:"file"`
	Line         int        `json:"line"`
	Column       int        `json:"column"`
	Severity     string     `json:"severity"`
	Message      string     `json:"message"`
	IncludeChain []jsonLink `json:"include_chain"`
}

type jsonOther struct {
	Nginx string   `json:"nginx"`
	Count int      `json:"count"`
	Rules []string `json:"rules"`
}

// WriteJSON writes the result in the stable JSON schema.
func WriteJSON(w io.Writer, r *Result) error {
	out := jsonReport{TargetNginx: r.Target.String(), Configs: r.Configs,
		Findings: []jsonFinding{}, Errors: []jsonError{}, Others: []jsonOther{},
		Suppressed: r.Suppressed, Baselined: r.Baselined}
	if out.Configs == nil {
		out.Configs = []string{}
	}
	for _, f := range r.Findings {
		jf := jsonFinding{Rule: f.Rule, Name: f.Name, Severity: f.Severity.String(), File: f.File,
			Line: f.Pos.Line, Column: f.Pos.Col, EndLine: f.End.Line, EndColumn: f.End.Col,
			Message: f.Message, IncludeChain: []jsonLink{}, Related: []jsonRelated{}}
		for _, l := range f.Chain {
			jf.IncludeChain = append(jf.IncludeChain, jsonLink{l.File, l.Line, l.Col})
		}
		for _, rel := range f.Related {
			jf.Related = append(jf.Related, jsonRelated{rel.File, rel.Pos.Line, rel.Pos.Col, rel.Message})
		}
		if f.Fix != nil {
			jf.Fix = &jsonFix{Message: f.Fix.Message, Edits: []jsonEdit{}}
			for _, e := range f.Fix.Edits {
				jf.Fix.Edits = append(jf.Fix.Edits, jsonEdit{e.File, e.Start, e.End, e.New})
			}
		}
		out.Findings = append(out.Findings, jf)
	}
	for _, e := range r.Errors {
		je := jsonError{File: e.File, Line: e.Pos.Line, Column: e.Pos.Col, Severity: e.Severity.String(),
			Message: e.Message, IncludeChain: []jsonLink{}}
		for _, l := range e.Chain {
			je.IncludeChain = append(je.IncludeChain, jsonLink{l.File, l.Line, l.Col})
		}
		out.Errors = append(out.Errors, je)
	}
	for _, o := range r.Others {
		out.Others = append(out.Others, jsonOther{o.Version.String(), o.Count, o.Rules})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(out)
}
