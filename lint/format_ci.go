package lint

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"

	"github.com/ngxkeep/ngxkeep/parser"
)

// WriteGitHub writes GitHub Actions workflow commands, one annotation per
// finding and config error:
//
//	::warning file=a.conf,line=12,col=9,endLine=12,endColumn=30,title=KA01 pool-needs-http11::message
func WriteGitHub(w io.Writer, r *Result) error {
	var b strings.Builder
	for _, e := range r.Errors {
		level := "error"
		if e.Severity == SeverityWarning {
			level = "warning"
		}
		ghLine(&b, level, e.File, e.Pos.Line, e.Pos.Col, e.End.Line, e.End.Col,
			ConfigErrorRule.ID+" "+ConfigErrorRule.Name, e.Message)
	}
	for _, f := range r.Findings {
		level := "warning"
		switch f.Severity {
		case SeverityError:
			level = "error"
		case SeverityInfo:
			level = "notice"
		}
		msg := f.Message
		for _, rel := range f.Related {
			msg += fmt.Sprintf("\n%s:%d:%d: %s", rel.File, rel.Pos.Line, rel.Pos.Col, rel.Message)
		}
		if len(f.Chain) > 0 {
			msg += "\nincluded from " + chainText(f.Chain)
		}
		ghLine(&b, level, f.File, f.Pos.Line, f.Pos.Col, f.End.Line, f.End.Col, f.Rule+" "+f.Name, msg)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func ghLine(b *strings.Builder, level, file string, line, col, endLine, endCol int, title, msg string) {
	fmt.Fprintf(b, "::%s file=%s", level, ghProp(file))
	if line > 0 {
		fmt.Fprintf(b, ",line=%d", line)
		if col > 0 {
			fmt.Fprintf(b, ",col=%d", col)
		}
		if endLine > 0 {
			fmt.Fprintf(b, ",endLine=%d", endLine)
			// GitHub accepts endColumn only on single-line annotations.
			if endLine == line && endCol > 0 {
				fmt.Fprintf(b, ",endColumn=%d", endCol)
			}
		}
	}
	fmt.Fprintf(b, ",title=%s::%s\n", ghProp(title), ghData(msg))
}

// ghData escapes a workflow command's message.
func ghData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// ghProp escapes a workflow command's property value.
func ghProp(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}

func chainText(c []parser.Link) string {
	parts := make([]string, len(c))
	for i, l := range c {
		parts[i] = fmt.Sprintf("%s:%d", l.File, l.Line)
	}
	return strings.Join(parts, " → ")
}

// WriteCheckstyle writes the checkstyle XML format (version 4.3): one
// <file> per file in finding order, one <error> per finding or config
// error, source "ngxkeep.<ID>".
func WriteCheckstyle(w io.Writer, r *Result) error {
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
	idx := map[string]*cfile{}
	file := func(name string) *cfile {
		if f := idx[name]; f != nil {
			return f
		}
		f := &cfile{Name: name}
		idx[name] = f
		out.Files = append(out.Files, f)
		return f
	}
	for _, e := range r.Errors {
		sev := "error"
		if e.Severity == SeverityWarning {
			sev = "warning"
		}
		f := file(e.File)
		f.Errors = append(f.Errors, cerr{Line: e.Pos.Line, Column: e.Pos.Col, Severity: sev,
			Message: e.Message, Source: "ngxkeep." + ConfigErrorRule.ID})
	}
	for _, fd := range r.Findings {
		f := file(fd.File)
		msg := fd.Rule + " " + fd.Name + ": " + fd.Message
		if len(fd.Chain) > 0 {
			msg += " (included from " + chainText(fd.Chain) + ")"
		}
		f.Errors = append(f.Errors, cerr{Line: fd.Pos.Line, Column: fd.Pos.Col, Severity: fd.Severity.String(),
			Message: msg, Source: "ngxkeep." + fd.Rule})
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
