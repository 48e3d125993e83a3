// Package linttest checks lint rules against annotated nginx configs, the
// way golang.org/x/tools/go/analysis/analysistest checks Go analyzers.
//
// A rule's test data lives in rules/testdata/<ID>/. Every file there is one
// test case:
//
//   - NAME.conf is one nginx instance (included files are read relative
//     to it);
//   - NAME.txtar is a txtar archive for cases with several files: every
//     top-level *.conf member is a separate instance (a frontend and a
//     backend, say), members in subdirectories are only reachable through
//     include, and an optional .ngxkeep.hcl member is the lint config
//     (tiers, rule options, nginx_version).
//
// The target nginx version is set by a "# target: 1.22" comment line before
// the first directive of a .conf file (or of the first instance of an
// archive), or by a "target: 1.22" line in an archive's comment; default
// parser.DefaultVersion.
//
// Expected findings are written as comments on the line where the finding
// starts, in any file of the case:
//
//	proxy_pass http://app; # want KA01
//	keepalive_timeout 300s; # want TO01 "75s" TO03
//
// Each "ID" expects exactly one finding of that rule starting on that line;
// an optional quoted Go regexp after the ID must match its message. A
// snippet included from two places reports twice: write the ID twice.
// Every finding must be wanted and every want found (both directions). The
// built-in suppression rules (NK01, NK02) are checked the same way.
//
// Run also checks each finding's shape (positions inside the file, a
// message, a known file) and, for findings with a fix, that the fixed
// configs parse and no longer produce findings of the rule that carry a fix.
//
// A family's test is one call: RunAll(t, "../testdata", Analyzers) checks
// each analyzer's fields, its Bad and Good examples and its cases. GenLarge
// and LargeTree generate the project's include-heavy gen_large.py tree for
// seed tests and benchmarks.
package linttest

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/ngxkeep/ngxkeep/lint"
	"github.com/ngxkeep/ngxkeep/parser"
	"github.com/rogpeppe/go-internal/txtar"
)

// Run checks analyzer a against every case in dir (rules/testdata/<ID>).
// It fails when dir has no case.
func Run(t *testing.T, dir string, a *lint.Analyzer) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("%s: %v", a.ID, err)
	}
	n := 0
	for _, e := range ents {
		name := e.Name()
		if e.IsDir() || !(strings.HasSuffix(name, ".conf") || strings.HasSuffix(name, ".txtar")) {
			continue
		}
		n++
		p := filepath.Join(dir, name)
		t.Run(strings.TrimSuffix(strings.TrimSuffix(name, ".conf"), ".txtar"), func(t *testing.T) {
			c, err := readCase(p)
			if err != nil {
				t.Fatal(err)
			}
			check(t, c, a)
		})
	}
	if n == 0 {
		t.Fatalf("%s: no test cases (*.conf, *.txtar) in %s", a.ID, dir)
	}
}

// RunAll checks each analyzer in its own subtest (named by its ID): its
// static fields (Analyzer.Validate), its Bad and Good examples (Examples)
// and the cases in dir/<ID> (Run).
func RunAll(t *testing.T, dir string, analyzers []*lint.Analyzer) {
	t.Helper()
	for _, a := range analyzers {
		t.Run(a.ID, func(t *testing.T) {
			if err := a.Validate(); err != nil {
				t.Fatal(err)
			}
			Examples(t, a)
			Run(t, filepath.Join(dir, a.ID), a)
		})
	}
}

