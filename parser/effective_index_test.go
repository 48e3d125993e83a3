package parser

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	"github.com/rogpeppe/go-internal/txtar"
)

// corpusConfigs loads the rule test corpus, the scenario configs and the
// parser's nginx -t cases: configs that exercise every kind of level.
func corpusConfigs(t *testing.T) []*Config {
	t.Helper()
	var cfgs []*Config
	files, _ := filepath.Glob("../rules/testdata/*/*")
	more, _ := filepath.Glob("../testdata/parser/nginx-t/*.conf")
	files = append(files, more...)
	files = append(files, "../testdata/scenarios/box1-frontend.conf", "../testdata/scenarios/box2-backend.conf")
	for _, f := range files {
		switch {
		case strings.HasSuffix(f, ".conf"):
			c, err := Load(f, Options{})
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
					c, err := Load(af.Name, Options{FS: m})
					if err != nil {
						t.Fatal(err)
					}
					cfgs = append(cfgs, c)
				}
			}
		}
	}
	if len(cfgs) < 50 {
		t.Fatalf("only %d configs found", len(cfgs))
	}
	return cfgs
}

// TestEffectiveIndexMatchesWalk checks that the memoized Effective answers
// exactly what the plain walk over the levels answers, for every block of
// the corpus, every directive name used in its config plus the keep-alive
// directives, at two versions, asking the blocks in an order where
// children come before their parents (so memoized inner levels are reused
// by outer ones as well as the reverse).
func TestEffectiveIndexMatchesWalk(t *testing.T) {
	extra := []string{"keepalive_timeout", "keepalive_requests", "keepalive_time", "proxy_http_version",
		"proxy_set_header", "proxy_next_upstream", "keepalive", "worker_connections", "proxy_read_timeout",
		"fastcgi_keep_conn", "proxy_pass", "keepalive_disable", "lingering_close", "no_such_directive"}
	versions := []Version{{1, 22, 0}, DefaultVersion}
	checked := 0
	for _, c := range corpusConfigs(t) {
		// Simple directives ask their block: blocks (and the root)
		// cover every level; one simple directive checks the step.
		names, blocks := effectiveProbes(c, extra, 1)
		for i := len(blocks) - 1; i >= 0; i-- {
			n := blocks[i]
			for name := range names {
				for _, v := range versions {
					want := n.effectiveUncached(name, v)
					got := n.Effective(name, v)
					checked++
					if sameSetting(want, got) {
						continue
					}
					where := "root"
					if n.Directive != nil {
						where = n.File().Name + ":" + n.Name
					}
					t.Fatalf("%s: Effective(%s, %s) differs (-walk +index):\n%s", where, name, v,
						cmp.Diff(want, got, cmp.Comparer(func(a, b *Node) bool { return a == b }),
							cmp.Comparer(func(a, b *Spec) bool { return a == b })))
				}
			}
		}
	}
	t.Logf("%d lookups compared", checked)
}

