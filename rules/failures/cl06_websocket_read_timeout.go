package failures

import (
	"fmt"
	"strings"
	"time"

	"github.com/ngxkeep/ngxkeep/lint"
	"github.com/ngxkeep/ngxkeep/parser"
)

// CL06 reports WebSocket locations left with the 60s proxy_read_timeout.
var CL06 = &lint.Analyzer{
	ID:       "CL06",
	Name:     "websocket-read-timeout",
	Severity: lint.SeverityWarning,
	Scope:    lint.Single,
	Doc: `A WebSocket (Upgrade) location keeps the default proxy_read_timeout of 60s: idle sockets are cut after a minute.

After a 101 Switching Protocols response nginx relays the two connections
as a tunnel (ngx_http_upstream_process_upgraded) and keeps proxy_read_timeout
as the timer on the backend side, re-armed whenever data moves in either
direction (verified with nginx 1.22.1: a client sending every second kept
the tunnel open past proxy_read_timeout). A WebSocket
on which neither side sends anything for proxy_read_timeout, 60s by default,
is closed by nginx (logged at info level as "upstream timed out"): the browser gets close code 1006
and has to reconnect, and every idle chat, dashboard or notification socket
cycles once a minute.

The rule looks at locations that pass the client's Upgrade header
(proxy_set_header Upgrade $http_upgrade) whose proxy_read_timeout is 60s or
less and was not chosen in the location itself: the default, or a value
inherited from the server or http level that was set for ordinary requests. Ping frames more often than the timeout
(sent by the application) keep the tunnel alive too; nginx itself never
sends them.

Fix: set proxy_read_timeout in the WebSocket location to the longest
silence the application allows (e.g. 1h), and/or have the application send
pings more often than that.`,
	Bad: `events {}
http {
    upstream ws {
        server 127.0.0.1:8081;
    }
    server {
        listen 8080;
        location /ws/ {
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection "upgrade";
            proxy_pass http://ws;
        }
    }
}
`,
	Good: `events {}
http {
    upstream ws {
        server 127.0.0.1:8081;
    }
    server {
        listen 8080;
        location /ws/ {
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection "upgrade";
            proxy_read_timeout 1h;
            proxy_pass http://ws;
        }
    }
}
`,
	Run: runCL06,
}

func runCL06(pass *lint.Pass) error {
	for _, in := range pass.Instances {
		if !anyArg(in, []string{"proxy_set_header"}, func(i int, a string) bool { return i == 0 && strings.EqualFold(a, "upgrade") }) {
			continue
		}
		var hit []*lint.Proxy
		upgrade := map[*lint.Proxy]*parser.Node{}
		for _, p := range in.Proxies() {
			if p.Module != lint.ModuleProxy {
				continue
			}
			u := upgradeHeader(pass, p)
			if u == nil {
				continue
			}
			rt := effective(pass, p.Node, "proxy_read_timeout")
			if d, ok := msec(rt.first()); !ok || d > time.Minute {
				continue
			}
			if rt.explicit() && (rt.node.Parent == p.Block() || rt.node.Parent == p.Location()) {
				continue // chosen for this location (the application pings)
			}
			upgrade[p] = u
			hit = append(hit, p)
		}
		for _, g := range groupBy(hit, func(p *lint.Proxy) *parser.Node { return upgrade[p] }) {
			where := ""
			if len(g.proxies) > 1 || g.proxies[0].Block() != g.node.Parent {
				where = fmt.Sprintf(" (applies to %s: %s)", plural(len(g.proxies), "location"), locList(g.proxies))
			}
			rt := effective(pass, g.proxies[0].Node, "proxy_read_timeout")
			d, _ := msec(rt.first())
			how := "the default proxy_read_timeout of 60s"
			if rt.explicit() {
				how = "proxy_read_timeout " + lint.FormatDuration(d) + " inherited from an outer level"
			}
			f := pass.Reportf(g.node,
				"this WebSocket upgrade%s runs with %s: nginx closes the tunnel after %s "+
					"in which nothing is relayed in either direction, so idle sockets drop with close code 1006 "+
					"unless the application pings more often; set proxy_read_timeout in the location to the longest silence the application allows",
				where, how, lint.FormatDuration(d))
			f.AddRelated(rt.node, "read timeout that applies to the tunnel")
		}
	}
	return nil
}

// upgradeHeader returns the proxy_set_header Upgrade directive that
// forwards the client's Upgrade header for p, or nil.
func upgradeHeader(pass *lint.Pass, p *lint.Proxy) *parser.Node {
	var found *parser.Node
	for _, n := range effective(pass, p.Node, "proxy_set_header").nodes {
		if len(n.Args) < 2 || !strings.EqualFold(n.Args[0].Value, "upgrade") {
			continue
		}
		v := strings.ToLower(n.Args[1].Value)
		if strings.Contains(v, "$http_upgrade") || v == "websocket" {
			found = n
		}
	}
	return found
}