// Examples checks the analyzer's Bad example produces at least one finding
// of it and its Good example none.
func Examples(t *testing.T, a *lint.Analyzer) {
	t.Helper()
	for _, ex := range []struct {
		name string
		text string
		bad  bool
	}{{"Bad", a.Bad, true}, {"Good", a.Good, false}} {
		c, err := textCase(a.ID+"-"+strings.ToLower(ex.name), ex.text)
		if err != nil {
			t.Errorf("%s.%s: %v", a.ID, ex.name, err)
			continue
		}
		res, err := c.run(a)
		if err != nil {
			t.Errorf("%s.%s: %v", a.ID, ex.name, err)
			continue
		}
		if res.HasErrors() {
			t.Errorf("%s.%s does not parse: %s:%d:%d: %s", a.ID, ex.name, res.Errors[0].File, res.Errors[0].Pos.Line, res.Errors[0].Pos.Col, res.Errors[0].Message)
			continue
		}
		n := 0
		for _, f := range res.Findings {
			if f.Rule == a.ID {
				n++
			}
		}
		if ex.bad && n == 0 {
			t.Errorf("%s.Bad produces no %s finding (target %s)", a.ID, a.ID, res.Target)
		}
		if !ex.bad && n > 0 {
			t.Errorf("%s.Good produces %d %s finding(s), first: %s", a.ID, n, a.ID, res.Findings[0].Message)
		}
	}
}

// Lint runs analyzers on a case written as text (one config, or a txtar
// archive as described in the package doc) and returns the result, for
// tests that check more than the "# want" annotations.
func Lint(t *testing.T, text string, analyzers ...*lint.Analyzer) *lint.Result {
	t.Helper()
	c, err := textCase("case", text)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.run(analyzers...)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// tcase is one test case: a file system and its instances.
type tcase struct {
	name      string
	fsys      fs.FS
	instances []string // names in fsys
	display   string   // directory prefix for display names
	target    parser.Version
	config    []byte // .ngxkeep.hcl
}

func readCase(p string) (*tcase, error) {
	if strings.HasSuffix(p, ".txtar") {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		c, err := archiveCase(p, txtar.Parse(data))
		if err != nil {
			return nil, err
		}
		return c, nil
	}
	c := &tcase{name: p, fsys: os.DirFS(filepath.Dir(p)), instances: []string{filepath.Base(p)}, display: filepath.ToSlash(filepath.Dir(p))}
	src, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	if c.target, err = targetHeader(src); err != nil {
		return nil, fmt.Errorf("%s: %v", p, err)
	}
	return c, nil
}

// textCase reads a Bad/Good example or a Lint text.
func textCase(name, text string) (*tcase, error) {
	if strings.HasPrefix(text, "-- ") || strings.Contains(text, "\n-- ") {
		return archiveCase(name, txtar.Parse([]byte(text)))
	}
	c := &tcase{name: name, fsys: fstest.MapFS{"nginx.conf": {Data: []byte(text)}}, instances: []string{"nginx.conf"}}
	var err error
	c.target, err = targetHeader([]byte(text))
	return c, err
}

func archiveCase(name string, ar *txtar.Archive) (*tcase, error) {
	m := fstest.MapFS{}
	c := &tcase{name: name, fsys: m}
	for _, f := range ar.Files {
		m[f.Name] = &fstest.MapFile{Data: f.Data}
		switch {
		case f.Name == lint.ConfigFileName:
			c.config = f.Data
		case !strings.Contains(f.Name, "/") && strings.HasSuffix(f.Name, ".conf"):
			c.instances = append(c.instances, f.Name)
		}
	}
	if len(c.instances) == 0 {
		return nil, fmt.Errorf("%s: archive has no top-level .conf file", name)
	}
	for _, line := range strings.Split(string(ar.Comment), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "target:"); ok {
			t, err := parser.ParseVersion(strings.TrimSpace(v))
			if err != nil {
				return nil, fmt.Errorf("%s: %v", name, err)
			}
			c.target = t
		}
	}
	if c.target.IsZero() {
		var err error
		if c.target, err = targetHeader(m[c.instances[0]].Data); err != nil {
			return nil, fmt.Errorf("%s: %v", name, err)
		}
	}
	return c, nil
}

var targetRE = regexp.MustCompile(`^#\s*target:\s*(\S+)\s*$`)

// targetHeader reads "# target: X" from the comment lines before the first
// directive.
func targetHeader(src []byte) (parser.Version, error) {
	for _, line := range strings.Split(string(src), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if !strings.HasPrefix(line, "#") {
			break
		}
		if m := targetRE.FindStringSubmatch(line); m != nil {
			return parser.ParseVersion(m[1])
		}
	}
	return parser.Version{}, nil
}