// TestEffectiveIndexConcurrent asks the same settings from several
// goroutines at once (run with -race): every answer must be the walk's.
func TestEffectiveIndexConcurrent(t *testing.T) {
	cfg := Parse("nginx.conf", []byte(inheritConf), Options{FS: fstest.MapFS{}})
	var blocks []*Node
	cfg.Tree().Walk(func(n *Node) bool {
		if n.Directive == nil || n.Block != nil {
			blocks = append(blocks, n)
		}
		return true
	})
	names := []string{"keepalive_timeout", "proxy_set_header", "proxy_next_upstream", "keepalive", "proxy_pass"}
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				n := blocks[(g+i)%len(blocks)]
				for _, name := range names {
					if !sameSetting(n.effectiveUncached(name, DefaultVersion), n.Effective(name, DefaultVersion)) {
						errs <- n.Name + " " + name
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Errorf("concurrent Effective differs at %s", e)
	}
}

func sameSetting(a, b Setting) bool {
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

// TestEffectiveNodesMatchesEffective checks EffectiveNodes against the
// walk's Effective on every block (and one simple directive) of the
// corpus: before any Effective call on the tree (leaf levels answer from
// their children, the memo fills from the others), and again after
// Effective has memoized the same names.
func TestEffectiveNodesMatchesEffective(t *testing.T) {
	extra := []string{"keepalive_timeout", "proxy_http_version", "proxy_set_header", "proxy_next_upstream",
		"keepalive", "worker_connections", "fastcgi_keep_conn", "fastcgi_param", "proxy_pass",
		"set_real_ip_from", "no_such_directive"}
	checked := 0
	for _, c := range corpusConfigs(t) {
		names, blocks := effectiveProbes(c, extra, 3)
		for round := range 2 {
			for i := len(blocks) - 1; i >= 0; i-- {
				n := blocks[i]
				for name := range names {
					s := n.effectiveUncached(name, DefaultVersion)
					var want []*Node
					switch {
					case s.Spec != nil && (s.Spec.Merge == MergeArray || s.Spec.Merge == MergeBitmask):
						want = s.Nodes
					case s.Node != nil:
						want = []*Node{s.Node}
					}
					got := n.EffectiveNodes(name)
					checked++
					if !slices.Equal(got, want) || !slices.Equal(n.effectiveNodesUncached(name), want) {
						where := "root"
						if n.Directive != nil {
							where = n.File().Name + ":" + n.Name
						}
						t.Fatalf("round %d, %s: EffectiveNodes(%s) = %d nodes, want %d", round, where, name, len(got), len(want))
					}
					if round == 0 {
						n.Effective(name, DefaultVersion)
					}
				}
			}
		}
	}
	t.Logf("%d lookups compared", checked)
}

// modulePrefix is a variable so that the test below builds its names at
// run time, as the linter does (m.Prefix() + "_set_header").
var modulePrefix = "proxy"

// TestEffectiveNodesAllocatesNothing checks that asking a location for
// the proxy_set_header lines it sets itself allocates nothing, with a name
// built per call: the memo keeps no caller string, so the concatenation
// stays on the caller's stack, and a leaf level answers from its
// children. Linters ask this of every *_pass of a tree.
func TestEffectiveNodesAllocatesNothing(t *testing.T) {
	if testing.CoverMode() != "" {
		t.Skip("coverage counters allocate")
	}
	cfg := Parse("nginx.conf", []byte(`http { server { location / {
		proxy_set_header A b; proxy_set_header C d; proxy_pass http://x; } } }`), Options{FS: fstest.MapFS{}})
	var pass *Node
	cfg.Tree().Walk(func(n *Node) bool {
		if n.Directive != nil && n.Name == "proxy_pass" {
			pass = n
		}
		return true
	})
	if pass == nil {
		t.Fatal("no proxy_pass")
	}
	if got := pass.EffectiveNodes(modulePrefix + "_set_header"); len(got) != 2 {
		t.Fatalf("got %d nodes, want 2", len(got))
	}
	allocs := testing.AllocsPerRun(100, func() {
		pass.EffectiveNodes(modulePrefix + "_set_header")
		pass.Parent.EffectiveNodes(modulePrefix + "_http_version")
	})
	if allocs != 0 {
		t.Errorf("EffectiveNodes allocates %.1f times per call pair, want 0", allocs)
	}
}

// effectiveProbes returns what the effective-settings tests ask of config
// c: the names in extra plus every directive name of the tree, and the
// nodes to ask at, in walk order: the root, every block, and whatever the
// walk meets while fewer than simple nodes are collected (so that simple
// directives are asked too).
func effectiveProbes(c *Config, extra []string, simple int) (map[string]bool, []*Node) {
	names := map[string]bool{}
	for _, n := range extra {
		names[n] = true
	}
	var blocks []*Node
	c.Tree().Walk(func(n *Node) bool {
		if n.Directive != nil {
			names[n.Name] = true
		}
		if n.Directive == nil || n.Block != nil || len(blocks) < simple {
			blocks = append(blocks, n)
		}
		return true
	})
	return names, blocks
}
