package rules_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/ngxkeep/ngxkeep/lint"
	"github.com/ngxkeep/ngxkeep/lint/linttest"
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
// tree (linttest.LargeTree; NGXKEEP_GEN_LARGE names the generator):
//
//	go test ./rules -run '^$' -bench Families -benchmem
//
// CompareVersions is left nil, as `ngxkeep lint` leaves it: versioned
// rules run again for the comparison targets.

func BenchmarkFamilies(b *testing.B) {
	path := linttest.LargeTree(b)
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