func (c *tcase) load() ([]*lint.Instance, error) {
	var ins []*lint.Instance
	for _, name := range c.instances {
		cfg, tree, err := load(c.fsys, name)
		if err != nil {
			return nil, err
		}
		display := name
		if c.display != "" {
			display = c.display + "/" + name
		}
		ins = append(ins, lint.NewInstance(display, cfg, tree))
	}
	return ins, nil
}

func (c *tcase) run(analyzers ...*lint.Analyzer) (*lint.Result, error) {
	ins, err := c.load()
	if err != nil {
		return nil, err
	}
	var cfg *lint.Config
	if c.config != nil {
		cfg, err = lint.ParseConfig(c.config, path.Join(c.display, lint.ConfigFileName), analyzers)
		if err != nil {
			return nil, err
		}
	}
	return lint.Run(context.Background(), lint.Options{Target: c.target, Analyzers: analyzers,
		Instances: ins, Config: cfg, CompareVersions: []parser.Version{}})
}

// want is one expected finding.
type want struct {
	file string
	line int32
	rule string
	re   *regexp.Regexp
	raw  string
}

var wantRE = regexp.MustCompile(`^#.*?\bwant\s+(.*)$`)

// wants reads the "# want" annotations of every file of the result.
func wants(res *lint.Result) ([]*want, error) {
	var out []*want
	seen := map[*parser.File]bool{}
	for _, in := range res.Instances {
		if in.Config == nil {
			continue
		}
		for _, f := range in.Config.Files {
			if seen[f] {
				continue
			}
			seen[f] = true
			name := in.DisplayName(f)
			for _, cm := range f.Comments {
				m := wantRE.FindStringSubmatch(cm.Text)
				if m == nil {
					continue
				}
				ws, err := parseWants(m[1])
				if err != nil {
					return nil, fmt.Errorf("%s:%d: %v", name, cm.Pos.Line, err)
				}
				for _, w := range ws {
					w.file, w.line = name, cm.Pos.Line
					out = append(out, w)
				}
			}
		}
	}
	return out, nil
}

// quoted reads a regexp in double quotes (only \" is an escape; other
// backslashes belong to the regexp, so "\$arg_host" means \$arg_host) or in
// backquotes. It returns the text and the bytes consumed.
func quoted(s string) (string, int, bool) {
	q := s[0]
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch {
		case s[i] == q:
			return b.String(), i + 1, true
		case q == '"' && s[i] == '\\' && i+1 < len(s) && s[i+1] == '"':
			b.WriteByte('"')
			i++
		default:
			b.WriteByte(s[i])
		}
	}
	return "", 0, false
}

// parseWants reads `ID ["regexp"] ID ...`.
func parseWants(s string) ([]*want, error) {
	var out []*want
	s = strings.TrimSpace(s)
	for s != "" {
		id := s
		if i := strings.IndexAny(s, " \t"); i >= 0 {
			id = s[:i]
		}
		s = strings.TrimSpace(s[len(id):])
		if len(id) != 4 {
			return nil, fmt.Errorf("want: %q is not a rule ID", id)
		}
		w := &want{rule: id}
		if s != "" && (s[0] == '"' || s[0] == '`') {
			raw, n, ok := quoted(s)
			if !ok {
				return nil, fmt.Errorf("want %s: unterminated quoted regexp", id)
			}
			re, err := regexp.Compile(raw)
			if err != nil {
				return nil, fmt.Errorf("want %s: %v", id, err)
			}
			w.re, w.raw = re, raw
			s = strings.TrimSpace(s[n:])
		}
		out = append(out, w)
	}
	return out, nil
}

// reporter is the part of testing.T the checks use (tests of this package
// record what they report).
type reporter interface {
	Helper()
	Errorf(format string, args ...any)
	Fatal(args ...any)
}

