package failures

import (
	"strings"

	"github.com/ngxkeep/ngxkeep/lint"
	"github.com/ngxkeep/ngxkeep/parser"
)

// RT01 reports *_next_upstream directives that list non_idempotent.
var RT01 = &lint.Analyzer{
	ID:       "RT01",
	Name:     "non-idempotent-retry",
	Severity: lint.SeverityWarning,
	Scope:    lint.Single,
	Doc: `proxy_next_upstream lists non_idempotent: POST, LOCK and PATCH are replayed on another server.

Since 1.9.13 nginx does not pass a request whose method is POST, LOCK or
PATCH to the next server once it has been sent to one
(ngx_http_upstream_next adds NGX_HTTP_UPSTREAM_FT_NON_IDEMPOTENT to the
failure type, and the request is retried only if that bit is in
proxy_next_upstream). Listing non_idempotent removes that guard: after an
error, a timeout or one of the listed http_* statuses, nginx sends the same
POST to the next server, or on a new connection after a failure on a cached
keep-alive connection. When the first server had already processed the
request (it timed out while working, crashed after committing, or answered
502 from a tier behind it), the side effect happens twice: double orders,
double payments, duplicated messages.

The same holds for fastcgi_, grpc_, uwsgi_ and scgi_next_upstream.

Fix: remove non_idempotent, and make the stale keep-alive race rare instead
(upstream keepalive_timeout below the backend's idle timeout). Keep it only
in locations whose non-idempotent requests are safe to replay (idempotency
keys), and bound the damage with proxy_next_upstream_tries.`,
	Bad: `events {}
http {
    upstream app {
        server 127.0.0.1:8081;
        server 127.0.0.1:8082;
    }
    server {
        listen 8080;
        location /orders/ {
            proxy_next_upstream error timeout non_idempotent;
            proxy_pass http://app;
        }
    }
}
`,
	Good: `events {}
http {
    upstream app {
        server 127.0.0.1:8081;
        server 127.0.0.1:8082;
    }
    server {
        listen 8080;
        location /orders/ {
            proxy_next_upstream error timeout;
            proxy_pass http://app;
        }
    }
}
`,
	Run: runRT01,
}

var retryModules = []lint.Module{lint.ModuleProxy, lint.ModuleFastCGI, lint.ModuleGRPC, lint.ModuleUWSGI, lint.ModuleSCGI}

func runRT01(pass *lint.Pass) error {
	for _, in := range pass.Instances {
		if !anyArg(in, moduleNames("_next_upstream"), func(_ int, a string) bool { return strings.EqualFold(a, "non_idempotent") }) {
			continue
		}
		var byNode map[*parser.Node][]*lint.Proxy
		for _, m := range retryModules {
			name := m.Prefix() + "_next_upstream"
			nodes := in.Nodes(name)
			if len(nodes) == 0 {
				continue
			}
			if byNode == nil {
				byNode = map[*parser.Node][]*lint.Proxy{}
				for _, p := range in.Proxies() {
					if n := effective(pass, p.Node, p.Module.Prefix()+"_next_upstream").node; n != nil {
						byNode[n] = append(byNode[n], p)
					}
				}
			}
			for _, n := range nodes {
				idx := -1
				off := false
				for i, a := range n.Args {
					switch strings.ToLower(a.Value) {
					case "non_idempotent":
						idx = i
					case "off":
						off = true
					}
				}
				if idx < 0 || off {
					continue
				}
				reportRT01(pass, n, idx, byNode[n])
			}
		}
	}
	return nil
}

func reportRT01(pass *lint.Pass, n *parser.Node, idx int, users []*lint.Proxy) {
	var conds []string
	for _, a := range n.Args {
		if v := strings.ToLower(a.Value); v != "non_idempotent" {
			conds = append(conds, v)
		}
	}
	when := "a failure"
	if len(conds) > 0 {
		when = strings.Join(conds, ", ")
	}
	msg := "nginx resends POST, LOCK and PATCH requests that were already sent to the next server (" + when +
		"); a server that had already processed the request executes it twice"
	var live []*lint.Proxy
	for _, p := range users {
		if canRetry(pass, p) {
			live = append(live, p)
		}
	}
	switch {
	case len(live) > 0:
		msg += "; applies to " + plural(len(live), "location") + " (" + locList(live) + ")"
		if names := upstreamNames(live); names != "" {
			msg += " proxying to " + names
		}
	case len(users) > 0:
		msg += "; no effect today (" + locList(users) +
			" proxies to one address without a keep-alive pool, so nginx has nothing to retry on), " +
			"but it replays POSTs as soon as a second server or a pool is added"
	}
	f := pass.ReportArg(n, idx, "%s", msg)
	for _, p := range live {
		if p.Upstream != nil {
			f.AddRelated(p.Upstream.Node, "upstream %s", p.Upstream.Name)
			break
		}
	}
}

// canRetry reports whether nginx can try a request of p a second time:
// another address, or a free retry after a failure on a cached connection.
func canRetry(pass *lint.Pass, p *lint.Proxy) bool {
	if p.Variable {
		return true
	}
	if p.Upstream != nil {
		_, live, exact := p.Upstream.Peers()
		if live >= 2 || !exact {
			return true
		}
		_, pooled := pass.PoolOf(p)
		return pooled
	}
	return p.AddrErr() == nil && p.Addr().IsHostName()
}
