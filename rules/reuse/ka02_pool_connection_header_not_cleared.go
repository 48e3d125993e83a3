package reuse

import (
	"github.com/ngxkeep/ngxkeep/lint"
	"github.com/ngxkeep/ngxkeep/parser"
)

// KA02 reports locations that send "Connection: close" to a pooled
// upstream.
var KA02 = &lint.Analyzer{
	ID:        "KA02",
	Name:      "pool-connection-header-not-cleared",
	Severity:  lint.SeverityWarning,
	Scope:     lint.Single,
	Versioned: true,
	Doc: `A location sends "Connection: close" to an upstream with a keep-alive cache.

A backend that receives "Connection: close" closes the connection after its
response, so nginx can never put it in the cache: every request opens a new
TCP (and TLS) connection.

Before 1.29.7 the proxy module sends "Connection: close" unless the
proxy_set_header list in effect clears it (nginx.org: "the Connection header
field should be cleared"), so every location that proxies to an upstream
with "keepalive N" needs proxy_set_header Connection "" in its list. From
1.29.7 no Connection header is sent by default and the rule fires only for
an explicit value containing "close" (verified with nginx 1.30.4: an
explicit "Connection close" to an upstream without keepalive opened a
connection per request, the defaults reused one).

The rule also fires when proxy_http_version is 1.0 (KA01 reports that
separately): both must change before anything is reused, and each finding
carries its own fix. Where the default is at fault the finding is at the
proxy_pass and the fix adds proxy_set_header Connection ""; to the level
whose list applies (after its last proxy_set_header, so the list stays
whole; in the included snippet when the list comes from one, edited once),
or to the location when no level declares a list. An explicit close is
reported once at the directive, and the fix clears its value.

Not reported here: a list that lost an inherited Connection "" (KA03), the
WebSocket map idiom and "Connection: upgrade" (KA04), $http_connection
(KA05), "keep-alive" (harmless over HTTP/1.1; with HTTP/1.0 see KA06).

On the gen_large.py tree at 1.22 the rule reports exactly the seeded
"no_http11" locations (their list comes from snippets/proxy_nokeepalive.conf,
so all fixes are the same edit of that file); at 1.30 none.`,
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
            proxy_http_version 1.1;
            proxy_set_header Host $host;
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
            proxy_set_header Host $host;
            proxy_set_header Connection "";
            proxy_pass http://app;
        }
    }
}
`,
	Run: runKA02,
}

func runKA02(pass *lint.Pass) error {
	fx := newFacts(pass)
	old := pass.Target.Before(parser.V1_29_7)
	for _, in := range pass.Instances {
		once := onceNodes{}
		for x := range fx.pooledProxies(in) {
			p, pu, pc := x.p, x.u, x.c
			list := fx.headers(p)
			conn := list.get("Connection")
			if len(conn) > 0 {
				for _, n := range conn {
					if len(n.Args) < 2 || !isConstant(n.Args[1].Value) || !hasToken(n.Args[1].Value, "close") {
						continue
					}
					if !once.first(n) {
						continue
					}
					f := pass.ReportArg(n, 1,
						"%s sends \"Connection: close\" to pooled upstream %q (from %s%s): the backend closes the connection after each response, so the "+
							"cache (%s) stays empty and every request opens a new connection. "+
							"Clear the header: proxy_set_header Connection \"\"%s",
						nginxAt(pass.Target), pu.Name, where(p), alsoOthers(p, n.Parent), pc.Describe(),
						optOut(pu, pc))
					relateCache(f, pu, pc)
					f.SetFix(`clear the Connection header`, lint.ReplaceArg(n, 1, `""`))
				}
				continue
			}
			if !old {
				continue // 1.29.7+: no Connection header by default
			}
			if v, _ := fx.httpVersion(p); v == "2" {
				continue // HTTP/2 (1.29.4+) sends no Connection header
			}
			if lost, _ := fx.lostConnection(list); lost != nil {
				continue // KA03 reports the lost inherited header
			}
			if pass.Counting() {
				pass.Reportf(p.Node, "") // a comparison run: no message, related or fix
				continue
			}
			f := pass.Reportf(p.Node,
				"%s sends \"Connection: close\" to upstream %q here (the built-in default before 1.29.7, "+
					"since no proxy_set_header Connection applies to %s): the backend closes the connection "+
					"after each response, so the cache (%s) stays empty and every request opens a new "+
					"connection. Add proxy_set_header Connection \"\" %s",
				nginxAt(pass.Target), pu.Name, where(p), pc.Describe(), fixPlace(in, p, list))
			relateCache(f, pu, pc)
			if lvl := list.level(); lvl != nil {
				last := list.nodes[len(list.nodes)-1]
				f.AddRelated(list.nodes[0], "the proxy_set_header list in effect here, without Connection")
				f.SetFix(`add proxy_set_header Connection ""`, lint.InsertAfter(last, `proxy_set_header Connection "";`))
			} else {
				f.SetFix(`add proxy_set_header Connection ""`, lint.InsertBefore(insertAnchor(p), `proxy_set_header Connection "";`))
			}
		}
	}
	return nil
}

// fixPlace says where KA02's fix goes: into the level whose
// proxy_set_header list applies (adding a header anywhere below it would
// discard that list), or into the location when no level declares one.
func fixPlace(in *lint.Instance, p *lint.Proxy, list headerList) string {
	lvl := list.level()
	if lvl != nil {
		last := list.nodes[len(list.nodes)-1]
		if f := last.Directive.File; f != p.Node.Directive.File {
			return "to " + in.DisplayName(f) + ", where the proxy_set_header list this location uses is written"
		}
	}
	switch {
	case lvl == nil || lvl == p.Location():
		return "to " + where(p)
	case lvl.Name == "location":
		return "to the proxy_set_header list this location inherits from location " + lint.ArgsText(lvl) +
			" (a header added here would discard that list)"
	}
	return "to the proxy_set_header list this location inherits from the " + lvl.Name +
		" level (a header added here would discard that list)"
}

// lostConnection returns the nearest inherited proxy_set_header
// Connection entry that list's level discards by declaring its own list
// without one, and the level's first directive; nil when nothing is lost.
func (fx *facts) lostConnection(list headerList) (lost, at *parser.Node) {
	lvl := list.level()
	if lvl == nil || len(list.get("Connection")) > 0 {
		return nil, nil
	}
	for up := fx.inheritedHeaders(lvl, "proxy"); up.level() != nil; up = fx.inheritedHeaders(up.level(), "proxy") {
		if c := up.get("Connection"); len(c) > 0 {
			if len(c[0].Args) >= 2 && hasToken(c[0].Args[1].Value, "close") {
				return nil, nil // losing a close changes nothing
			}
			return c[0], list.nodes[0]
		}
	}
	return nil, nil
}