func check(t reporter, c *tcase, a *lint.Analyzer) {
	t.Helper()
	res, err := c.run(a)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range res.Errors {
		if e.Severity == lint.SeverityError {
			t.Errorf("%s:%d:%d: config error: %s", e.File, e.Pos.Line, e.Pos.Col, e.Message)
		}
	}
	ws, err := wants(res)
	if err != nil {
		t.Fatal(err)
	}
	matched := make([]bool, len(ws))
	for _, f := range res.Findings {
		checkShape(t, res, f)
		ok := false
		// Prefer a want whose regexp matches.
		for pass := 0; pass < 2 && !ok; pass++ {
			for i, w := range ws {
				if matched[i] || w.file != f.File || w.line != f.Pos.Line || w.rule != f.Rule {
					continue
				}
				if w.re != nil && !w.re.MatchString(f.Message) {
					if pass == 0 {
						continue
					}
					t.Errorf("%s:%d:%d: %s finding %q does not match %q", f.File, f.Pos.Line, f.Pos.Col, f.Rule, f.Message, w.raw)
				}
				matched[i], ok = true, true
				break
			}
		}
		if !ok {
			t.Errorf("%s:%d:%d: unexpected %s finding: %s", f.File, f.Pos.Line, f.Pos.Col, f.Rule, f.Message)
		}
	}
	for i, w := range ws {
		if !matched[i] {
			if w.re != nil {
				t.Errorf("%s:%d: no %s finding matching %q", w.file, w.line, w.rule, w.raw)
			} else {
				t.Errorf("%s:%d: no %s finding", w.file, w.line, w.rule)
			}
		}
	}
	checkFixes(t, c, res, a)
}

func checkShape(t reporter, res *lint.Result, f *lint.Finding) {
	t.Helper()
	where := fmt.Sprintf("%s:%d:%d: %s", f.File, f.Pos.Line, f.Pos.Col, f.Rule)
	if strings.TrimSpace(f.Message) == "" {
		t.Errorf("%s: empty message", where)
	}
	src := res.Source(f.File)
	if src == nil {
		t.Errorf("%s: finding names a file that was not read", where)
		return
	}
	if !f.Pos.IsValid() || f.End.Offset < f.Pos.Offset || int(f.End.Offset) > len(src.Src) {
		t.Errorf("%s: bad range %+v-%+v", where, f.Pos, f.End)
	}
	for _, r := range f.Related {
		if res.Source(r.File) == nil && !strings.HasSuffix(r.File, ".hcl") {
			t.Errorf("%s: related position in unknown file %q", where, r.File)
		}
	}
}

// checkFixes applies the fixes and lints again: the fixed findings must be
// gone, and text outside the edits must be unchanged.
func checkFixes(t reporter, c *tcase, res *lint.Result, a *lint.Analyzer) {
	t.Helper()
	fixed := 0
	for _, f := range res.Findings {
		if f.Fix != nil && f.Rule == a.ID {
			fixed++
		}
	}
	if fixed == 0 {
		return
	}
	changes, _, err := res.Fixes()
	if err != nil {
		t.Errorf("fixes: %v", err)
		return
	}
	over := overlayFS{base: c.fsys, files: map[string][]byte{}}
	for _, ch := range changes {
		name := strings.TrimPrefix(ch.File, c.display+"/")
		over.files[name] = ch.New
	}
	c2 := *c
	c2.fsys = over
	res2, err := c2.run(a)
	if err != nil {
		t.Errorf("after fixes: %v", err)
		return
	}
	for _, e := range res2.Errors {
		if e.Severity == lint.SeverityError {
			t.Errorf("after fixes: %s:%d:%d: %s", e.File, e.Pos.Line, e.Pos.Col, e.Message)
		}
	}
	for _, f := range res2.Findings {
		if f.Rule == a.ID && f.Fix != nil {
			t.Errorf("after fixes, %s still reports %s:%d:%d: %s", a.ID, f.File, f.Pos.Line, f.Pos.Col, f.Message)
		}
	}
}

// overlayFS serves files from a map before falling back to base.
type overlayFS struct {
	base  fs.FS
	files map[string][]byte
}

func (o overlayFS) Open(name string) (fs.File, error) {
	if data, ok := o.files[name]; ok {
		m := fstest.MapFS{name: {Data: data}}
		return m.Open(name)
	}
	return o.base.Open(name)
}
