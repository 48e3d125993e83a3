package lint

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/ngxkeep/ngxkeep/parser"
)

// TextOptions control the human-readable report.
type TextOptions struct {
	// Profile is the colour profile output is downsampled to:
	// colorprofile.NoTTY for plain text, ANSI256 or TrueColor for colour.
	// Decide it once (colorprofile.Detect honours NO_COLOR, CLICOLOR_FORCE
	// and TERM=dumb); the report never queries the terminal.
	Profile colorprofile.Profile
	// Width wraps messages; 0 means 100.
	Width int
	// Command is the command line prefix suggested in hints ("ngxkeep
	// lint box1.conf box2.conf"); empty means "ngxkeep lint".
	Command string
}

// Styles are values. Colours are the terminal's basic ANSI ones, which
// every theme maps to something readable on its own background (dark or
// light), and which survive downsampling to 16 colours unchanged.
var (
	stError   = lipgloss.NewStyle().Foreground(lipgloss.Red).Bold(true)
	stWarning = lipgloss.NewStyle().Foreground(lipgloss.Yellow).Bold(true)
	stInfo    = lipgloss.NewStyle().Foreground(lipgloss.Blue).Bold(true)
	stFile    = lipgloss.NewStyle().Bold(true)
	stRule    = lipgloss.NewStyle().Bold(true)
	stFaint   = lipgloss.NewStyle().Faint(true)
	stFix     = lipgloss.NewStyle().Foreground(lipgloss.Green)
	stHeader  = lipgloss.NewStyle().Bold(true)
)

func sevStyle(s Severity) *lipgloss.Style {
	switch s {
	case SeverityError:
		return &stError
	case SeverityWarning:
		return &stWarning
	}
	return &stInfo
}

// WriteText writes the report for people: a header naming the target
// version (and what other versions would add), config errors, then the
// findings grouped by file, each with its source line, a caret under the
// exact range, the include chain, related positions and the fix.
func WriteText(w io.Writer, r *Result, o TextOptions) error {
	if o.Width <= 0 {
		o.Width = 100
	}
	if o.Command == "" {
		o.Command = "ngxkeep lint"
	}
	var b bytes.Buffer
	t := &textWriter{b: &b, r: r, o: o, plain: o.Profile <= colorprofile.NoTTY}
	t.header()
	t.errors()
	t.findings()
	t.summary()
	if t.plain {
		_, err := w.Write(b.Bytes())
		return err
	}
	cw := &colorprofile.Writer{Forward: w, Profile: o.Profile}
	_, err := cw.Write(b.Bytes())
	return err
}

type textWriter struct {
	b     *bytes.Buffer
	r     *Result
	o     TextOptions
	plain bool // no styling at all (NoTTY): skip rendering
	cache map[styled]string
}

type styled struct {
	style *lipgloss.Style
	s     string
}

// st renders s in style unless the output is plain. Renderings repeat
// (labels, gutters, carets), so they are cached.
func (t *textWriter) st(style *lipgloss.Style, s string) string {
	if t.plain {
		return s
	}
	k := styled{style, s}
	if r, ok := t.cache[k]; ok {
		return r
	}
	r := style.Render(s)
	if t.cache == nil {
		t.cache = map[styled]string{}
	}
	if len(s) < 64 {
		t.cache[k] = r
	}
	return r
}

func (t *textWriter) p(format string, args ...any) { fmt.Fprintf(t.b, format, args...) }

func (t *textWriter) header() {
	n := len(t.r.Configs)
	cfgs := strings.Join(t.r.Configs, ", ")
	word := "config"
	if n != 1 {
		word = "configs"
	}
	t.p("%s %s\n", t.st(&stHeader, "ngxkeep lint · target nginx "+t.r.Target.String()),
		t.st(&stFaint, fmt.Sprintf("· %d %s: %s", n, word, cfgs)))
	for _, d := range t.r.Others {
		more := "finding"
		if d.Count != 1 {
			more = "findings"
		}
		dir := "older"
		if d.Version.Compare(t.r.Target) > 0 {
			dir = "newer"
		}
		t.p("%s\n", t.st(&stFaint, fmt.Sprintf("%d more %s with --nginx-version %s (%s nginx; rules %s): run %s --nginx-version %s",
			d.Count, more, d.Version, dir, strings.Join(d.Rules, ", "), t.o.Command, d.Version)))
	}
	t.p("\n")
}

