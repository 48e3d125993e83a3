package lint

import (
	"bytes"
	"encoding/xml"
	"io"
	"testing"

	"github.com/ngxkeep/ngxkeep/parser"
)

// checkstyleWithEncodingXML encodes the elements WriteCheckstyle writes
// (checkstyleFiles) with encoding/xml, as WriteCheckstyle did before: the
// reference the hand-written XML must match byte for byte.
func checkstyleWithEncodingXML(w io.Writer, r *Result) error {
	type cerr struct {
		XMLName  xml.Name `xml:"error"`
		Line     int      `xml:"line,attr"`
		Column   int      `xml:"column,attr,omitempty"`
		Severity string   `xml:"severity,attr"`
		Message  string   `xml:"message,attr"`
		Source   string   `xml:"source,attr"`
	}
	type cfile struct {
		XMLName xml.Name `xml:"file"`
		Name    string   `xml:"name,attr"`
		Errors  []cerr
	}
	type cs struct {
		XMLName xml.Name `xml:"checkstyle"`
		Version string   `xml:"version,attr"`
		Files   []*cfile
	}
	out := cs{Version: "4.3"}
	for _, f := range checkstyleFiles(r) {
		cf := &cfile{Name: f.name}
		for _, e := range f.errors {
			cf.Errors = append(cf.Errors, cerr{Line: e.line, Column: e.column, Severity: e.severity,
				Message: e.message, Source: e.source})
		}
		out.Files = append(out.Files, cf)
	}
	io.WriteString(w, xml.Header)
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// TestCheckstyleMatchesEncodingXML compares WriteCheckstyle with the
// encoding/xml version on messages and file names that need escaping
// (quotes, markup, control and invalid bytes, U+FFFD, astral runes), a
// config error, a finding without a column, an include chain, and an
// empty result.
func TestCheckstyleMatchesEncodingXML(t *testing.T) {
	tricky := "a \"quoted\" 'x' <b> & tab\there\nnew\rcr \x01 \xff bad \uFFFD ok 😀 \u2028 \ufffe end"
	r := &Result{
		Errors: []Error{{Severity: SeverityWarning, File: "a&<b>.conf", Pos: parser.Pos{Line: 2, Col: 3}, Message: tricky},
			{Severity: SeverityError, File: "z.conf", Pos: parser.Pos{Line: 1, Col: 1}, Message: "bad"}},
		Findings: []*Finding{
			{Rule: "KA01", Name: "pool-needs-http11", Severity: SeverityWarning, File: "a&<b>.conf",
				Pos: parser.Pos{Line: 7, Col: 9}, Message: tricky},
			{Rule: "TO05", Name: "n", Severity: SeverityError, File: "sites/\"x\".conf",
				Pos: parser.Pos{Line: 1}, Message: "no column",
				Chain: []parser.Link{{File: "nginx.conf", Line: 4, Col: 5}}},
		},
	}
	for _, res := range []*Result{r, {}} {
		var got, want bytes.Buffer
		if err := WriteCheckstyle(&got, res); err != nil {
			t.Fatal(err)
		}
		if err := checkstyleWithEncodingXML(&want, res); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("WriteCheckstyle differs from encoding/xml:\ngot:\n%s\nwant:\n%s", got.String(), want.String())
		}
	}
}
