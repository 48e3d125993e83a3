package lint

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/charmbracelet/colorprofile"
	"github.com/google/go-cmp/cmp"
	"github.com/ngxkeep/ngxkeep/parser"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// goldenResult lints a small tree with a snippet included twice (tabs and
// UTF-8 in the source), a related position, a fix, a suppression problem,
// and a second config with a parse error.
func goldenResult(t *testing.T) *Result {
	t.Helper()
	fsys := fstest.MapFS{
		"site/nginx.conf":      {Data: []byte("events {}\nhttp {\n\tupstream app { server 127.0.0.1:8081; }\n\tserver {\n\t\tserver_name \"café.example\"; location /a { include snippets/p.conf; }\n\t\tlocation /b { include snippets/p.conf; }\n\t\tkeepalive_timeout 2h; # ngxkeep:ignore KT02\n\t}\n}\n")},
		"site/snippets/p.conf": {Data: []byte("proxy_pass http://app;\n")},
		"bad.conf":             {Data: []byte("http {\n    keepalive_timeout 65s\n}\n")},
	}
	var ins []*Instance
	for _, name := range []string{"site/nginx.conf", "bad.conf"} {
		cfg := parser.Parse(name, fsys[name].Data, parser.Options{FS: fsys})
		ins = append(ins, NewInstance(name, cfg, nil))
	}
	pass := &Analyzer{ID: "KT01", Name: "test-pass", Severity: SeverityWarning, Scope: Single,
		Doc: "Test rule.", Bad: "x", Good: "y",
		Run: func(p *Pass) error {
			for _, in := range p.Instances {
				for _, px := range in.Proxies() {
					f := p.Reportf(px.Node, "nginx opens a new connection to %s for every request and closes it after the response", px.Target())
					if px.Upstream != nil {
						f.AddRelated(px.Upstream.Node, "upstream %s has no keepalive", px.Upstream.Name)
					}
					f.SetFix("add proxy_http_version 1.1", InsertBefore(px.Node, "proxy_http_version 1.1;"))
				}
			}
			return nil
		}}
	long := &Analyzer{ID: "KT02", Name: "test-long", Severity: SeverityError, Scope: Single,
		Doc: "Test rule two.", Bad: "x", Good: "y",
		Run: func(p *Pass) error {
			for _, in := range p.Instances {
				for _, n := range in.Nodes("keepalive_timeout") {
					p.ReportArg(n, 0, "keepalive_timeout %s", ArgValue(n, 0))
				}
			}
			return nil
		}}
	old := &Analyzer{ID: "KT03", Name: "test-old", Severity: SeverityInfo, Scope: Single,
		MaxVersion: parser.V1_29_7, Doc: "Test rule three.", Bad: "x", Good: "y",
		Run: func(p *Pass) error {
			for _, in := range p.Instances {
				for _, u := range in.Upstreams() {
					p.Reportf(u.Node, "no keepalive before 1.29.7")
				}
			}
			return nil
		}}
	r, err := Run(context.Background(), Options{Analyzers: []*Analyzer{pass, long, old}, Instances: ins})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./lint -run Format -update)", err)
	}
	if d := cmp.Diff(string(want), string(got)); d != "" {
		t.Errorf("%s (-want +got):\n%s", name, d)
	}
}

func TestFormats(t *testing.T) {
	r := goldenResult(t)
	for _, tc := range []struct {
		name  string
		write func(*bytes.Buffer) error
	}{
		{"text.txt", func(b *bytes.Buffer) error {
			return WriteText(b, r, TextOptions{Profile: colorprofile.NoTTY, Width: 80})
		}},
		{"text-ansi256.txt", func(b *bytes.Buffer) error {
			return WriteText(b, r, TextOptions{Profile: colorprofile.ANSI256, Width: 80})
		}},
		{"report.json", func(b *bytes.Buffer) error { return WriteJSON(b, r) }},
		{"report.sarif", func(b *bytes.Buffer) error {
			return WriteSARIF(b, r, SARIFOptions{ToolVersion: "v0.0.0-test", SrcRoot: "/src"})
		}},
		{"github.txt", func(b *bytes.Buffer) error { return WriteGitHub(b, r) }},
		{"checkstyle.xml", func(b *bytes.Buffer) error { return WriteCheckstyle(b, r) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := tc.write(&b); err != nil {
				t.Fatal(err)
			}
			golden(t, tc.name, b.Bytes())
		})
	}
}

func TestTextPlainHasNoEscapes(t *testing.T) {
	var b bytes.Buffer
	if err := WriteText(&b, goldenResult(t), TextOptions{Profile: colorprofile.ASCII}); err != nil {
		t.Fatal(err)
	}
	// ASCII (NO_COLOR) keeps bold but drops every colour.
	if bytes.Contains(b.Bytes(), []byte("\x1b[38")) || bytes.Contains(b.Bytes(), []byte("\x1b[3")) && bytes.Contains(b.Bytes(), []byte(";5;")) {
		t.Errorf("colour escapes under the ASCII profile:\n%q", b.String())
	}
}
