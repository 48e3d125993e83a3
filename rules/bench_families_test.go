package rules_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/ngxkeep/ngxkeep/lint"
	"github.com/ngxkeep/ngxkeep/parser"
	"github.com/ngxkeep/ngxkeep/rules"
	"github.com/ngxkeep/ngxkeep/rules/failures"
	"github.com/ngxkeep/ngxkeep/rules/reuse"
	"github.com/ngxkeep/ngxkeep/rules/timeouts"
	"github.com/ngxkeep/ngxkeep/rules/topology"
)

// The benchmarks in this file time each rule family on a parsed tree, so
// that a family's own cost is its time minus "engine" (the run without
// rules: instance index, topology). The tree is gen_large.py's 2,000-server
// tree (NGXKEEP_GEN_LARGE names the generator; default
// ../shared/bench/gen_large.py from the repository root, then
// /work/shared/bench/gen_large.py):
//
//	go test ./rules -run '^$' -bench Families -benchmem
//
// CompareVersions is left nil, as `ngxkeep lint` leaves it: versioned
// rules run again for the comparison targets.

var (
	famOnce sync.Once
	famPath string
	famErr  error
)

func familyTree(b *testing.B) string {
	b.Helper()
	famOnce.Do(func() {
		gen := os.Getenv("NGXKEEP_GEN_LARGE")
		if gen == "" {
			gen = filepath.Join("..", "..", "shared", "bench", "gen_large.py")
			if _, err := os.Stat(gen); err != nil {
				gen = "/work/shared/bench/gen_large.py"
			}
		}
		py, err := exec.LookPath("python3")
		if err != nil {
			famErr = err
			return
		}
		if _, err := os.Stat(gen); err != nil {
			famErr = err
			return
		}
		dir, err := os.MkdirTemp("", "ngxkeep-families-")
		if err != nil {
			famErr = err
			return
		}
		if out, err := exec.Command(py, gen, "--out", dir).CombinedOutput(); err != nil {
			famErr = err
			b.Logf("%s", out)
			return
		}
		famPath = filepath.Join(dir, "nginx.conf")
	})
	if famErr != nil {
		b.Skipf("no gen_large tree: %v", famErr)
	}
	return famPath
}

func BenchmarkFamilies(b *testing.B) {
	path := familyTree(b)
	cfg, err := parser.Load(path, parser.Options{})
	if err != nil {
		b.Fatal(err)
	}
	for _, fam := range []struct {
		name      string
		analyzers []*lint.Analyzer
	}{
		{"engine", nil},
		{"reuse", reuse.Analyzers},
		{"timeouts", timeouts.Analyzers},
		{"failures", failures.Analyzers},
		{"topology", topology.Analyzers},
		{"all", rules.All()},
	} {
		b.Run(fam.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				in := lint.NewInstance(path, cfg, nil)
				if _, err := lint.Run(context.Background(), lint.Options{Analyzers: fam.analyzers, Instances: []*lint.Instance{in}}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkScenarioPair lints the founding frontend/backend pair with every
// rule: two small linked instances, so the cross-config (topology) part
// dominates rather than the tree size.
func BenchmarkScenarioPair(b *testing.B) {
	var paths []string
	var cfgs []*parser.Config
	for _, name := range []string{"box1-frontend.conf", "box2-backend.conf"} {
		p := filepath.Join("..", "testdata", "scenarios", name)
		cfg, err := parser.Load(p, parser.Options{})
		if err != nil {
			b.Skipf("%s: %v", p, err)
		}
		paths, cfgs = append(paths, p), append(cfgs, cfg)
	}
	all := rules.All()
	b.ReportAllocs()
	for b.Loop() {
		var ins []*lint.Instance
		for i := range paths {
			ins = append(ins, lint.NewInstance(paths[i], cfgs[i], nil))
		}
		res, err := lint.Run(context.Background(), lint.Options{Analyzers: all, Instances: ins})
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Findings) == 0 {
			b.Fatal("no findings on the founding scenario")
		}
	}
}
