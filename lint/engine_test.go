package lint

import (
	"context"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	"github.com/ngxkeep/ngxkeep/parser"
)

// fakeAnalyzer reports every directive called name.
func fakeAnalyzer(id, name, directive string) *Analyzer {
	return &Analyzer{
		ID: id, Name: name, Severity: SeverityWarning, Scope: Single,
		Doc: "Reports every " + directive + ".\n\nA test rule.",
		Bad: directive + " x;", Good: "events {}",
		Run: func(p *Pass) error {
			for _, in := range p.Instances {
				for _, n := range in.Nodes(directive) {
					p.Reportf(n, "%s here", directive)
				}
			}
			return nil
		},
	}
}

type got struct {
	Rule string
	Line int
	Col  int
}

func summarize(fs []*Finding) []got {
	var out []got
	for _, f := range fs {
		out = append(out, got{f.Rule, int(f.Pos.Line), int(f.Pos.Col)})
	}
	return out
}

func runOn(t *testing.T, opts Options, confs ...string) *Result {
	t.Helper()
	for i := 0; i+1 < len(confs); i += 2 {
		opts.Instances = append(opts.Instances, mustInstance(t, confs[i], confs[i+1]))
	}
	r, err := Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

const twoPasses = `http {
    upstream b { server 127.0.0.1:81; keepalive 8; }
    server {
        listen 80;
        location /a { proxy_pass http://b; }
        location /c {
            proxy_pass http://b;
        }
    }
}
`

func TestRunSortsAndNeverMerges(t *testing.T) {
	a := fakeAnalyzer("ZZ01", "zz-one", "proxy_pass")
	b := fakeAnalyzer("AA01", "aa-one", "keepalive")
	r := runOn(t, Options{Analyzers: []*Analyzer{a, b}, CompareVersions: []parser.Version{}}, "x.conf", twoPasses)
	want := []got{{"AA01", 2, 39}, {"ZZ01", 5, 23}, {"ZZ01", 7, 13}}
	if d := cmp.Diff(want, summarize(r.Findings)); d != "" {
		t.Errorf("findings (-want +got):\n%s", d)
	}
	f := r.Findings[1]
	if f.File != "x.conf" || f.Name != "zz-one" || f.Severity != SeverityWarning {
		t.Errorf("finding fields: %+v", f)
	}
	if f.End.Col != 43 {
		t.Errorf("end col = %d, want 43 (after ';')", f.End.Col)
	}
}

func TestRunVersionRangeAndCompare(t *testing.T) {
	old := fakeAnalyzer("KA99", "old-only", "proxy_pass")
	old.MaxVersion = parser.V1_29_7
	always := fakeAnalyzer("KA98", "always", "keepalive")
	r := runOn(t, Options{Analyzers: []*Analyzer{old, always}}, "x.conf", twoPasses)
	if d := cmp.Diff([]got{{"KA98", 2, 39}}, summarize(r.Findings)); d != "" {
		t.Errorf("findings at 1.30 (-want +got):\n%s", d)
	}
	want := []VersionDelta{{Version: parser.Version{Major: 1, Minor: 22}, Count: 2, Rules: []string{"KA99"}}}
	if d := cmp.Diff(want, r.Others); d != "" {
		t.Errorf("others (-want +got):\n%s", d)
	}
	r = runOn(t, Options{Target: parser.Version{Major: 1, Minor: 22}, Analyzers: []*Analyzer{old, always}}, "x.conf", twoPasses)
	if len(r.Findings) != 3 || len(r.Others) != 0 {
		t.Errorf("at 1.22: %d findings, others %v; want 3 and none", len(r.Findings), r.Others)
	}
}

func TestRunAnalyzerPanicIsInternalError(t *testing.T) {
	bad := fakeAnalyzer("XX01", "boom", "http")
	bad.Run = func(*Pass) error { panic("oops") }
	_, err := Run(context.Background(), Options{Analyzers: []*Analyzer{bad},
		Instances: []*Instance{mustInstance(t, "x.conf", "http {}")}})
	if err == nil || !strings.Contains(err.Error(), "XX01") || !strings.Contains(err.Error(), "oops") {
		t.Fatalf("err = %v, want a panic naming XX01", err)
	}
}

func TestSuppressions(t *testing.T) {
	a := fakeAnalyzer("ZZ01", "zz-one", "proxy_pass")
	k := fakeAnalyzer("ZZ02", "zz-two", "keepalive")
	src := `http {
    upstream b {
        server 127.0.0.1:81;
        keepalive 8; # ngxkeep:ignore ZZ02 pool size agreed with the backend team
    }
    server {
        listen 80;
        location /a { # ngxkeep:ignore zz-one,ZZ02 block scope, legacy
            proxy_pass http://b;
        }
        # ngxkeep:ignore ZZ01
        location /c {
            proxy_pass http://b;
        }
        location /d {
            proxy_pass http://b; # ngxkeep:ignore ZZ09 typo
        }
        proxy_buffering off; # ngxkeep:ignore ZZ01 nothing to suppress here
    }
}
`
	r := runOn(t, Options{Analyzers: []*Analyzer{a, k}, CompareVersions: []parser.Version{}}, "s.conf", src)
	type g struct {
		Rule string
		Line int
		Msg  string
	}
	var gs []g
	for _, f := range r.Findings {
		gs = append(gs, g{f.Rule, int(f.Pos.Line), f.Message})
	}
	want := []g{
		{"ZZ02", 8, "ZZ02 reports nothing in this block: remove the suppression"},
		{"NK01", 11, "the suppression of ZZ01 has no reason: say why the finding is accepted after the rule list"},
		{"ZZ01", 16, "proxy_pass here"},
		{"NK01", 16, `the suppression names an unknown rule "ZZ09". Did you mean "ZZ01"?`},
		{"NK02", 18, "ZZ01 reports nothing here: remove the suppression"},
	}
	// NK02 for line 8 is reported under rule NK02.
	want[0].Rule = "NK02"
	if d := cmp.Diff(want, gs); d != "" {
		t.Errorf("findings (-want +got):\n%s", d)
	}
	if r.Suppressed != 3 {
		t.Errorf("suppressed = %d, want 3", r.Suppressed)
	}
}

func TestFileScopeSuppression(t *testing.T) {
	a := fakeAnalyzer("ZZ01", "zz-one", "proxy_pass")
	src := "# ngxkeep:ignore ZZ01 generated file, fixed upstream\n\nhttp { server { location / { proxy_pass http://x; } } }\n"
	r := runOn(t, Options{Analyzers: []*Analyzer{a}, CompareVersions: []parser.Version{}}, "f.conf", src)
	if len(r.Findings) != 0 || r.Suppressed != 1 {
		t.Fatalf("findings %v, suppressed %d; want none and 1", summarize(r.Findings), r.Suppressed)
	}
	// Without the blank line the comment belongs to the http block: same effect.
	src = "# ngxkeep:ignore ZZ01 generated\nhttp { server { location / { proxy_pass http://x; } } }\n"
	r = runOn(t, Options{Analyzers: []*Analyzer{a}, CompareVersions: []parser.Version{}}, "f.conf", src)
	if len(r.Findings) != 0 {
		t.Fatalf("findings %v; want none", summarize(r.Findings))
	}
}

func TestBaselineSurvivesLineShifts(t *testing.T) {
	a := fakeAnalyzer("ZZ01", "zz-one", "proxy_pass")
	opts := Options{Analyzers: []*Analyzer{a}, CompareVersions: []parser.Version{}}
	r := runOn(t, opts, "x.conf", twoPasses)
	b := NewBaseline(r)
	var buf strings.Builder
	if err := b.Write(&buf); err != nil {
		t.Fatal(err)
	}
	// Shift everything down and add one more proxy_pass.
	shifted := "# a comment\n\n" + strings.Replace(twoPasses, "location /c {", "location /new { proxy_pass http://b; }\n        location /c {", 1)
	opts.Baseline = b
	r2 := runOn(t, opts, "x.conf", shifted)
	if d := cmp.Diff([]got{{"ZZ01", 8, 25}}, summarize(r2.Findings)); d != "" {
		t.Errorf("new findings (-want +got):\n%s", d)
	}
	if r2.Baselined != 2 {
		t.Errorf("baselined = %d, want 2", r2.Baselined)
	}
}

func TestFactComputedOncePerVersion(t *testing.T) {
	calls := 0
	var mu sync.Mutex
	upstreams := NewFact(func(p *Pass, in *Instance) int {
		mu.Lock()
		calls++
		mu.Unlock()
		return len(in.Upstreams())
	})
	var seen []int
	mk := func(id string) *Analyzer {
		a := fakeAnalyzer(id, strings.ToLower(id), "http")
		a.Versioned = true
		a.Run = func(p *Pass) error {
			n := upstreams.Get(p, p.Instances[0])
			mu.Lock()
			seen = append(seen, n)
			mu.Unlock()
			return nil
		}
		return a
	}
	runOn(t, Options{Analyzers: []*Analyzer{mk("AA01"), mk("AA02"), mk("AA03")}, Concurrency: 1,
		CompareVersions: []parser.Version{{Major: 1, Minor: 22}}}, "x.conf", twoPasses)
	if len(seen) != 6 {
		t.Fatalf("rules ran %d times, want 6 (3 rules × 2 versions)", len(seen))
	}
	for _, n := range seen {
		if n != 1 {
			t.Fatalf("fact value %d, want 1", n)
		}
	}
	if calls != 2 {
		t.Fatalf("fact computed %d times, want 2 (once per version)", calls)
	}
}

func TestCrossInstanceNames(t *testing.T) {
	fsys := fstest.MapFS{
		"front/nginx.conf":   {Data: []byte("http { include ups.conf; server { location / { proxy_pass http://b; } } }\n")},
		"front/ups.conf":     {Data: []byte("upstream b { server 127.0.0.1:8081; }\n")},
		"back/nginx.conf":    {Data: []byte("http { include conf.d/*.conf; }\n")},
		"back/conf.d/s.conf": {Data: []byte("server { listen 8081; keepalive_timeout 1h; }\n")},
	}
	var ins []*Instance
	for _, p := range []string{"front/nginx.conf", "back/nginx.conf"} {
		ins = append(ins, NewInstance(p, parser.Parse(p, fsys[p].Data, parser.Options{FS: fsys}), nil))
	}
	a := &Analyzer{ID: "XX02", Name: "x", Severity: SeverityWarning, Scope: Cross, Doc: "x", Bad: "x", Good: "y",
		Run: func(p *Pass) error {
			for _, l := range p.Topology.Links {
				if l.To == nil || l.Server == nil {
					continue
				}
				ka := Child(l.Server.Node, "keepalive_timeout")
				p.Reportf(ka, "backend timeout").AddRelated(l.UpstreamServer.Node, "frontend pool")
			}
			return nil
		}}
	r, err := Run(context.Background(), Options{Analyzers: []*Analyzer{a}, Instances: ins})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Findings) != 1 {
		t.Fatalf("findings: %v", summarize(r.Findings))
	}
	f := r.Findings[0]
	got := []string{f.File, f.Chain[0].File, f.Related[0].File}
	want := []string{"back/conf.d/s.conf", "back/nginx.conf", "front/ups.conf"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("names (-want +got):\n%s", d)
	}
}
