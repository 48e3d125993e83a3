package main

import (
	"os"
	"strings"

	"github.com/ngxkeep/ngxkeep/lint"
	"github.com/ngxkeep/ngxkeep/parser"
)

// The lint scripts run with NGXKEEP_TEST_RULES=1 so that they test the CLI
// (formats, exit codes, suppressions, baselines, fixes) with fixed rules,
// whatever the real rules report.
func init() {
	switch os.Getenv("NGXKEEP_TEST_RULES") {
	case "1":
		registry = testRules
	case "panic":
		registry = func() []*lint.Analyzer { return append(testRules(), ttPanic) }
	}
}

// ttPanic fails the way a buggy rule would: lint must exit 3.
var ttPanic = &lint.Analyzer{
	ID: "TT09", Name: "test-panic", Severity: lint.SeverityWarning, Scope: lint.Single,
	Doc: "Test rule that panics.", Bad: "x", Good: "y",
	Run: func(*lint.Pass) error { panic("rule bug") },
}

func testRules() []*lint.Analyzer {
	return []*lint.Analyzer{ttHTTP10, ttForever, ttNoPool, ttLinked}
}

// ttHTTP10 reports proxy_pass to an upstream{} whose block has no
// proxy_http_version 1.1, with a fix that inserts it.
var ttHTTP10 = &lint.Analyzer{
	ID: "TT01", Name: "test-http10", Severity: lint.SeverityWarning, Scope: lint.Single,
	Doc:  "Test rule: proxy_pass to an upstream without proxy_http_version 1.1 in the same block.\n\nnginx speaks HTTP/1.0 and closes the connection after each response.",
	Bad:  "http { upstream u { server 127.0.0.1:8081; } server { location / { proxy_pass http://u; } } }\n",
	Good: "http { upstream u { server 127.0.0.1:8081; } server { location / { proxy_http_version 1.1; proxy_pass http://u; } } }\n",
	Run: func(p *lint.Pass) error {
		for _, in := range p.Instances {
			for _, px := range in.Proxies() {
				if px.Upstream == nil || lint.Child(px.Block(), "proxy_http_version") != nil {
					continue
				}
				p.Reportf(px.Node, "nginx speaks HTTP/1.0 to upstream %s and closes every connection after the response", px.Upstream.Name).
					AddRelated(px.Upstream.Node, "upstream %s", px.Upstream.Name).
					SetFix("add proxy_http_version 1.1", lint.InsertBefore(px.Node, "proxy_http_version 1.1;"))
			}
		}
		return nil
	},
}

// ttForever reports keepalive_timeout of an hour or more.
var ttForever = &lint.Analyzer{
	ID: "TT02", Name: "test-forever", Severity: lint.SeverityError, Scope: lint.Single,
	Doc:  "Test rule: keepalive_timeout of an hour or more.",
	Bad:  "http { keepalive_timeout 2h; }\n",
	Good: "http { keepalive_timeout 65s; }\n",
	Run: func(p *lint.Pass) error {
		for _, in := range p.Instances {
			for _, n := range in.Nodes("keepalive_timeout") {
				if d, err := parser.ParseTime(lint.ArgValue(n, 0)); err == nil && d.Hours() >= 1 {
					p.ReportArg(n, 0, "keepalive_timeout %s: nginx still closes idle connections on reload, errors and keepalive_time", lint.FormatDuration(d))
				}
			}
		}
		return nil
	},
}

// ttNoPool reports upstreams without keepalive, before 1.29.7 only.
var ttNoPool = &lint.Analyzer{
	ID: "TT03", Name: "test-no-pool", Severity: lint.SeverityInfo, Scope: lint.Single,
	MaxVersion: parser.V1_29_7,
	Doc:        "Test rule: upstream without keepalive before 1.29.7.",
	Bad:        "# target: 1.22\nhttp { upstream u { server 127.0.0.1:8081; } }\n",
	Good:       "http { upstream u { server 127.0.0.1:8081; keepalive 8; } }\n",
	Run: func(p *lint.Pass) error {
		for _, in := range p.Instances {
			for _, u := range in.Upstreams() {
				if u.Keepalive == nil {
					p.Reportf(u.Node, "upstream %s has no keepalive: nginx %s opens a connection per request", u.Name, p.Target)
				}
			}
		}
		return nil
	},
}

// ttLinked reports each link to another instance, naming the backend server.
var ttLinked = &lint.Analyzer{
	ID: "TT04", Name: "test-linked", Severity: lint.SeverityInfo, Scope: lint.Cross,
	Doc:  "Test rule: upstream server linked to a backend instance.",
	Bad:  "-- a.conf --\nhttp { upstream u { server 127.0.0.1:8081; } server { location / { proxy_pass http://u; } } }\n-- b.conf --\nhttp { server { listen 8081; } }\n",
	Good: "http { server { listen 8081; } }\n",
	Run: func(p *lint.Pass) error {
		for _, l := range p.Topology.Links {
			if l.To == nil || l.UpstreamServer == nil {
				continue
			}
			var names []string
			if l.Server != nil {
				names = l.Server.Names
			}
			f := p.Reportf(l.UpstreamServer.Node, "%s is served by %s (server_name %q, Host %q)", l.Target, l.To.Path, strings.Join(names, " "), l.Host)
			if l.Listen != nil && l.Listen.Node != nil {
				f.AddRelated(l.Listen.Node, "backend listen")
			}
			for _, t := range p.Topology.InFrontOf(l.From) {
				f.Message += " behind tier " + t.Name
			}
		}
		return nil
	},
}
