package linttest

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ngxkeep/ngxkeep/lint"
)

// zz01 reports proxy_pass without an explicit proxy_http_version 1.1 in
// its block, with a fix, and names the backend instance when linked.
var zz01 = &lint.Analyzer{
	ID: "ZZ01", Name: "test-rule", Severity: lint.SeverityWarning, Scope: lint.Both,
	Doc:  "Test rule.",
	Bad:  "# target: 1.22\nhttp { server { location / { proxy_pass http://x; } } }\n",
	Good: "http { server { location / { proxy_http_version 1.1; proxy_pass http://x; } } }\n",
	Run: func(p *lint.Pass) error {
		for _, in := range p.Instances {
			for _, px := range in.Proxies() {
				if lint.Child(px.Block(), "proxy_http_version") != nil {
					continue
				}
				msg := fmt.Sprintf("target %s", p.Target)
				for _, l := range p.Topology.LinksFrom(in) {
					if l.To != nil && l.To != in {
						msg += " → " + l.To.Path
					}
				}
				p.Reportf(px.Node, "%s", msg).SetFix("add proxy_http_version 1.1",
					lint.InsertBefore(px.Node, "proxy_http_version 1.1;"))
			}
		}
		return nil
	},
}

func TestRun(t *testing.T) { Run(t, "testdata/ZZ01", zz01) }

func TestExamples(t *testing.T) { Examples(t, zz01) }

func TestParseWants(t *testing.T) {
	ws, err := parseWants(`KA01 "a b" TO03 KA01`)
	if err != nil {
		t.Fatal(err)
	}
	if len(ws) != 3 || ws[0].raw != "a b" || ws[1].rule != "TO03" || ws[1].re != nil || ws[2].rule != "KA01" {
		t.Fatalf("parseWants = %+v", ws)
	}
	if _, err := parseWants(`KA01 "unterminated`); err == nil {
		t.Fatal("want an error for an unterminated regexp")
	}
}

// recorder collects what a check reports.
type recorder struct{ msgs []string }

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.msgs = append(r.msgs, fmt.Sprintf(format, args...))
}
func (r *recorder) Fatal(args ...any) { r.msgs = append(r.msgs, fmt.Sprint(args...)) }

func TestCheckReportsMismatches(t *testing.T) {
	c, err := textCase("case", `-- nginx.conf --
http {
    upstream b { server 127.0.0.1:81; }
    server {
        location /a { proxy_pass http://b; }              # want ZZ01 "nothing like this"
        location /b { proxy_pass http://b; }
        location /c { proxy_http_version 1.1; proxy_pass http://b; } # want ZZ01
    }
}
`)
	if err != nil {
		t.Fatal(err)
	}
	var r recorder
	check(&r, c, zz01)
	want := []string{
		`nginx.conf:4:23: ZZ01 finding "target 1.30" does not match "nothing like this"`,
		"nginx.conf:5:23: unexpected ZZ01 finding: target 1.30",
		"nginx.conf:6:1: no ZZ01 finding",
	}
	// The third want is on line 6, where the rule reports nothing.
	want[2] = "nginx.conf:6: no ZZ01 finding"
	if d := cmp.Diff(want, r.msgs); d != "" {
		t.Errorf("reported (-want +got):\n%s", d)
	}
}

func TestCheckReportsFixesThatDoNotFix(t *testing.T) {
	bogus := *zz01
	bogus.Run = func(p *lint.Pass) error {
		for _, in := range p.Instances {
			for _, px := range in.Proxies() {
				if lint.Child(px.Block(), "proxy_http_version") == nil {
					p.Reportf(px.Node, "no version").SetFix("add a comment", lint.InsertBefore(px.Node, "# proxy_http_version 1.1;"))
				}
			}
		}
		return nil
	}
	c, err := textCase("case", "http { server { location / {\n    proxy_pass http://x; # want ZZ01\n} } }\n")
	if err != nil {
		t.Fatal(err)
	}
	var r recorder
	check(&r, c, &bogus)
	if len(r.msgs) != 1 || r.msgs[0] != "after fixes, ZZ01 still reports nginx.conf:3:5: no version" {
		t.Errorf("reported %q", r.msgs)
	}
}
