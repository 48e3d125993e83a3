package reuse

import (
	"fmt"
	"strings"

	"github.com/ngxkeep/ngxkeep/lint"
	"github.com/ngxkeep/ngxkeep/parser"
)

// KA01 reports locations that proxy to a pooled upstream over HTTP/1.0.
var KA01 = &lint.Analyzer{
	ID:        "KA01",
	Name:      "pool-needs-http11",
	Severity:  lint.SeverityWarning,
	Scope:     lint.Single,
	Versioned: true,
	Doc: `A location proxies to an upstream with a keep-alive cache over HTTP/1.0.

nginx keeps an upstream connection only when the backend answered with an
HTTP/1.1 status line and did not close; a backend asked in HTTP/1.0 closes
after the response (without "Connection: keep-alive" HTTP/1.0 is one request
per connection). Every request then opens a new TCP (and TLS) connection,
the cache stays empty, and the frontend piles up TIME_WAIT sockets.

Before 1.29.7 proxy_http_version defaults to 1.0, so every location that
proxies to an upstream with "keepalive N" must say "proxy_http_version 1.1"
(nginx.org: "should be set to 1.1"). From 1.29.7 the default is 1.1 and every
explicit upstream{} has a cache ("keepalive 32 local"), so the rule fires
only where an explicit "proxy_http_version 1.0" is in effect (verified with
nginx 1.30.4: an upstream without keepalive took 4 requests on one
connection, the same with "proxy_http_version 1.0" opened 4).

The finding is at the proxy_pass when the default is at fault (fix: insert
"proxy_http_version 1.1;" into the location), and at the directive when an
explicit 1.0 is (fix: change it to 1.1; reported once however many locations
inherit it). HTTP/1.0 with an explicit "Connection: keep-alive" is KA06's
business; upstreams without a cache are KA08's (before 1.29.7) and
implicit upstreams KA09's.

On the gen_large.py tree at 1.22 the rule reports exactly the seeded
"no_http11" locations (those including snippets/proxy_nokeepalive.conf whose
upstream has keepalive); at 1.30 it reports none of them, since HTTP/1.1 is
then the default.`,
	Bad: `# target: 1.22
events {}
http {
    upstream app {
        server 127.0.0.1:8081;
        keepalive 16;
    }
    server {
        listen 8080;
        location / {
            proxy_set_header Connection "";
            proxy_pass http://app;
        }
    }
}
`,
	Good: `# target: 1.22
events {}
http {
    upstream app {
        server 127.0.0.1:8081;
        keepalive 16;
    }
    server {
        listen 8080;
        location / {
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass http://app;
        }
    }
}
`,
	Run: runKA01,
}

func runKA01(pass *lint.Pass) error {
	fx := newFacts(pass)
	for _, in := range pass.Instances {
		// Explicit "proxy_http_version 1.0" directives, with the pooled
		// locations that inherit them, in order of first use.
		type use struct {
			p  *lint.Proxy
			u  *lint.Upstream
			c  lint.Pool
			at []*lint.Proxy
		}
		var order []*parser.Node
		explicit := map[*parser.Node]*use{}
		for x := range fx.pooledProxies(in) {
			p, pu, pc := x.p, x.u, x.c
			v, node := fx.httpVersion(p)
			if v != "1.0" {
				continue
			}
			if fx.keepAliveHeader(p) != nil {
				continue // HTTP/1.0 keep-alive: KA06
			}
			if node != nil {
				e := explicit[node]
				if e == nil {
					e = &use{p: p, u: pu, c: pc}
					explicit[node] = e
					order = append(order, node)
				}
				e.at = append(e.at, p)
				continue
			}
			if pass.Counting() {
				pass.Reportf(p.Node, "") // a comparison run: no message, related or fix
				continue
			}
			f := pass.Reportf(p.Node,
				"%s talks HTTP/1.0 to upstream %q here (proxy_http_version defaults to 1.0 before 1.29.7): "+
					"the backend closes the connection after every response, so the cache (%s) is never used "+
					"and every request opens a new connection. Add \"proxy_http_version 1.1;\" to %s",
				nginxAt(pass.Target), pu.Name, pc.Describe(), where(p))
			relateCache(f, pu, pc)
			f.SetFix("add proxy_http_version 1.1", lint.InsertBefore(insertAnchor(p), "proxy_http_version 1.1;"))
		}
		for _, node := range order {
			e := explicit[node]
			scope := "here"
			if node.Parent != e.p.Location() || len(e.at) > 1 {
				var places []string
				for i, p := range e.at {
					if i == 3 {
						places = append(places, "...")
						break
					}
					places = append(places, where(p))
				}
				scope = "from " + plural(len(e.at), "location", "locations") + " (" + strings.Join(places, ", ") + ")"
			}
			if pass.Counting() {
				pass.ReportArg(node, 0, "") // a comparison run: no message, related or fix
				continue
			}
			since := ""
			if pass.Target.AtLeast(parser.V1_29_7) {
				since = " (the default is 1.1 since 1.29.7; this directive brings 1.0 back)"
			}
			f := pass.ReportArg(node, 0,
				"%s talks HTTP/1.0 to pooled upstream %q %s%s: the backend closes the connection after every "+
					"response, so the cache (%s) is never used and every request opens a new connection. "+
					"Use proxy_http_version 1.1%s",
				nginxAt(pass.Target), e.u.Name, scope, since, e.c.Describe(), optOut(e.u, e.c))
			relateCache(f, e.u, e.c)
			for i, p := range e.at {
				if i == 3 {
					break
				}
				f.AddRelated(p.Node, "proxies to %q over HTTP/1.0", e.u.Name)
			}
			f.SetFix("use proxy_http_version 1.1", lint.ReplaceArg(node, 0, "1.1"))
		}
	}
	return nil
}

// optOut suggests "keepalive 0" for an implicit 1.29.7+ cache that an
// explicit setting defeats, in case the backend really needs it.
func optOut(u *lint.Upstream, c lint.Pool) string {
	if !c.Implicit() {
		return ""
	}
	return fmt.Sprintf(" (or, if the backend really needs it, add \"keepalive 0;\" to upstream %q to say that it is "+
		"not pooled)", u.Name)
}

// relateCache adds the upstream's keepalive directive (or the block, for
// the implicit cache) as a related position.
func relateCache(f *lint.Finding, u *lint.Upstream, c lint.Pool) {
	if c.Node != nil {
		f.AddRelated(c.Node, "upstream %q keeps up to %d idle connections per worker", u.Name, c.Size)
		return
	}
	f.AddRelated(u.Node, "upstream %q has the implicit cache of nginx >= 1.29.7 (keepalive 32 local)", u.Name)
}

// keepAliveHeader returns the proxy_set_header Connection entry at p whose
// value asks for keep-alive, or nil.
func (fx *facts) keepAliveHeader(p *lint.Proxy) *parser.Node {
	for _, n := range fx.headers(p).get("Connection") {
		if len(n.Args) >= 2 && hasToken(n.Args[1].Value, "keep-alive") {
			return n
		}
	}
	return nil
}
