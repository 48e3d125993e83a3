package translate

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/ngxkeep/ngxkeep/parser"
	"github.com/ngxkeep/ngxkeep/runtime/config"
	"github.com/rogpeppe/go-internal/txtar"
	"go.uber.org/goleak"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// corpusDir holds the files of the txtar cases for the whole test run.
var corpusDir string

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "translate-corpus-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	corpusDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

var (
	v122 = parser.Version{Major: 1, Minor: 22}
	v130 = parser.Version{Major: 1, Minor: 30}
)

// TestGoldenScenarios translates the founding scenario for 1.30 and 1.22
// and compares the HCL and the coverage report with the checked-in files.
func TestGoldenScenarios(t *testing.T) {
	golden, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir("../..") // so the file names in the output are repository paths
	for _, v := range []parser.Version{v130, v122} {
		t.Run(v.String(), func(t *testing.T) {
			cfgs := load(t, "testdata/scenarios/box1-frontend.conf", "testdata/scenarios/box2-backend.conf")
			model, rep := Translate(cfgs, v)
			checkGolden(t, filepath.Join(golden, "scenarios-"+v.String()+".hcl"), Encode(model, rep))
			checkGolden(t, filepath.Join(golden, "scenarios-"+v.String()+".report"), reportText(rep))
		})
	}
}

