package lint

import (
	"context"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	"github.com/ngxkeep/ngxkeep/parser"
)

func TestEditHelpers(t *testing.T) {
	src := "http {\n\tserver {\n\t\tlocation / { proxy_pass http://a; }\n\t\tlocation /b {\n\t\t\tproxy_pass http://b;   # note\n\t\t}\n\t}\n}\n"
	in := mustInstance(t, "x.conf", src)
	ps := in.Nodes("proxy_pass")
	loc := ps[1].Parent
	for _, tc := range []struct {
		name string
		e    Edit
		want string
	}{
		{"insert before, own line", InsertBefore(ps[1], "proxy_http_version 1.1;"),
			strings.Replace(src, "\t\t\tproxy_pass http://b;", "\t\t\tproxy_http_version 1.1;\n\t\t\tproxy_pass http://b;", 1)},
		{"insert before, one-liner", InsertBefore(ps[0], "proxy_http_version 1.1;"),
			strings.Replace(src, "{ proxy_pass http://a; }", "{ proxy_http_version 1.1; proxy_pass http://a; }", 1)},
		{"insert after, comment kept", InsertAfter(ps[1], `proxy_set_header Connection "";`),
			strings.Replace(src, "http://b;   # note\n", "http://b;   # note\n\t\t\tproxy_set_header Connection \"\";\n", 1)},
		{"insert after, one-liner", InsertAfter(ps[0], "x;"),
			strings.Replace(src, "http://a; }", "http://a; x; }", 1)},
		{"insert after block", InsertAfter(loc, "location /c {}"),
			strings.Replace(src, "\t\t}\n\t}", "\t\t}\n\t\tlocation /c {}\n\t}", 1)},
		{"replace arg", ReplaceArg(ps[1], 0, "http://c"), strings.Replace(src, "http://b", "http://c", 1)},
		{"replace directive", ReplaceDirective(ps[0], "return 204;"), strings.Replace(src, "proxy_pass http://a;", "return 204;", 1)},
		{"delete own line", Delete(ps[1]), strings.Replace(src, "\t\t\tproxy_pass http://b;   # note\n", "", 1)},
		{"delete in line", Delete(ps[0]), strings.Replace(src, "proxy_pass http://a;", "", 1)},
	} {
		got, err := ApplyEdits([]byte(src), []Edit{tc.e})
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if d := cmp.Diff(tc.want, string(got)); d != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, d)
		}
	}
	if _, err := ApplyEdits([]byte(src), []Edit{{Start: 3, End: 8}, {Start: 5, End: 5, New: "x"}}); err == nil {
		t.Error("overlapping edits: no error")
	}
}

func TestFixesDeterministicAndOncePerFile(t *testing.T) {
	fsys := fstest.MapFS{
		"nginx.conf": {Data: []byte("http {\n    server {\n        location /a { include snip.conf; }\n        location /b { include snip.conf; }\n        location /c { proxy_pass http://x; }\n    }\n}\n")},
		"snip.conf":  {Data: []byte("proxy_pass http://x;\n")},
	}
	cfg := parser.Parse("nginx.conf", fsys["nginx.conf"].Data, parser.Options{FS: fsys})
	in := NewInstance("nginx.conf", cfg, nil)
	// Two rules fix the same directive: one inserts before it, one
	// replaces its argument, one replaces the whole directive (conflict).
	mk := func(id string, edit func(n *parser.Node) Edit) *Analyzer {
		a := fakeAnalyzer(id, strings.ToLower(id), "proxy_pass")
		a.Run = func(p *Pass) error {
			for _, n := range p.Instances[0].Nodes("proxy_pass") {
				p.Reportf(n, "x").SetFix(id+" fix", edit(n))
			}
			return nil
		}
		return a
	}
	as := []*Analyzer{
		mk("FX01", func(n *parser.Node) Edit { return InsertBefore(n, "proxy_http_version 1.1;") }),
		mk("FX02", func(n *parser.Node) Edit { return ReplaceArg(n, 0, "http://y") }),
		mk("FX03", func(n *parser.Node) Edit { return ReplaceDirective(n, "return 204;") }),
	}
	r, err := Run(context.Background(), Options{Analyzers: as, Instances: []*Instance{in}, CompareVersions: []parser.Version{}})
	if err != nil {
		t.Fatal(err)
	}
	changes, skipped, err := r.Fixes()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, c := range changes {
		got[c.File] = string(c.New)
	}
	want := map[string]string{
		"nginx.conf": "http {\n    server {\n        location /a { include snip.conf; }\n        location /b { include snip.conf; }\n        location /c { proxy_http_version 1.1; proxy_pass http://y; }\n    }\n}\n",
		"snip.conf":  "proxy_http_version 1.1;\nproxy_pass http://y;\n",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("fixed files (-want +got):\n%s", d)
	}
	// FX03 conflicts with FX02 at 3 places (two uses of the snippet, one
	// in nginx.conf).
	if skipped != 3 {
		t.Errorf("skipped = %d, want 3", skipped)
	}
	for _, c := range changes {
		if c.File == "snip.conf" && c.Fixes != 2 {
			t.Errorf("snip.conf: %d fixes applied, want 2 (each once despite two uses)", c.Fixes)
		}
	}
	if d := string(changes[0].Diff()); !strings.Contains(d, "+        location /c { proxy_http_version 1.1; proxy_pass http://y; }") {
		t.Errorf("diff:\n%s", d)
	}
}
