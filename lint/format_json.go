package lint

import (
	"bufio"
	"bytes"
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

// WriteJSON writes the result in the stable JSON schema, indented by two
// spaces. The findings are encoded one at a time into one reused buffer,
// so a report with thousands of findings is never held whole, neither
// compact nor indented.
func WriteJSON(w io.Writer, r *Result) error {
	jw := newJSONWriter(w)
	jw.raw("{\n")
	jw.field("target_nginx", r.Target.String(), false)
	configs := r.Configs
	if configs == nil {
		configs = []string{}
	}
	jw.field("configs", configs, false)
	jw.array("findings", len(r.Findings), func(i int) any {
		f := r.Findings[i]
		jf := jsonFinding{Rule: f.Rule, Name: f.Name, Severity: f.Severity.String(), File: f.File,
			Line: int(f.Pos.Line), Column: int(f.Pos.Col), EndLine: int(f.End.Line), EndColumn: int(f.End.Col),
			Message: f.Message, IncludeChain: []jsonLink{}, Related: []jsonRelated{}}
		for _, l := range f.Chain {
			jf.IncludeChain = append(jf.IncludeChain, jsonLink{l.File, l.Line, l.Col})
		}
		for _, rel := range f.Related {
			jf.Related = append(jf.Related, jsonRelated{rel.File, int(rel.Pos.Line), int(rel.Pos.Col), rel.Message})
		}
		if f.Fix != nil {
			jf.Fix = &jsonFix{Message: f.Fix.Message, Edits: []jsonEdit{}}
			for _, e := range f.Fix.Edits {
				jf.Fix.Edits = append(jf.Fix.Edits, jsonEdit{e.File, e.Start, e.End, e.New})
			}
		}
		return &jf
	})
	jw.array("errors", len(r.Errors), func(i int) any {
		e := &r.Errors[i]
		je := jsonError{File: e.File, Line: int(e.Pos.Line), Column: int(e.Pos.Col), Severity: e.Severity.String(),
			Message: e.Message, IncludeChain: []jsonLink{}}
		for _, l := range e.Chain {
			je.IncludeChain = append(je.IncludeChain, jsonLink{l.File, l.Line, l.Col})
		}
		return &je
	})
	jw.array("other_versions", len(r.Others), func(i int) any {
		o := r.Others[i]
		return jsonOther{o.Version.String(), o.Count, o.Rules}
	})
	jw.field("suppressed", r.Suppressed, false)
	jw.field("baselined", r.Baselined, true)
	jw.raw("}\n")
	return jw.flush()
}

// jsonWriter writes the members of jsonReport as json.Encoder with
// SetIndent("", "  ") would write the whole value, one value at a time.
type jsonWriter struct {
	out *bufio.Writer
	buf bytes.Buffer
	enc *json.Encoder // into buf, prefix set per nesting level
	err error
}

func newJSONWriter(w io.Writer) *jsonWriter {
	jw := &jsonWriter{out: bufio.NewWriterSize(w, 64<<10)}
	jw.enc = json.NewEncoder(&jw.buf)
	jw.enc.SetEscapeHTML(false)
	return jw
}

func (jw *jsonWriter) raw(s string) {
	if jw.err == nil {
		_, jw.err = jw.out.WriteString(s)
	}
}

// value writes v indented for the given line prefix, without the newline
// the Encoder ends it with.
func (jw *jsonWriter) value(prefix string, v any) {
	if jw.err != nil {
		return
	}
	jw.buf.Reset()
	jw.enc.SetIndent(prefix, "  ")
	if jw.err = jw.enc.Encode(v); jw.err != nil {
		return
	}
	_, jw.err = jw.out.Write(bytes.TrimSuffix(jw.buf.Bytes(), []byte("\n")))
}

func (jw *jsonWriter) field(name string, v any, last bool) {
	jw.raw("  \"" + name + "\": ")
	jw.value("  ", v)
	jw.comma(last)
}

func (jw *jsonWriter) comma(last bool) {
	if last {
		jw.raw("\n")
	} else {
		jw.raw(",\n")
	}
}

// array writes the member name as an array of n elements, elem(i) giving
// each.
func (jw *jsonWriter) array(name string, n int, elem func(int) any) {
	jw.raw("  \"" + name + "\": ")
	if n == 0 {
		jw.raw("[],\n")
		return
	}
	jw.raw("[\n")
	for i := 0; i < n; i++ {
		jw.raw("    ")
		jw.value("    ", elem(i))
		jw.comma(i == n-1)
	}
	jw.raw("  ],\n")
}

func (jw *jsonWriter) flush() error {
	if jw.err != nil {
		return jw.err
	}
	return jw.out.Flush()
}