func reportText(r *Report) []byte {
	var b bytes.Buffer
	for _, e := range r.Entries {
		fmt.Fprintf(&b, "%-12s %-14s %-22s %s", e.Verdict, e.Instance, e.Directive, e.Where())
		if e.Note != "" {
			fmt.Fprintf(&b, "  # %s", e.Note)
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if d := cmp.Diff(string(want), string(got)); d != "" {
		t.Errorf("%s differs (-want +got; go test -update rewrites it):\n%s", filepath.Base(path), d)
	}
}

func load(t *testing.T, paths ...string) []*parser.Config {
	t.Helper()
	var out []*parser.Config
	for _, p := range paths {
		c, err := parser.Load(p, parser.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if c.HasErrors() {
			t.Fatalf("%s: %v", p, c.Diagnostics)
		}
		out = append(out, c)
	}
	return out
}

// corpusConfig is one nginx configuration of the repository's testdata.
type corpusConfig struct {
	name  string
	cfg   *parser.Config
	valid bool // nginx (or our parser, which agrees with nginx -t) accepts it
}

// corpus loads every nginx configuration under testdata/ (scenarios, the
// parser's nginx -t corpus, every conformance scenario's configs) and the
// rules' testdata, each txtar file's .conf members in their own directory.
func corpus(t *testing.T) []corpusConfig {
	t.Helper()
	corpusOnce.Do(func() { corpusCache = loadCorpus(t) })
	if corpusCache == nil {
		t.FailNow()
	}
	return corpusCache
}

var (
	corpusOnce  sync.Once
	corpusCache []corpusConfig
)

func loadCorpus(t *testing.T) []corpusConfig {
	var out []corpusConfig
	add := func(name, path string, opts parser.Options) {
		c, err := parser.Load(path, opts)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out = append(out, corpusConfig{name: name, cfg: c, valid: !c.HasErrors()})
	}
	addTxtar := func(path string) {
		a, err := txtar.ParseFile(path)
		if err != nil {
			t.Fatal(err)
		}
		dir, err := os.MkdirTemp(corpusDir, "")
		if err != nil {
			t.Fatal(err)
		}
		var mains []string
		for _, f := range a.Files {
			data := f.Data
			// Conformance configs are templates; give them fixed values.
			data = bytes.ReplaceAll(data, []byte("{{.Dir}}"), []byte(dir))
			for _, port := range portRefs(data) {
				data = bytes.ReplaceAll(data, []byte(port.ref), []byte(port.value))
			}
			p := filepath.Join(dir, f.Name)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, data, 0o644); err != nil {
				t.Fatal(err)
			}
			if strings.HasSuffix(f.Name, ".conf") && !strings.Contains(f.Name, "/") {
				mains = append(mains, f.Name)
			}
		}
		for _, m := range mains {
			add(path+":"+m, filepath.Join(dir, m), parser.Options{})
		}
	}
	for _, root := range []string{"../../testdata", "../../rules/testdata"} {
		err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				// Directory cases of the nginx -t corpus: nginx.conf is the main file.
				if main := filepath.Join(path, "nginx.conf"); strings.Contains(path, "nginx-t") && fileExists(main) {
					add(path, main, parser.Options{})
					return filepath.SkipDir
				}
				return nil
			}
			switch filepath.Ext(path) {
			case ".conf":
				add(path, path, parser.Options{})
			case ".txtar":
				addTxtar(path)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(out) < 100 {
		t.Fatalf("only %d configurations found under testdata", len(out))
	}
	return out
}

type portRef struct{ ref, value string }

// portRefs finds {{.Port "name"}} references and gives each name a port.
func portRefs(data []byte) []portRef {
	var out []portRef
	seen := map[string]bool{}
	s := string(data)
	for {
		i := strings.Index(s, "{{.Port ")
		if i < 0 {
			return out
		}
		j := strings.Index(s[i:], "}}")
		if j < 0 {
			return out
		}
		ref := s[i : i+j+2]
		if !seen[ref] {
			seen[ref] = true
			out = append(out, portRef{ref, fmt.Sprint(20000 + len(out))})
		}
		s = s[i+j+2:]
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// TestRoundTrip: for every valid configuration, the model equals the
// model read back from its HCL, the HCL is formatted as hclwrite.Format
// would, and the model validates.
func TestRoundTrip(t *testing.T) {
	n := 0
	for _, c := range corpus(t) {
		if !c.valid {
			continue
		}
		for _, v := range []parser.Version{v122, v130} {
			model, rep := Translate([]*parser.Config{c.cfg}, v)
			src := Encode(model, rep)
			if f := hclwrite.Format(src); !bytes.Equal(f, src) {
				t.Errorf("%s (%s): Encode's output is not in hclwrite.Format's layout (-Encode +Format):\n%s", c.name, v, cmp.Diff(string(src), string(f)))
			}
			back, diags := config.Decode("translated.hcl", src)
			if diags.HasErrors() {
				t.Errorf("%s (%s): decode: %v\n%s", c.name, v, diags, src)
				continue
			}
			if d := cmp.Diff(model, back, cmpopts.IgnoreTypes(hcl.Range{})); d != "" {
				t.Errorf("%s (%s): nginx → model differs from nginx → HCL → model (-direct +via HCL):\n%s", c.name, v, d)
			}
			for _, d := range back.Validate() {
				// nginx runs a configuration without http servers (it
				// serves nothing); the runtime model needs one.
				if d.Severity == hcl.DiagError && !(d.Summary == "No servers" && len(model.Instances[0].Servers) == 0) {
					t.Errorf("%s (%s): the translated model does not validate: %v", c.name, v, d)
				}
			}
			n++
		}
	}
	t.Logf("%d translations round-tripped", n)
}

// TestEveryNodeHasAVerdict walks every node of every configuration
// (invalid ones included) and checks that the report has exactly one
// entry for it, and that every include directive is reported.
func TestEveryNodeHasAVerdict(t *testing.T) {
	for _, c := range corpus(t) {
		for _, v := range []parser.Version{v122, v130} {
			_, rep := Translate([]*parser.Config{c.cfg}, v)
			byNode := map[*parser.Node]int{}
			includes := 0
			for _, e := range rep.Entries {
				if e.Verdict < Preserved || e.Verdict > Unsupported {
					t.Errorf("%s: %s at %s has no verdict", c.name, e.Directive, e.Where())
				}
				if e.Node == nil {
					if e.Directive != "include" {
						t.Errorf("%s: entry without node for %s at %s", c.name, e.Directive, e.Where())
					}
					includes++
					continue
				}
				byNode[e.Node]++
			}
			c.cfg.Tree().Walk(func(n *parser.Node) bool {
				if n.Directive == nil {
					return true
				}
				if byNode[n] != 1 {
					t.Errorf("%s (%s): %s at %s:%d:%d has %d entries, want 1", c.name, v, n.Name, n.File().Name, n.Pos.Line, n.Pos.Col, byNode[n])
				}
				return true
			})
			want := 0
			for _, f := range c.cfg.Files {
				walkDirectives(f.Directives, func(d *parser.Directive) {
					if d.Name == "include" && d.Block == nil {
						want++
					}
				})
			}
			// An include in a file used N times is reported N times.
			if includes < want {
				t.Errorf("%s: %d include entries for %d include directives", c.name, includes, want)
			}
		}
	}
}

// translateSrc translates one configuration given as text.
func translateSrc(t *testing.T, v parser.Version, src string, files ...string) (*config.Instance, *Report) {
	t.Helper()
	dir := t.TempDir()
	for i := 0; i+1 < len(files); i += 2 {
		if err := os.WriteFile(filepath.Join(dir, files[i]), []byte(files[i+1]), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	main := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(main, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := parser.Load(main, parser.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c.HasErrors() {
		t.Fatalf("config has errors: %v", c.Diagnostics)
	}
	model, rep := Translate([]*parser.Config{c}, v)
	if diags := model.Validate(); diags.HasErrors() {
		t.Fatalf("model does not validate: %v\n%s", diags, Encode(model, rep))
	}
	return model.Instances[0], rep
}

// verdict returns the verdict and note of the first entry for the
// directive on the given line.
func verdict(t *testing.T, r *Report, name string, line int) (Verdict, string) {
	t.Helper()
	for _, e := range r.Entries {
		if e.Directive == name && e.Line == line {
			return e.Verdict, e.Note
		}
	}
	var have []string
	for _, e := range r.Entries {
		have = append(have, fmt.Sprintf("%s@%d", e.Directive, e.Line))
	}
	sort.Strings(have)
	t.Fatalf("no entry for %s on line %d; have %v", name, line, have)
	return 0, ""
}

// BenchmarkTranslate translates and encodes a generated configuration of
// 500 servers, each with an upstream and three locations.
func BenchmarkTranslate(b *testing.B) {
	var src strings.Builder
	src.WriteString("events {}\nhttp {\n    keepalive_timeout 30s;\n    proxy_http_version 1.1;\n")
	for i := 0; i < 500; i++ {
		fmt.Fprintf(&src, "    upstream u%d { server 127.0.0.1:%d; keepalive 8; }\n", i, 10000+i)
		fmt.Fprintf(&src, "    server {\n        listen 127.0.0.1:%d;\n        server_name s%d.example;\n", 20000+i, i)
		fmt.Fprintf(&src, "        location / { proxy_set_header Connection \"\"; proxy_pass http://u%d; }\n", i)
		src.WriteString("        location = /health { return 200 \"ok\\n\"; }\n        location ~ \\.php$ { return 403; }\n    }\n")
	}
	src.WriteString("}\n")
	c := parser.Parse("bench.conf", []byte(src.String()), parser.Options{})
	if c.HasErrors() {
		b.Fatal(c.Diagnostics)
	}
	b.ReportAllocs()
	for b.Loop() {
		model, rep := Translate([]*parser.Config{c}, v130)
		Encode(model, rep)
	}
}
