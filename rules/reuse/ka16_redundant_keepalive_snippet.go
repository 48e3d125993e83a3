package reuse

import (
	"github.com/ngxkeep/ngxkeep/lint"
	"github.com/ngxkeep/ngxkeep/parser"
)

// KA16 reports the pre-1.29.7 keep-alive lines where nginx 1.29.7+ does
// the same by default.
var KA16 = &lint.Analyzer{
	ID:         "KA16",
	Name:       "redundant-keepalive-snippet",
	Severity:   lint.SeverityInfo,
	Scope:      lint.Single,
	MinVersion: parser.V1_29_7,
	Doc: `From 1.29.7, proxy_http_version 1.1 and proxy_set_header Connection "" repeat the defaults.

nginx 1.29.7 made HTTP/1.1 the default proxy_http_version and stopped
sending a Connection header to backends. The two lines every keep-alive
guide asked for are then noise, and noise drifts: the next person to touch
the snippet adds "close" or copies it where it matters less. Keep them only
while the config must also run on nginx older than 1.29.7.

A line is reported only where removing it changes nothing: proxy_http_version
1.1 when the level would inherit 1.1 anyway, and Connection "" when its
level keeps other proxy_set_header lines or has no outer list to inherit
(otherwise removing it would make the level inherit the outer list). Each
line is reported once, however many places include it, and only when the
config repeats it (two or more redundant uses of that line kind, as with a
snippet included in every location): a single line, such as the founding
scenario's one location, is left alone.

On the gen_large.py tree at 1.30 this reports the two lines of
snippets/proxy_common.conf (included in every location but the seeded
ones), once each.`,
	Bad: `# target: 1.30
events {}
http {
    server {
        listen 8080;
        location /a/ {
            proxy_http_version 1.1;
            proxy_pass http://127.0.0.1:8081;
        }
        location /b/ {
            proxy_http_version 1.1;
            proxy_pass http://127.0.0.1:8082;
        }
    }
}
`,
	Good: `# target: 1.30
events {}
http {
    server {
        listen 8080;
        location /a/ {
            proxy_pass http://127.0.0.1:8081;
        }
        location /b/ {
            proxy_pass http://127.0.0.1:8082;
        }
    }
}
`,
	Run: runKA16,
}

func runKA16(pass *lint.Pass) error {
	fx := newFacts(pass)
	const levels = parser.CtxHTTP | parser.CtxServer | parser.CtxLocation
	for _, in := range pass.Instances {
		report := func(nodes []*parser.Node, redundant func(*parser.Node) bool, format string) {
			// Group the uses of each written directive (a snippet's line
			// has thousands on a large tree): count them, then fill
			// slices carved from one array.
			count := map[*parser.Directive]int{}
			var order []*parser.Directive
			for _, n := range nodes {
				if count[n.Directive] == 0 {
					order = append(order, n.Directive)
				}
				count[n.Directive]++
			}
			byDir := make(map[*parser.Directive][]*parser.Node, len(order))
			backing := make([]*parser.Node, len(nodes))
			for _, d := range order {
				byDir[d] = backing[:0:count[d]]
				backing = backing[count[d]:]
			}
			for _, n := range nodes {
				byDir[n.Directive] = append(byDir[n.Directive], n)
			}
			var found []*parser.Directive
			total := 0
			for _, d := range order {
				all := true
				for _, n := range byDir[d] {
					if !redundant(n) {
						all = false
						break
					}
				}
				if all {
					found = append(found, d)
					total += len(byDir[d])
				}
			}
			if total < 2 {
				return // not repeated
			}
			for _, d := range found {
				uses := byDir[d]
				where := ""
				if len(uses) > 1 {
					where = " (in all " + plural(len(uses), "place", "places") + " it is included)"
				}
				pass.Reportf(uses[0], format, nginxAt(pass.Target), where)
			}
		}

		// The candidate lists are counted, then filled: sized by the
		// directives written they were mostly empty (30,000
		// proxy_set_header lines, 6,000 of them Connection "").
		isVersion := func(n *parser.Node) bool { return lint.ArgValue(n, 0) == "1.1" }
		versions := filterNodes(in.NodesIn("proxy_http_version", levels), isVersion)
		report(versions, func(n *parser.Node) bool {
			return fx.inheritedVersion(n.Parent) == "1.1"
		}, "%s already talks HTTP/1.1 to upstreams (the default since 1.29.7): this line changes nothing%s. "+
			"Keep it only while the config must also run on nginx before 1.29.7")

		conns := filterNodes(in.NodesIn("proxy_set_header", levels), func(n *parser.Node) bool {
			return len(n.Args) == 2 && equalFold(n.Args[0].Value, "Connection") && n.Args[1].Value == ""
		})
		report(conns, func(n *parser.Node) bool {
			for _, s := range n.Parent.Children {
				if s.Name == "proxy_set_header" && len(s.Args) > 0 && !equalFold(s.Args[0].Value, "Connection") {
					return true // the level keeps a list of its own
				}
			}
			return fx.inheritedHeaders(n.Parent, "proxy").level() == nil
		}, "%s sends no Connection header to upstreams by default (since 1.29.7): this line changes nothing%s. "+
			"Keep it only while the config must also run on nginx before 1.29.7")
	}
	return nil
}

// filterNodes returns the nodes keep accepts, in an exactly sized slice.
func filterNodes(nodes []*parser.Node, keep func(*parser.Node) bool) []*parser.Node {
	k := 0
	for _, n := range nodes {
		if keep(n) {
			k++
		}
	}
	if k == 0 {
		return nil
	}
	out := make([]*parser.Node, 0, k)
	for _, n := range nodes {
		if keep(n) {
			out = append(out, n)
		}
	}
	return out
}

// inheritedVersion returns the proxy_http_version block b would use
// without a directive of its own.
func (fx *facts) inheritedVersion(b *parser.Node) string {
	if b == nil || b.Parent == nil || b.Parent.IsRoot() {
		return defaultHTTPVersion(fx.pass.Target)
	}
	s := fx.pass.Effective(b.Parent, "proxy_http_version")
	if s.Node != nil && len(s.Node.Args) > 0 {
		return s.Node.Args[0].Value
	}
	return defaultHTTPVersion(fx.pass.Target)
}

func defaultHTTPVersion(v parser.Version) string {
	if v.AtLeast(parser.V1_29_7) {
		return "1.1"
	}
	return "1.0"
}