func (t *textWriter) errors() {
	for _, e := range t.r.Errors {
		sev := SeverityError
		if e.Severity == SeverityWarning {
			sev = SeverityWarning
		}
		label := "config error"
		if sev == SeverityWarning {
			label = "config warning"
		}
		t.p("%s %s %s\n", t.st(sevStyle(sev), label), t.st(&stRule, fmt.Sprintf("%s:%d:%d:", e.File, e.Pos.Line, e.Pos.Col)), e.Message)
		t.excerpt(e.File, e.Pos, e.End, sev)
		t.chain(e.Chain)
		t.p("\n")
	}
}

func (t *textWriter) findings() {
	file := "\x00"
	for _, f := range t.r.Findings {
		if f.File != file {
			file = f.File
			t.p("%s\n", t.st(&stFile, file))
		}
		t.p("  %s %s %s %s\n",
			t.st(&stFaint, fmt.Sprintf("%d:%d", f.Pos.Line, f.Pos.Col)),
			t.st(sevStyle(f.Severity), f.Severity.String()),
			t.st(&stRule, f.Rule),
			t.st(&stFaint, f.Name))
		for _, line := range wrap(f.Message, t.o.Width-4) {
			t.p("    %s\n", line)
		}
		t.excerpt(f.File, f.Pos, f.End, f.Severity)
		t.chain(f.Chain)
		for _, rel := range f.Related {
			t.p("    %s %s %s\n", t.st(&stFaint, "related"), fmt.Sprintf("%s:%d:%d:", rel.File, rel.Pos.Line, rel.Pos.Col), rel.Message)
		}
		if f.Fix != nil {
			t.p("    %s\n", t.st(&stFix, "fix: "+f.Fix.Message+" (--diff shows it, --fix applies it)"))
		}
		t.p("\n")
	}
}

func (t *textWriter) chain(c []parser.Link) {
	if len(c) == 0 {
		return
	}
	parts := make([]string, len(c))
	for i, l := range c {
		parts[i] = fmt.Sprintf("%s:%d", l.File, l.Line)
	}
	t.p("    %s %s\n", t.st(&stFaint, "included from"), strings.Join(parts, " → "))
}

// excerpt prints the source line of pos with a caret line under [pos,end)
// (to the end of the line when the range spans lines).
func (t *textWriter) excerpt(file string, pos, end parser.Pos, sev Severity) {
	src := t.r.Source(file)
	off, endOff := int(pos.Offset), int(end.Offset)
	if src == nil || !pos.IsValid() || off > len(src.Src) {
		return
	}
	ls := lineStart(src.Src, off)
	le := lineEnd(src.Src, off)
	line := strings.TrimRight(string(src.Src[ls:le]), "\r")
	startCol := off - ls
	endCol := len(line)
	if end.IsValid() && endOff >= off && endOff-ls <= len(line) {
		endCol = endOff - ls
	}
	if startCol > len(line) {
		startCol = len(line)
	}
	line, startCol, endCol = clipExcerpt(line, startCol, endCol)
	expanded, prefixW := expandTabs(line, startCol)
	_, rangeEndW := expandTabs(line, endCol)
	width := rangeEndW - prefixW
	if width < 1 {
		width = 1
	}
	num := fmt.Sprintf("%d", pos.Line)
	gutter := strings.Repeat(" ", len(num))
	t.p("    %s %s %s\n", t.st(&stFaint, num), t.st(&stFaint, "│"), expanded)
	t.p("    %s %s %s%s\n", gutter, t.st(&stFaint, "│"), strings.Repeat(" ", prefixW),
		t.st(sevStyle(sev), strings.Repeat("^", width)))
}

