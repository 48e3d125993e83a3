package failures

import (
	"fmt"
	"strings"

	"github.com/ngxkeep/ngxkeep/lint"
	"github.com/ngxkeep/ngxkeep/parser"
)

// RT03 reports unbuffered request bodies on pooled upstreams.
var RT03 = &lint.Analyzer{
	ID:        "RT03",
	Name:      "unbuffered-body-no-retry",
	Severity:  lint.SeverityWarning,
	Scope:     lint.Single,
	Versioned: true, // which upstreams are pooled depends on the target
	Doc: `proxy_request_buffering off on a location that reuses pooled connections: requests with a body cannot be retried.

With proxy_request_buffering off (or fastcgi_request_buffering off) nginx
sends the request body to the backend while it is still arriving from the
client (r->request_body_no_buffering). It does so for every request whose
body is not complete when the location's handler runs, i.e. any upload
larger than what came with the headers. Once such a request has been sent,
ngx_http_upstream_next refuses every retry
("u->request_sent && r->request_body_no_buffering"), because the body is
gone.

On a keep-alive pool that matters: when nginx reuses a cached connection
that the backend has just closed (idle-timeout race, restart), a buffered
PUT or DELETE is retried on a fresh connection, but an unbuffered one gets
502 Bad Gateway. And when the backend answers before the upload has ended
(an early 401, 413 or redirect), nginx can neither reuse the upstream
connection (the body was not fully sent) nor keep the client connection:
it closes both after the response.

Streaming bodies is sometimes the point (huge uploads, gRPC-like streams);
then make the stale race rare instead: upstream keepalive_timeout well below
the backend's idle timeout.

Fix: remove proxy_request_buffering off where uploads are small enough to
buffer (client_body_buffer_size, or a temp file), or keep it only in the
upload location and lower that upstream's keepalive_timeout.`,
	Bad: `# target: 1.22
events {}
http {
    upstream app {
        server 127.0.0.1:8081;
        keepalive 16;
    }
    server {
        listen 8080;
        location /upload/ {
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_request_buffering off;
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
        location /upload/ {
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            client_body_buffer_size 1m;
            proxy_pass http://app;
        }
    }
}
`,
	Run: runRT03,
}

func runRT03(pass *lint.Pass) error {
	for _, in := range pass.Instances {
		if !anyArg(in, []string{"proxy_request_buffering", "fastcgi_request_buffering"}, func(_ int, a string) bool { return strings.EqualFold(a, "off") }) {
			continue
		}
		var hit []*lint.Proxy
		for _, p := range in.Proxies() {
			if p.Module != lint.ModuleProxy && p.Module != lint.ModuleFastCGI {
				continue
			}
			rb := effective(pass, p.Node, p.Module.Prefix()+"_request_buffering")
			if !rb.explicit() || !strings.EqualFold(rb.first(), "off") {
				continue
			}
			if !streamsBody(pass, p) {
				continue
			}
			if _, ok := pass.PoolOf(p); !ok {
				continue
			}
			nu := nextUpstream(effective(pass, p.Node, p.Module.Prefix()+"_next_upstream"))
			if nu["off"] || !nu["error"] {
				continue // RT02's case: no retry at all
			}
			hit = append(hit, p)
		}
		for _, g := range groupBy(hit, func(p *lint.Proxy) *parser.Node {
			return effective(pass, p.Node, p.Module.Prefix()+"_request_buffering").node
		}) {
			reportRT03(pass, g)
		}
	}
	return nil
}

// streamsBody mirrors the conditions under which ngx_http_proxy_handler
// (ngx_http_fastcgi_handler) sets r->request_body_no_buffering.
func streamsBody(pass *lint.Pass, p *lint.Proxy) bool {
	prefix := p.Module.Prefix()
	if strings.EqualFold(effective(pass, p.Node, prefix+"_pass_request_body").first(), "off") {
		return false
	}
	if p.Module == lint.ModuleProxy && effective(pass, p.Node, "proxy_set_body").explicit() {
		return false
	}
	return true
}

func reportRT03(pass *lint.Pass, g *group) {
	where := ""
	if len(g.proxies) > 1 || g.proxies[0].Block() != g.node.Parent {
		where = fmt.Sprintf(" (applies to %s: %s)", plural(len(g.proxies), "location"), locList(g.proxies))
	}
	chunked := ""
	if g.node.Name == "proxy_request_buffering" {
		for _, p := range g.proxies {
			if effective(pass, p.Node, "proxy_http_version").first() == "1.0" {
				chunked = "; chunked uploads are still buffered here because proxy_http_version is 1.0"
				break
			}
		}
	}
	f := pass.Reportf(g.node,
		"%s off%s streams request bodies to pooled upstream %s: once an upload has started, nginx cannot retry it, "+
			"so an upload (PUT, or POST with non_idempotent) that lands on a cached connection the backend has just closed gets 502 instead of a retry on a fresh connection, "+
			"and a backend that answers before the body is complete costs both the upstream and the client connection%s",
		g.node.Name, where, upstreamNames(g.proxies), chunked)
	relateCaches(f, g.proxies)
}
