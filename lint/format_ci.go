package lint

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

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
		ghLine(&b, level, e.File, e.Pos, e.End,
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
		ghLine(&b, level, f.File, f.Pos, f.End, f.Rule+" "+f.Name, msg)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func ghLine(b *strings.Builder, level, file string, pos, end parser.Pos, title, msg string) {
	line, col, endLine, endCol := pos.Line, pos.Col, end.Line, end.Col
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

// checkstyleError and checkstyleFile are the elements WriteCheckstyle
// writes, grouped by checkstyleFiles.
type checkstyleError struct {
	line, column     int
	severity, source string
	message          string
}

type checkstyleFile struct {
	name   string
	errors []checkstyleError
}

// checkstyleFiles groups config errors and findings by file, files in order
// of first appearance.
func checkstyleFiles(r *Result) []*checkstyleFile {
	var files []*checkstyleFile
	idx := map[string]*checkstyleFile{}
	file := func(name string) *checkstyleFile {
		if f := idx[name]; f != nil {
			return f
		}
		f := &checkstyleFile{name: name}
		idx[name] = f
		files = append(files, f)
		return f
	}
	for _, e := range r.Errors {
		sev := "error"
		if e.Severity == SeverityWarning {
			sev = "warning"
		}
		f := file(e.File)
		f.errors = append(f.errors, checkstyleError{line: int(e.Pos.Line), column: int(e.Pos.Col), severity: sev,
			message: e.Message, source: "ngxkeep." + ConfigErrorRule.ID})
	}
	for _, fd := range r.Findings {
		f := file(fd.File)
		msg := fd.Rule + " " + fd.Name + ": " + fd.Message
		if len(fd.Chain) > 0 {
			msg += " (included from " + chainText(fd.Chain) + ")"
		}
		f.errors = append(f.errors, checkstyleError{line: int(fd.Pos.Line), column: int(fd.Pos.Col), severity: fd.Severity.String(),
			message: msg, source: "ngxkeep." + fd.Rule})
	}
	return files
}

// WriteCheckstyle writes the checkstyle XML format (version 4.3): one
// <file> per file in finding order, one <error> per finding or config
// error, source "ngxkeep.<ID>". The XML is written by hand, byte for byte
// what encoding/xml's Encoder (indent "  ") made of the same elements,
// so that encoding/xml, which nothing else needs, stays out of the
// binary (its code is resident memory of every lint run).
func WriteCheckstyle(w io.Writer, r *Result) error {
	files := checkstyleFiles(r)
	b := bufio.NewWriter(w)
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.WriteString(`<checkstyle version="4.3">`)
	for _, f := range files {
		b.WriteString("\n  <file name=\"")
		xmlEscape(b, f.name)
		b.WriteString(`">`)
		for _, e := range f.errors {
			b.WriteString("\n    <error line=\"")
			b.WriteString(strconv.Itoa(e.line))
			if e.column != 0 {
				b.WriteString(`" column="`)
				b.WriteString(strconv.Itoa(e.column))
			}
			b.WriteString(`" severity="`)
			xmlEscape(b, e.severity)
			b.WriteString(`" message="`)
			xmlEscape(b, e.message)
			b.WriteString(`" source="`)
			xmlEscape(b, e.source)
			b.WriteString(`"></error>`)
		}
		b.WriteString("\n  </file>")
	}
	if len(files) > 0 {
		b.WriteString("\n")
	}
	b.WriteString("</checkstyle>\n")
	return b.Flush()
}

// xmlEscape writes s as an XML attribute value the way encoding/xml does
// (printer.EscapeString): quotes, '&', '<', '>', tab, newline and
// carriage return as character references, characters XML cannot hold
// and invalid UTF-8 as U+FFFD.
func xmlEscape(b *bufio.Writer, s string) {
	last := 0
	for i := 0; i < len(s); {
		r, width := utf8.DecodeRuneInString(s[i:])
		i += width
		var esc string
		switch r {
		case '"':
			esc = "&#34;"
		case '\'':
			esc = "&#39;"
		case '&':
			esc = "&amp;"
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		case '\t':
			esc = "&#x9;"
		case '\n':
			esc = "&#xA;"
		case '\r':
			esc = "&#xD;"
		default:
			if !xmlChar(r) || (r == utf8.RuneError && width == 1) {
				esc = "\uFFFD"
				break
			}
			continue
		}
		b.WriteString(s[last : i-width])
		b.WriteString(esc)
		last = i
	}
	b.WriteString(s[last:])
}

// xmlChar reports whether XML 1.0 can hold r (the Char production).
func xmlChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}
