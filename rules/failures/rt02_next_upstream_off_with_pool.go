package failures

import (
	"fmt"
	"strings"

	"github.com/ngxkeep/ngxkeep/lint"
	"github.com/ngxkeep/ngxkeep/parser"
)

// RT02 reports pooled upstreams whose locations cannot retry after an error.
var RT02 = &lint.Analyzer{
	ID:        "RT02",
	Name:      "next-upstream-off-with-pool",
	Severity:  lint.SeverityWarning,
	Scope:     lint.Single,
	Versioned: true, // which upstreams are pooled depends on the target
	Doc: `proxy_next_upstream is off (or lacks "error") for a location that reuses pooled connections.

A cached keep-alive connection can be closed by the backend at any moment
(its idle timeout, a restart, a NAT timeout). When nginx picks such a
connection and writes the request, it then reads EOF or ECONNRESET
("upstream prematurely closed connection", "recv() failed (104: Connection
reset by peer)"). nginx handles this race with a free retry:
ngx_http_upstream_next gives the try back (u->peer.tries++) when the failed
connection was cached, and tries again on a fresh connection. Since 1.9.13
that retry obeys proxy_next_upstream like any other: it happens only when
"error" is listed (the default is "error timeout").

With proxy_next_upstream off, or a list without "error" (for example
"http_502 http_504"), the retry is refused and the client gets nginx's 502
Bad Gateway, even for a GET that never reached the backend. Under steady
traffic this shows up as a trickle of 502s whose $upstream_status is a
single 502 and whose error log says the upstream closed the connection.

The rule looks at the effective value, including one inherited from the
server or http level, for every location whose upstream has a keep-alive
cache at the target version (an explicit keepalive, or any upstream{} block
from 1.29.7) and whose protocol settings let connections be reused.

Fix: keep "error" in the list (proxy_next_upstream error; or error timeout),
which is safe for POST: nginx still does not resend a non-idempotent request
that was already sent unless non_idempotent is listed.`,
	Bad: `# target: 1.22
events {}
http {
    upstream app {
        server 127.0.0.1:8081;
        keepalive 16;
    }
    server {
        listen 8080;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_next_upstream off;
        location / {
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
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_next_upstream error timeout;
        location / {
            proxy_pass http://app;
        }
    }
}
`,
	Run: runRT02,
}

func runRT02(pass *lint.Pass) error {
	names := append(moduleNames("_next_upstream"), "memcached_next_upstream")
	for _, in := range pass.Instances {
		// Some directive must say off or leave error out.
		if !anyNodeWithout(in, names, "error") {
			continue
		}
		var hit []*lint.Proxy
		for _, p := range in.Proxies() {
			if p.Module == lint.ModuleUWSGI || p.Module == lint.ModuleSCGI {
				continue
			}
			if p.Upstream == nil {
				continue
			}
			v := effective(pass, p.Node, p.Module.Prefix()+"_next_upstream")
			if !v.explicit() {
				continue
			}
			if f := nextUpstream(v); !f["off"] && f["error"] {
				continue
			}
			if _, ok := pass.PoolOf(p); ok {
				hit = append(hit, p)
			}
		}
		groups := groupBy(hit, func(p *lint.Proxy) *parser.Node {
			return effective(pass, p.Node, p.Module.Prefix()+"_next_upstream").node
		})
		for _, g := range groups {
			reportRT02(pass, g)
		}
	}
	return nil
}

func reportRT02(pass *lint.Pass, g *group) {
	f := nextUpstream(value{node: g.node, nodes: []*parser.Node{g.node}})
	what := g.node.Name + " off"
	if !f["off"] {
		what = fmt.Sprintf("%s %s (no \"error\")", g.node.Name, strings.Join(argValues(g.node), " "))
	}
	where := ""
	if len(g.proxies) > 1 || g.proxies[0].Block() != g.node.Parent {
		where = fmt.Sprintf(" applies to %s (%s) and", plural(len(g.proxies), "location"), locList(g.proxies))
	}
	msg := fmt.Sprintf("%s%s disables the free retry nginx %s grants when a cached keep-alive connection to %s "+
		"turns out to be closed by the backend: the client gets 502 Bad Gateway, even for a GET the backend never saw; "+
		"keep \"error\" in the list (POSTs are still not resent without non_idempotent)",
		what, where, pass.Target, upstreamNames(g.proxies))
	relateCaches(pass.Reportf(g.node, "%s", msg), g.proxies)
}
