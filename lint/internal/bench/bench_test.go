package bench_test

import (
	"context"
	"testing"
	"time"

	"github.com/ngxkeep/ngxkeep/lint"
	"github.com/ngxkeep/ngxkeep/lint/linttest"
	"github.com/ngxkeep/ngxkeep/parser"
	"github.com/ngxkeep/ngxkeep/rules"
	"github.com/tufanbarisyildirim/gonginx/config"
	gonginx "github.com/tufanbarisyildirim/gonginx/parser"
)

// The benchmarks run on the 2,000-server tree of gen_large.py (generated
// once per run; skipped without python3 or the generator):
//
//	go test ./lint/internal/bench -run '^$' -bench Large -benchtime 20x
//
// BenchmarkLintLarge (parse + index + all rules, as "ngxkeep lint" does)
// must stay within 1.5× BenchmarkGonginxLarge. On a busy machine compare
// BenchmarkLintVsGonginxLarge's x-gonginx metric: it times both in every
// iteration, so load affects both alike. linttest.LargeTree generates the
// tree; NGXKEEP_GEN_LARGE names another generator.

func BenchmarkGonginxLarge(b *testing.B) {
	path := linttest.LargeTree(b)
	b.ResetTimer()
	for b.Loop() {
		p, err := gonginx.NewParser(path, gonginx.WithIncludeParsing())
		if err != nil {
			b.Fatal(err)
		}
		var c *config.Config
		if c, err = p.Parse(); err != nil || c == nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseLarge(b *testing.B) {
	path := linttest.LargeTree(b)
	b.ResetTimer()
	for b.Loop() {
		cfg, err := parser.Load(path, parser.Options{})
		if err != nil || cfg.HasErrors() {
			b.Fatal(err, cfg.Diagnostics)
		}
	}
}

func BenchmarkLintLarge(b *testing.B) {
	path := linttest.LargeTree(b)
	all := rules.All()
	b.ResetTimer()
	for b.Loop() {
		cfg, err := parser.Load(path, parser.Options{})
		if err != nil {
			b.Fatal(err)
		}
		in := lint.NewInstance(path, cfg, nil)
		res, err := lint.Run(context.Background(), lint.Options{Analyzers: all, Instances: []*lint.Instance{in}})
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Findings) == 0 {
			b.Fatal("no findings on the seeded tree")
		}
	}
}

func BenchmarkLintVsGonginxLarge(b *testing.B) {
	path := linttest.LargeTree(b)
	all := rules.All()
	var tg, tl time.Duration
	for b.Loop() {
		t0 := time.Now()
		p, err := gonginx.NewParser(path, gonginx.WithIncludeParsing())
		if err != nil {
			b.Fatal(err)
		}
		if _, err := p.Parse(); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		cfg, err := parser.Load(path, parser.Options{})
		if err != nil {
			b.Fatal(err)
		}
		in := lint.NewInstance(path, cfg, nil)
		if _, err := lint.Run(context.Background(), lint.Options{Analyzers: all, Instances: []*lint.Instance{in}}); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		tg += t1.Sub(t0)
		tl += t2.Sub(t1)
	}
	b.ReportMetric(float64(tl)/float64(tg), "x-gonginx")
	b.ReportMetric(float64(tg.Milliseconds())/float64(b.N), "gonginx-ms/op")
	b.ReportMetric(float64(tl.Milliseconds())/float64(b.N), "lint-ms/op")
}

// BenchmarkEngineLarge measures the engine and rules alone on a parsed
// tree: what lint adds on top of parsing.
func BenchmarkEngineLarge(b *testing.B) {
	path := linttest.LargeTree(b)
	all := rules.All()
	cfg, err := parser.Load(path, parser.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		in := lint.NewInstance(path, cfg, nil)
		if _, err := lint.Run(context.Background(), lint.Options{Analyzers: all, Instances: []*lint.Instance{in}}); err != nil {
			b.Fatal(err)
		}
	}
}
