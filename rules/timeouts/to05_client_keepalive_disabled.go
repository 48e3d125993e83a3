package timeouts

import (
	"fmt"
	"strings"

	"github.com/ngxkeep/ngxkeep/lint"
	"github.com/ngxkeep/ngxkeep/parser"
)

// TO05 reports settings that turn client keep-alive off.
var TO05 = &lint.Analyzer{
	ID:       "TO05",
	Name:     "client-keepalive-disabled",
	Severity: lint.SeverityWarning,
	Scope:    lint.Both,
	Doc: `Client keep-alive is turned off (keepalive_timeout 0, keepalive_requests 0 or keepalive_time 0).

ngx_http_update_location_config clears r->keepalive when the location's
keepalive_timeout is 0, when the connection's request count reaches
keepalive_requests (always true for 0), or when the connection is older than
keepalive_time (practically always for 0). Every response then carries
"Connection: close" and nginx closes the connection after it (HTTP/2
connections get GOAWAY after the request, 1.19.7+). Each request pays a new
TCP handshake, plus a TLS handshake on https, and the server accumulates
TIME_WAIT sockets.

It is worse when the server sits behind a frontend that pools connections
(an nginx upstream with keepalive, or any upstream{} from 1.29.7): the
frontend's pool never gets a connection back, every proxied request opens a
new connection to this server, and the frontend's keepalive settings are
dead weight. When the topology links such a pool to the server, the finding
is raised to an error and names the frontend.

The rule reports each directive that turns keep-alive off, at http level
(every server that does not override it), server level or location level.

Fix: remove the directive (nginx's defaults are keepalive_timeout 75s,
keepalive_requests 1000, keepalive_time 1h) or set a real value; behind a
pooling frontend, keep keepalive_timeout above the frontend pool's
keepalive_timeout.`,
	Bad: `events {}
http {
    server {
        listen 8080;
        keepalive_timeout 0;
        location / {
            return 200 "ok\n";
        }
    }
}
`,
	Good: `events {}
http {
    server {
        listen 8080;
        keepalive_timeout 65s;
        location / {
            return 200 "ok\n";
        }
    }
}
`,
	Run: runTO05,
}

func runTO05(pass *lint.Pass) error {
	for _, in := range pass.Instances {
		for _, name := range []string{"keepalive_timeout", "keepalive_requests", "keepalive_time"} {
			for _, n := range in.NodesIn(name, clientCtx) {
				if disablesKeepalive(n) {
					reportTO05(pass, in, n)
				}
			}
		}
	}
	return nil
}

// disablesKeepalive reports whether a client keepalive_* directive turns
// keep-alive off (the checks of ngx_http_update_location_config).
func disablesKeepalive(n *parser.Node) bool {
	if len(n.Args) == 0 {
		return false
	}
	switch n.Name {
	case "keepalive_requests":
		c, ok := count(n.Args[0].Value)
		return ok && c == 0
	default:
		d, ok := msec(n.Args[0].Value)
		return ok && d == 0
	}
}

func reportTO05(pass *lint.Pass, in *lint.Instance, n *parser.Node) {
	var scope string
	var servers []*lint.Server
	switch {
	case n.Ctx&parser.CtxLocation != 0:
		loc := n.Parent
		scope = "requests served by location " + lint.ArgsText(loc)
		if s := in.ServerOf(lint.Enclosing(n, "server")); s != nil {
			servers = append(servers, s)
		}
	case n.Ctx&parser.CtxServer != 0:
		scope = "this server"
		servers = serversUsing(pass, in, n)
	default:
		servers = serversUsing(pass, in, n)
		if len(servers) == 0 && len(in.Servers()) > 0 {
			return // every server sets its own: no effect
		}
		scope = fmt.Sprintf("every server of this http block that does not set its own (%d server%s)", len(servers), plural(len(servers)))
	}
	why := map[string]string{
		"keepalive_timeout":  "keepalive_timeout 0",
		"keepalive_requests": "keepalive_requests 0 (the request count always reaches it)",
		"keepalive_time":     "keepalive_time 0 (every connection is older than that)",
	}[n.Name]
	var b strings.Builder
	fmt.Fprintf(&b, "%s turns client keep-alive off for %s: every response carries \"Connection: close\" and nginx closes the connection after it", why, scope)
	for _, s := range servers {
		h2 := false
		for _, l := range s.Listens {
			h2 = h2 || l.HTTP2
		}
		if h2 || effective(pass, s.Node, "http2").first() == "on" {
			b.WriteString(" (HTTP/2 connections get GOAWAY after each request)")
			break
		}
	}
	b.WriteString(", so each request pays a new TCP handshake (and a TLS handshake on https)")

	var pools []frontPool
	seen := map[*lint.Upstream]bool{}
	for _, s := range servers {
		for _, fp := range poolsInto(pass, in, s.Node) {
			if !seen[fp.pool.Upstream] {
				seen[fp.pool.Upstream] = true
				pools = append(pools, fp)
			}
		}
	}
	if len(pools) > 0 {
		var names []string
		for _, fp := range pools {
			names = append(names, fmt.Sprintf("upstream %s of %s", fp.pool.Upstream.Name, instName(fp.link.From)))
		}
		verb := "pools"
		if len(pools) > 1 {
			verb = "pool"
		}
		fmt.Fprintf(&b, "; %s %s connections to this server but never gets one back: every proxied request opens a new connection here "+
			"and the pool's keepalive settings are dead weight", strings.Join(names, " and "), verb)
	}
	defaults := "keepalive_timeout 75s, keepalive_requests " + defaultRequests(pass.Target)
	if pass.Target.AtLeast(v1_19_10) {
		defaults += ", keepalive_time 1h"
	}
	fmt.Fprintf(&b, "; remove the directive (defaults: %s) or set a real value", defaults)
	if len(pools) > 0 {
		b.WriteString(" above the frontend pool's keepalive_timeout")
	}
	f := reportAt(pass, n, "%s", b.String())
	if len(pools) > 0 {
		f.Severity = lint.SeverityError
		for _, fp := range pools {
			f.AddRelated(poolNode(fp.pool), "%s%s", who(fp.link.From, poolNode(fp.pool), ""), poolDesc(fp.pool))
		}
	}
}
