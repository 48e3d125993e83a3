package reuse

import (
	"github.com/ngxkeep/ngxkeep/lint"
	"github.com/ngxkeep/ngxkeep/parser"
)

// KA07 reports keepalive directives written before the balancer directive
// of their upstream (before 1.29.7 the balancer then drops the cache).
var KA07 = &lint.Analyzer{
	ID:         "KA07",
	Name:       "keepalive-before-balancer",
	Severity:   lint.SeverityWarning,
	Scope:      lint.Single,
	MaxVersion: parser.V1_29_7,
	Doc: `keepalive comes before hash, ip_hash, least_conn, random or least_time in an upstream block (before 1.29.7).

Before 1.29.7 the keepalive directive wraps whichever balancer
initialisation is registered at the moment it is read
(ngx_http_upstream_keepalive saves peer.init_upstream). A balancer directive
read afterwards replaces that initialisation: nginx logs only
"[warn] load balancing method redefined" and the keep-alive module is never
called, so the upstream has no cache at all and every request opens a new
connection (verified with nginx 1.22.1: "keepalive 4; ip_hash;" opened one
connection per request, "ip_hash; keepalive 4;" reused one). nginx.org:
"activate them before the keepalive directive".

From 1.29.7 keepalive is attached after the whole configuration is read
(ngx_http_upstream_keepalive_init_main_conf), the order no longer matters,
and the rule does not apply. The finding is at the keepalive directive; the
fix moves it after the balancer.`,
	Bad: `# target: 1.22
events {}
http {
    upstream app {
        keepalive 16;
        least_conn;
        server 127.0.0.1:8081;
        server 127.0.0.1:8082;
    }
}
`,
	Good: `# target: 1.22
events {}
http {
    upstream app {
        least_conn;
        server 127.0.0.1:8081;
        server 127.0.0.1:8082;
        keepalive 16;
    }
}
`,
	Run: runKA07,
}

// orderedBalancers are the directives that register their own
// init_upstream and log "load balancing method redefined".
var orderedBalancers = map[string]bool{
	"hash": true, "ip_hash": true, "least_conn": true, "random": true, "least_time": true,
}

func runKA07(pass *lint.Pass) error {
	for _, in := range pass.Instances {
		for _, u := range in.Upstreams() {
			k := u.Keepalive
			if k == nil {
				continue
			}
			seen := false
			var bal *parser.Node
			for _, c := range u.Node.Children {
				if c == k {
					seen = true
					continue
				}
				if seen && orderedBalancers[c.Name] {
					bal = c // the last one wins
				}
			}
			if bal == nil {
				continue
			}
			f := pass.Reportf(k,
				"%s is read after this keepalive and replaces the balancer it wrapped (%s only warns "+
					"\"load balancing method redefined\"): upstream %q gets no connection cache and every request "+
					"opens a new connection. Move keepalive after %s (from 1.29.7 the order no longer matters)",
				bal.Name, nginxAt(pass.Target), u.Name, bal.Name)
			f.AddRelated(bal, "%s replaces the keep-alive wrapper here", bal.Name)
			if k.Directive.File == bal.Directive.File {
				f.SetFix("move keepalive after "+bal.Name, lint.Delete(k), lint.InsertAfter(bal, directiveText([]*parser.Node{k})))
			}
		}
	}
	return nil
}
