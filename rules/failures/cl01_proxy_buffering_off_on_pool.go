package failures

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/ngxkeep/ngxkeep/lint"
	"github.com/ngxkeep/ngxkeep/parser"
)

// CL01 reports proxy_buffering off on locations that do not stream.
var CL01 = &lint.Analyzer{
	ID:       "CL01",
	Name:     "proxy-buffering-off-on-pool",
	Severity: lint.SeverityWarning,
	Scope:    lint.Single,
	Doc: `proxy_buffering off on a location that does not stream: each upstream connection is held for the slowest client's whole download.

With proxy_buffering on (the default) nginx reads the response from the
backend as fast as the backend sends it, into memory buffers and a temp
file, releases the upstream connection (back into the keep-alive cache when
there is one) and then feeds the client at the client's pace. With
proxy_buffering off nginx reads only what fits in proxy_buffer_size and
reads more only after the client has taken it: the backend connection, the
backend's worker or thread and, on a pooled upstream, the slot the
connection would return to, stay busy until the slowest client finishes.
A few hundred mobile clients downloading large responses exhaust the
backend's connections and the pool never gets its connections back (nginx's
"Top 10 mistakes" #5).

Turning buffering off is right for responses that must reach the client as
they are produced: Server-Sent Events, long polling, streamed logs or
exports. The rule skips locations that look like that: an Upgrade header is
set, the location's path names a stream (stream, events, sse, ws, socket,
live, push, poll, subscribe, ...), or proxy_read_timeout is raised to an
hour or more. Backends can also switch buffering off per response with
"X-Accel-Buffering: no", which keeps buffering on for everything else.

Fix: remove proxy_buffering off, or move it to the streaming location only
(or send X-Accel-Buffering: no from the backend for streamed responses).`,
	Bad: `events {}
http {
    upstream app {
        server 127.0.0.1:8081;
    }
    server {
        listen 8080;
        location /downloads/ {
            proxy_buffering off;
            proxy_pass http://app;
        }
    }
}
`,
	Good: `events {}
http {
    upstream app {
        server 127.0.0.1:8081;
    }
    server {
        listen 8080;
        location /downloads/ {
            proxy_pass http://app;
        }
        location /events/ {
            proxy_buffering off;
            proxy_pass http://app;
        }
    }
}
`,
	Run: runCL01,
}

// streamingWords are path segments (or segment prefixes) that name a
// streaming endpoint.
var (
	streamingExact  = map[string]bool{"sse": true, "ws": true, "wss": true, "live": true, "push": true, "chat": true, "tail": true, "watch": true, "comet": true, "cable": true, "hub": true, "hubs": true, "tunnel": true, "grpc": true, "feed": true, "logs": true}
	streamingPrefix = []string{"stream", "event", "websocket", "socket", "subscri", "notif", "poll", "longpoll", "realtime", "signalr", "mercure", "graphql-ws"}
	pathSegment     = regexp.MustCompile(`[a-z0-9-]+`)
)

// streamingPath reports whether a location path names a streaming endpoint.
func streamingPath(path string) bool {
	for _, w := range pathSegment.FindAllString(strings.ToLower(path), -1) {
		if streamingExact[w] {
			return true
		}
		for _, p := range streamingPrefix {
			if strings.HasPrefix(w, p) {
				return true
			}
		}
	}
	return false
}

func runCL01(pass *lint.Pass) error {
	for _, in := range pass.Instances {
		if !anyArg(in, []string{"proxy_buffering"}, func(_ int, a string) bool { return strings.EqualFold(a, "off") }) {
			continue
		}
		var hit []*lint.Proxy
		for _, p := range in.Proxies() {
			if p.Module != lint.ModuleProxy {
				continue
			}
			v := effective(pass, p.Node, "proxy_buffering")
			if !v.explicit() || !strings.EqualFold(v.first(), "off") {
				continue
			}
			if streams(pass, p) {
				continue
			}
			hit = append(hit, p)
		}
		for _, g := range groupBy(hit, func(p *lint.Proxy) *parser.Node {
			return effective(pass, p.Node, "proxy_buffering").node
		}) {
			reportCL01(pass, g)
		}
	}
	return nil
}

// streams reports whether p's location looks like a streaming endpoint,
// or is configured for responses that last an hour or more.
func streams(pass *lint.Pass, p *lint.Proxy) bool {
	if streamingLocation(pass, p) {
		return true
	}
	if d, ok := msec(effective(pass, p.Node, "proxy_read_timeout").first()); ok && d >= time.Hour {
		return true
	}
	return false
}

// streamingLocation reports whether p forwards the Upgrade header or its
// location's path names a streaming endpoint.
func streamingLocation(pass *lint.Pass, p *lint.Proxy) bool {
	if p.Module == lint.ModuleProxy {
		for _, n := range effective(pass, p.Node, "proxy_set_header").nodes {
			if len(n.Args) >= 2 && strings.EqualFold(n.Args[0].Value, "upgrade") && n.Args[1].Value != "" {
				return true
			}
		}
	}
	for loc := p.Location(); loc != nil; loc = lint.Enclosing(loc, "location") {
		for _, a := range loc.Args {
			if streamingPath(a.Value) {
				return true
			}
		}
	}
	return false
}

func reportCL01(pass *lint.Pass, g *group) {
	where := ""
	if len(g.proxies) > 1 || g.proxies[0].Block() != g.node.Parent {
		where = fmt.Sprintf(" (applies to %s: %s)", plural(len(g.proxies), "location"), locList(g.proxies))
	}
	target := "the backend"
	if upstreamNames(g.proxies) != "" {
		target = upstreamLabel(g.proxies)
	}
	pooled := ""
	for _, p := range g.proxies {
		if _, ok := pass.PoolOf(p); ok {
			pooled = ", and the connection returns to the keep-alive pool only then, so slow clients drain the pool"
			break
		}
	}
	f := pass.Reportf(g.node,
		"proxy_buffering off%s makes nginx read from %s only as fast as the client downloads: the upstream connection stays busy "+
			"for the slowest client's whole transfer%s; keep buffering on outside streaming endpoints "+
			"(a backend can still send X-Accel-Buffering: no for a streamed response)",
		where, target, pooled)
	seen := map[*lint.Upstream]bool{}
	for _, p := range g.proxies {
		if u := p.Upstream; u != nil && !seen[u] {
			seen[u] = true
			f.AddRelated(u.Node, "upstream %s", u.Name)
		}
	}
}
