package failures

import (
	"fmt"
	"time"

	"github.com/ngxkeep/ngxkeep/lint"
	"github.com/ngxkeep/ngxkeep/parser"
)

// RT06 reports retries on timeouts with neither a tries nor a time limit on
// upstreams configured as slow.
var RT06 = &lint.Analyzer{
	ID:       "RT06",
	Name:     "next-upstream-timeout-unbounded",
	Severity: lint.SeverityWarning,
	Scope:    lint.Single,
	Doc: `Retries on timeout are unbounded on a slow upstream: one request can hold its connections for tries × read timeout.

proxy_next_upstream retries on "timeout" by default. Every server of the
upstream is tried in turn (ngx_http_upstream_tries) unless
proxy_next_upstream_tries or proxy_next_upstream_timeout limits it; both
default to 0, meaning no limit. Each attempt may wait proxy_connect_timeout
plus proxy_read_timeout before nginx gives up on it. On a location whose
proxy_read_timeout was raised for slow responses, a request that keeps
timing out therefore holds the client connection, a worker_connections
slot and an upstream connection for servers × (connect + read timeout),
often many minutes, and loads every server with the same slow work.

The rule fires when the location retries on timeout, proxies to an upstream
with at least two live servers, has neither limit set, and its
proxy_read_timeout is set explicitly above nginx's 60s default. WebSocket
and streaming locations (an Upgrade header, or a path such as /events or
/stream) are skipped: their long timeout is for the stream.

Fix: set proxy_next_upstream_timeout to the longest time a client should
wait (it counts from the first attempt) and/or proxy_next_upstream_tries 2,
or drop "timeout" from proxy_next_upstream for slow, expensive requests.`,
	Bad: `events {}
http {
    upstream reports {
        server 127.0.0.1:8081;
        server 127.0.0.1:8082;
        server 127.0.0.1:8083;
    }
    server {
        listen 8080;
        location /reports/ {
            proxy_read_timeout 300s;
            proxy_pass http://reports;
        }
    }
}
`,
	Good: `events {}
http {
    upstream reports {
        server 127.0.0.1:8081;
        server 127.0.0.1:8082;
        server 127.0.0.1:8083;
    }
    server {
        listen 8080;
        location /reports/ {
            proxy_read_timeout 300s;
            proxy_next_upstream_timeout 320s;
            proxy_pass http://reports;
        }
    }
}
`,
	Run: runRT06,
}

const defaultReadTimeout = 60 * time.Second

func runRT06(pass *lint.Pass) error {
	for _, in := range pass.Instances {
		// Only a read timeout raised above the default makes a slow upstream.
		if !anyArg(in, moduleNames("_read_timeout"), func(i int, a string) bool {
			d, ok := msec(a)
			return i == 0 && ok && d > defaultReadTimeout
		}) {
			continue
		}
		var hit []*lint.Proxy
		for _, p := range in.Proxies() {
			if p.Module == lint.ModuleMemcached || p.Upstream == nil {
				continue
			}
			prefix := p.Module.Prefix()
			rt := effective(pass, p.Node, prefix+"_read_timeout")
			d, ok := msec(rt.first())
			if !rt.explicit() || !ok || d <= defaultReadTimeout {
				continue
			}
			nu := nextUpstream(effective(pass, p.Node, prefix+"_next_upstream"))
			if nu["off"] || !nu["timeout"] {
				continue
			}
			if n, unbounded := tries(pass, p); n < 2 || !unbounded {
				continue
			}
			if t, ok := msec(effective(pass, p.Node, prefix+"_next_upstream_timeout").first()); ok && t > 0 {
				continue
			}
			if streamingLocation(pass, p) {
				continue // the long timeout is for the stream, not for slow answers
			}
			hit = append(hit, p)
		}
		for _, g := range groupBy(hit, func(p *lint.Proxy) *parser.Node {
			return effective(pass, p.Node, p.Module.Prefix()+"_read_timeout").node
		}) {
			reportRT06(pass, g)
		}
	}
	return nil
}

func reportRT06(pass *lint.Pass, g *group) {
	// The worst case of the location with the most servers.
	worst, wn := g.proxies[0], 0
	for _, p := range g.proxies {
		if n, _ := tries(pass, p); n > wn {
			worst, wn = p, n
		}
	}
	prefix := worst.Module.Prefix()
	read, _ := msec(effective(pass, worst.Node, prefix+"_read_timeout").first())
	conn, _ := msec(effective(pass, worst.Node, prefix+"_connect_timeout").first())
	total := time.Duration(wn) * (conn + read)
	where := ""
	if len(g.proxies) > 1 || g.proxies[0].Block() != g.node.Parent {
		where = fmt.Sprintf(" (applies to %s: %s)", plural(len(g.proxies), "location"), locList(g.proxies))
	}
	f := pass.Reportf(g.node,
		"%s %s%s marks %s as slow, yet nginx retries timeouts on each of up to %d servers with no %s_next_upstream_tries or %s_next_upstream_timeout: "+
			"one request can hold the client and upstream connections for %d × (%s connect + %s read) = %s; "+
			"set %s_next_upstream_timeout (counted from the first attempt) or %s_next_upstream_tries",
		g.node.Name, lint.ArgValue(g.node, 0), where, upstreamLabel(g.proxies), wn, prefix, prefix,
		wn, lint.FormatDuration(conn), lint.FormatDuration(read), lint.FormatDuration(total), prefix, prefix)
	if worst.Upstream != nil {
		f.AddRelated(worst.Upstream.Node, "upstream %s with %d servers", worst.Upstream.Name, wn)
	}
}
