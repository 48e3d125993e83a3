package linttest

import (
	"fmt"
	"testing"

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
				if lint.Child(px.Block, "proxy_http_version") != nil {
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
