package reuse

import (
	"strings"

	"github.com/ngxkeep/ngxkeep/lint"
	"github.com/ngxkeep/ngxkeep/parser"
)

// KA03 reports levels whose own proxy_set_header list discards an
// inherited Connection or Upgrade header.
var KA03 = &lint.Analyzer{
	ID:        "KA03",
	Name:      "proxy-set-header-drops-connection",
	Severity:  lint.SeverityWarning,
	Scope:     lint.Single,
	Versioned: true,
	Doc: `A server or location declares proxy_set_header and so loses an inherited Connection "" (or the WebSocket Upgrade headers).

proxy_set_header directives are inherited from the enclosing level only when
the current level declares none at all (nginx.org: "if and only if there are
no proxy_set_header directives defined on the current level";
ngx_http_proxy_merge_loc_conf). Adding one unrelated header, say
X-Request-Id, to a location discards the whole outer list, and the built-in
defaults fill the gaps.

Before 1.29.7 the built-in default is "Connection: close": a location that
loses an inherited Connection "" sends close to its pooled upstream and the
backend closes after every response, for that location only (verified with
nginx 1.22.1). From 1.29.7 no Connection header is sent by default, so
losing Connection "" changes nothing and is not reported. Losing an
inherited "Upgrade $http_upgrade" (with its Connection) breaks WebSocket
upgrades through that level on every version: nginx never forwards the
client's Upgrade header by itself.

The finding is at the first proxy_set_header of the level that discards the
list (once, however many locations use that level's list), related to the
lost directive; the fix copies the lost directives into that level, after
its last proxy_set_header. Nothing is reported for locations whose upstream
has no cache (the lost Connection "" changed nothing there).`,
	Bad: `# target: 1.22
events {}
http {
    upstream app {
        server 127.0.0.1:8081;
        keepalive 16;
    }
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    server {
        listen 8080;
        location / {
            proxy_set_header X-Request-Id $request_id;
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
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    server {
        listen 8080;
        location / {
            proxy_set_header X-Request-Id $request_id;
            proxy_set_header Connection "";
            proxy_pass http://app;
        }
    }
}
`,
	Run: runKA03,
}

func runKA03(pass *lint.Pass) error {
	fx := newFacts(pass)
	old := pass.Target.Before(parser.V1_29_7)
	for _, in := range pass.Instances {
		once := onceNodes{}
		for _, p := range in.Proxies() {
			if p.Module != lint.ModuleProxy {
				continue
			}
			list := fx.headers(p)
			if list.level() == nil {
				continue
			}
			// WebSocket: an inherited Upgrade header (and the Connection
			// that goes with it) the level does not repeat.
			if len(list.get("Upgrade")) == 0 {
				if up := fx.nearestWith(list, "Upgrade"); up.level() != nil {
					lost := up.get("Upgrade")
					if len(list.get("Connection")) == 0 {
						lost = append(lost, up.get("Connection")...)
					}
					at := list.nodes[0]
					if once.first(at) {
						f := pass.Reportf(at,
							"this proxy_set_header discards the inherited list, including %s: WebSocket "+
								"upgrades through %s%s stop working, "+
								"since nginx does not forward the client's Upgrade header by itself. "+
								"Repeat the lost headers here",
							describeHeaders(lost), where(p), alsoOthers(p, list.level()))
						for _, n := range lost {
							f.AddRelated(n, "inherited header discarded here")
						}
						f.SetFix("repeat the lost WebSocket headers", insertLinesAfter(list.nodes[len(list.nodes)-1], lost))
					}
					continue
				}
			}
			if !old {
				continue
			}
			lost, at := fx.lostConnection(list)
			if lost == nil {
				continue
			}
			pu, pc, pooled := fx.pooled(p)
			if !pooled || !once.first(at) {
				continue
			}
			f := pass.Reportf(at,
				"this proxy_set_header discards the inherited list, including %s: %s then sends "+
					"\"Connection: close\" (the default before 1.29.7) from %s%s "+
					"to pooled upstream %q, so the backend closes after every response and the "+
					"cache (%s) is never used. Repeat proxy_set_header Connection %s here",
				describeHeaders([]*parser.Node{lost}), nginxAt(pass.Target), where(p), alsoOthers(p, list.level()), pu.Name,
				pc.Describe(), lost.Args[1].Raw)
			f.AddRelated(lost, "inherited header discarded here")
			relateCache(f, pu, pc)
			f.SetFix("repeat the lost Connection header", insertLinesAfter(list.nodes[len(list.nodes)-1], []*parser.Node{lost}))
		}
	}
	return nil
}

// nearestWith returns the nearest list above list's level that has header
// name; the zero headerList when none has.
func (fx *facts) nearestWith(list headerList, name string) headerList {
	for up := fx.inheritedHeaders(list.level(), "proxy"); up.level() != nil; up = fx.inheritedHeaders(up.level(), "proxy") {
		if len(up.get(name)) > 0 {
			return up
		}
	}
	return headerList{}
}

// describeHeaders formats directives as `proxy_set_header Connection ""`.
func describeHeaders(ns []*parser.Node) string {
	var parts []string
	for _, n := range ns {
		parts = append(parts, strings.TrimSuffix(directiveText([]*parser.Node{n}), ";"))
	}
	return strings.Join(parts, " and ")
}

// directiveText renders directives as written ("name arg arg;"), joined by
// a space.
func directiveText(ns []*parser.Node) string {
	var b strings.Builder
	for i, n := range ns {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(n.Name)
		for _, a := range n.Args {
			b.WriteByte(' ')
			b.WriteString(a.Raw)
		}
		b.WriteByte(';')
	}
	return b.String()
}

// insertLinesAfter returns an edit inserting copies of directives ns after
// n, one per line, indented like n.
func insertLinesAfter(n *parser.Node, ns []*parser.Node) lint.Edit {
	src := n.Directive.File.Src
	start := n.Pos.Offset
	for start > 0 && src[start-1] != '\n' {
		start--
	}
	sep := "\n" + string(src[start:n.Pos.Offset])
	if strings.Trim(sep, "\n \t") != "" {
		sep = " " // n shares its line: stay on it
	}
	var lines []string
	for _, x := range ns {
		lines = append(lines, directiveText([]*parser.Node{x}))
	}
	return lint.InsertAfter(n, strings.Join(lines, sep))
}