// Excerpts of long lines show a window around the reported column, so a
// hostile one-line config cannot make every finding copy the whole line.
const (
	excerptMax    = 160 // bytes of a line shown at most
	excerptBefore = 60  // bytes kept before the reported column
)

// clipExcerpt cuts line to a window of at most excerptMax bytes around
// [start,end), marking the cuts with "…", and returns the window with the
// columns moved into it. Cuts fall on UTF-8 boundaries.
func clipExcerpt(line string, start, end int) (string, int, int) {
	if len(line) <= excerptMax {
		return line, start, end
	}
	from := max(0, start-excerptBefore)
	for from > 0 && !utf8.RuneStart(line[from]) {
		from--
	}
	to := min(len(line), from+excerptMax)
	for to < len(line) && !utf8.RuneStart(line[to]) {
		to++
	}
	prefix, suffix := "", ""
	if from > 0 {
		prefix = "…"
	}
	if to < len(line) {
		suffix = "…"
	}
	end = min(end, to)
	return prefix + line[from:to] + suffix, start - from + len(prefix), end - from + len(prefix)
}

// expandTabs expands tabs to 4-column stops and returns the line and the
// display width of its first n bytes.
func expandTabs(line string, n int) (string, int) {
	var b strings.Builder
	w, wn := 0, 0
	for i, r := range line {
		if i == n {
			wn = w
		}
		if r == '\t' {
			k := 4 - w%4
			b.WriteString(strings.Repeat(" ", k))
			w += k
			continue
		}
		b.WriteRune(r)
		if r < 0x80 {
			w++
		} else {
			w += lipgloss.Width(string(r))
		}
	}
	if n >= len(line) {
		wn = w
	}
	return b.String(), wn
}

// wrap splits s into lines of at most width display cells, at spaces;
// existing newlines are kept.
func wrap(s string, width int) []string {
	if width < 20 {
		width = 20
	}
	var out []string
	for _, para := range strings.Split(s, "\n") {
		words := strings.Fields(para)
		if len(words) == 0 {
			out = append(out, "")
			continue
		}
		cur, curW := words[0], cellWidth(words[0])
		for _, w := range words[1:] {
			ww := cellWidth(w)
			if curW+1+ww > width {
				out = append(out, cur)
				cur, curW = w, ww
				continue
			}
			cur += " " + w
			curW += 1 + ww
		}
		out = append(out, cur)
	}
	return out
}

// cellWidth is the display width of s: its length for ASCII, else what
// Lip Gloss measures (wide and combined characters).
func cellWidth(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return lipgloss.Width(s)
		}
	}
	return len(s)
}

func (t *textWriter) summary() {
	counts := map[Severity]int{}
	for _, f := range t.r.Findings {
		counts[f.Severity]++
	}
	var parts []string
	for _, s := range []Severity{SeverityError, SeverityWarning, SeverityInfo} {
		if n := counts[s]; n > 0 {
			word := s.String()
			if n != 1 {
				word += "s"
			}
			parts = append(parts, t.st(sevStyle(s), fmt.Sprintf("%d %s", n, word)))
		}
	}
	n := len(t.r.Findings)
	switch n {
	case 0:
		t.p("no findings")
	case 1:
		t.p("1 finding (%s)", strings.Join(parts, ", "))
	default:
		t.p("%d findings (%s)", n, strings.Join(parts, ", "))
	}
	var extra []string
	if ne := len(t.r.Errors); ne > 0 {
		extra = append(extra, fmt.Sprintf("%d config %s", ne, plural(ne, "problem", "problems")))
	}
	if t.r.Suppressed > 0 {
		extra = append(extra, fmt.Sprintf("%d suppressed", t.r.Suppressed))
	}
	if t.r.Baselined > 0 {
		extra = append(extra, fmt.Sprintf("%d in baseline", t.r.Baselined))
	}
	if len(extra) > 0 {
		t.p("; %s", strings.Join(extra, ", "))
	}
	t.p("\n")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
