package timeouts

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ngxkeep/ngxkeep/lint"
	"github.com/ngxkeep/ngxkeep/lint/linttest"
	"github.com/ngxkeep/ngxkeep/parser"
)

func TestAnalyzers(t *testing.T) {
	linttest.RunAll(t, filepath.Join("..", "testdata"), Analyzers)
}

// TestFoundingScenario lints the two founding-scenario configs together
// with every rule of the package: AH01 must explain BOX2's closes (on both
// "forever" settings, naming BOX1's pool and the 413 location), AH02 must
// say that keepalive_time ends connections first, and nothing else may be
// reported.
func TestFoundingScenario(t *testing.T) {
	var text strings.Builder
	for _, name := range []string{"box1-frontend.conf", "box2-backend.conf"} {
		src, err := os.ReadFile(filepath.Join("..", "..", "testdata", "scenarios", name))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&text, "-- %s --\n%s", name, src)
	}
	res := linttest.Lint(t, text.String(), Analyzers...)
	if len(res.Errors) > 0 {
		t.Fatalf("config errors: %v", res.Errors)
	}
	got := map[string]int{}
	for _, f := range res.Findings {
		key := fmt.Sprintf("%s %s:%d", f.Rule, f.File, f.Pos.Line)
		got[key]++
		if f.Rule == "AH01" {
			for _, want := range []string{"keepalive_time 1h (default)", "location = /too-big", "reload", "worker_connections", "box1-frontend.conf"} {
				if !strings.Contains(f.Message, want) {
					t.Errorf("%s: message lacks %q: %s", key, want, f.Message)
				}
			}
			related := false
			for _, r := range f.Related {
				related = related || (r.File == "box1-frontend.conf" && r.Pos.Line == 8)
			}
			if !related {
				t.Errorf("%s: no related position at BOX1's keepalive 512", key)
			}
		}
	}
	want := map[string]int{
		"AH01 box2-backend.conf:6": 1, // keepalive_timeout 86400s
		"AH01 box2-backend.conf:7": 1, // keepalive_requests 10485760
		"AH02 box2-backend.conf:6": 1, // 86400s > keepalive_time 1h
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%s: got %d findings, want %d", k, got[k], n)
		}
	}
	for k, n := range got {
		if want[k] == 0 {
			t.Errorf("unexpected finding %s (%d)", k, n)
		}
	}
}

// TestGenLargeSeeds generates an include-heavy tree with gen_large.py and
// checks that the package's rules find exactly the mistakes the generator
// says it seeded: every 13th server sets keepalive_timeout 0 (TO05) and
// keepalive_requests 100 (TO07); every 17th pooled upstream sets
// keepalive_timeout 300s, above the assumed 75s backend idle timeout
// (TO01). NGXKEEP_GEN_LARGE_SERVERS sets the size (default 260).
func TestGenLargeSeeds(t *testing.T) {
	servers := "260"
	if s := os.Getenv("NGXKEEP_GEN_LARGE_SERVERS"); s != "" {
		servers = s
	}
	main, out := linttest.GenLarge(t, t.TempDir(), "--servers", servers)
	seeded := map[string]int{}
	for _, line := range strings.Split(string(out), "\n") {
		rest, ok := strings.CutPrefix(line, "seeded: ")
		if !ok {
			continue
		}
		for _, kv := range strings.Split(strings.Trim(rest, "{}"), ",") {
			k, v, _ := strings.Cut(kv, ":")
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				t.Fatalf("cannot read generator output %q", line)
			}
			seeded[strings.Trim(strings.TrimSpace(k), "'")] = n
		}
	}
	if len(seeded) == 0 {
		t.Fatalf("no seeded counts in generator output:\n%s", out)
	}
	cfg, err := parser.Load(main, parser.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, target := range []parser.Version{parser.DefaultVersion, {Major: 1, Minor: 22}} {
		res, err := lint.Run(context.Background(), lint.Options{Target: target, Analyzers: Analyzers,
			Instances: []*lint.Instance{lint.NewInstance(main, cfg, cfg.Tree())}, CompareVersions: []parser.Version{}})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int{}
		for _, f := range res.Findings {
			got[f.Rule]++
		}
		t.Logf("target %s: seeded %v, found %v", target, seeded, got)
		want := map[string]int{
			"TO05": seeded["server_ka_off_or_low"],
			"TO07": seeded["server_ka_off_or_low"],
			"TO01": seeded["upstream_ka_timeout_long"],
		}
		for id, n := range want {
			if got[id] != n {
				t.Errorf("target %s: %s found %d, generator seeded %d", target, id, got[id], n)
			}
		}
		for id, n := range got {
			if _, ok := want[id]; !ok {
				t.Errorf("target %s: unexpected %d %s finding(s)", target, n, id)
			}
		}
	}
}

// BenchmarkGenLarge times the package's rules on the 2,000-server
// gen_large.py tree (parsing excluded).
func BenchmarkGenLarge(b *testing.B) {
	main := linttest.LargeTree(b)
	cfg, err := parser.Load(main, parser.Options{})
	if err != nil {
		b.Fatal(err)
	}
	in := lint.NewInstance(main, cfg, cfg.Tree())
	// "engine" is the run without rules (topology, indexes), so that the
	// rules' own cost is the difference.
	for _, bc := range []struct {
		name      string
		analyzers []*lint.Analyzer
	}{{"engine", nil}, {"timeouts", Analyzers}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := lint.Run(context.Background(), lint.Options{Analyzers: bc.analyzers,
					Instances: []*lint.Instance{in}, CompareVersions: []parser.Version{}}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
