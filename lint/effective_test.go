package lint

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	"github.com/ngxkeep/ngxkeep/parser"
	"github.com/rogpeppe/go-internal/txtar"
)

// TestEffectiveMatchesParser checks that the engine's memoized Effective
// answers exactly what parser.Node.Effective answers, for every node of the
// rule test corpus and the scenario configs, for every directive name used
// in the config plus the keep-alive directives, at two versions.
func TestEffectiveMatchesParser(t *testing.T) {
	var cfgs []*parser.Config
	files, _ := filepath.Glob("../rules/testdata/*/*")
	files = append(files, "../testdata/scenarios/box1-frontend.conf", "../testdata/scenarios/box2-backend.conf")
	for _, f := range files {
		switch {
		case strings.HasSuffix(f, ".conf"):
			c, err := parser.Load(f, parser.Options{})
			if err != nil {
				t.Fatal(err)
			}
			cfgs = append(cfgs, c)
		case strings.HasSuffix(f, ".txtar"):
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			ar := txtar.Parse(data)
			m := fstest.MapFS{}
			for _, af := range ar.Files {
				m[af.Name] = &fstest.MapFile{Data: af.Data}
			}
			for _, af := range ar.Files {
				if !strings.Contains(af.Name, "/") && strings.HasSuffix(af.Name, ".conf") {
					c, err := parser.Load(af.Name, parser.Options{FS: m})
					if err != nil {
						t.Fatal(err)
					}
					cfgs = append(cfgs, c)
				}
			}
		}
	}
	if len(cfgs) < 3 {
		t.Fatalf("only %d configs found", len(cfgs))
	}
	extra := []string{"keepalive_timeout", "keepalive_requests", "keepalive_time", "proxy_http_version",
		"proxy_set_header", "proxy_next_upstream", "keepalive", "worker_connections", "proxy_read_timeout",
		"fastcgi_keep_conn", "proxy_pass", "keepalive_disable", "lingering_close"}
	versions := []parser.Version{{Major: 1, Minor: 22}, parser.DefaultVersion}
	checked := 0
	for _, c := range cfgs {
		ec := newEffCache()
		names := map[string]bool{}
		for _, n := range extra {
			names[n] = true
		}
		c.Tree().Walk(func(n *parser.Node) bool {
			if n.Directive != nil {
				names[n.Name] = true
			}
			return true
		})
		c.Tree().Walk(func(n *parser.Node) bool {
			// Simple directives ask their block: checking blocks (and
			// the root) covers every level.
			if n.Directive != nil && n.Block == nil {
				return true
			}
			for name := range names {
				for _, v := range versions {
					want := n.Effective(name, v)
					got := ec.effective(n, name, v)
					if sameSetting(want, got) {
						checked++
						continue
					}
					if d := cmp.Diff(want, got, cmp.Comparer(func(a, b *parser.Node) bool { return a == b }),
						cmp.Comparer(func(a, b *parser.Spec) bool { return a == b })); d != "" {
						where := "root"
						if n.Directive != nil {
							where = n.File().Name + ":" + n.Name
						}
						t.Fatalf("%s: Effective(%s, %s) differs (-parser +engine):\n%s", where, name, v, d)
					}
					checked++
				}
			}
			return true
		})
	}
	t.Logf("%d configs, %d lookups compared", len(cfgs), checked)
}

func sameSetting(a, b parser.Setting) bool {
	if a.Name != b.Name || a.Node != b.Node || a.Default != b.Default || a.Version != b.Version ||
		a.Spec != b.Spec || len(a.Nodes) != len(b.Nodes) || !reflect.DeepEqual(a.Args, b.Args) ||
		!reflect.DeepEqual(a.Values, b.Values) {
		return false
	}
	for i := range a.Nodes {
		if a.Nodes[i] != b.Nodes[i] {
			return false
		}
	}
	return true
}
