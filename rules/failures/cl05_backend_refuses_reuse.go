package failures

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/ngxkeep/ngxkeep/lint"
	"github.com/ngxkeep/ngxkeep/parser"
)

// CL05 reports frontend pools whose backend nginx never keeps a connection.
var CL05 = &lint.Analyzer{
	ID:        "CL05",
	Name:      "backend-refuses-reuse",
	Severity:  lint.SeverityWarning,
	Scope:     lint.Cross,
	Versioned: true, // which upstreams are pooled depends on the target
	Doc: `A frontend pools connections to a backend nginx that closes every connection after one response.

The backend nginx turns keep-alive off for a request when its effective
keepalive_timeout is 0, when keepalive_requests is 0 or 1 (the first request
already reaches the limit), or when keepalive_time is 0
(ngx_http_update_location_config). Every response then carries
Connection: close and the backend closes the connection; the frontend sees
the close in the response header and never puts the connection into its
cache. The frontend's keepalive, proxy_http_version 1.1 and
proxy_set_header Connection "" are wasted: each request pays a new TCP
(and TLS) handshake, and the frontend accumulates TIME_WAIT sockets and
burns ephemeral ports. The same applies to a declared app tier with
max_requests = 1.

The rule needs the frontend and the backend configs on the same command
line (or a declared tier) and reports at the frontend's upstream server
that points at the backend.

Fix: let the backend keep connections from the frontend (keepalive_timeout
above the frontend's upstream keepalive_timeout, keepalive_requests 1000),
if necessary in a separate server block for the frontend's traffic; or drop
the frontend's pool.`,
	Bad: `-- frontend.conf --
events {}
http {
    upstream backend {
        server 127.0.0.1:9001;
        keepalive 32;
    }
    server {
        listen 8080;
        location / {
            proxy_pass http://backend;
        }
    }
}
-- backend.conf --
events {}
http {
    keepalive_timeout 0;
    server {
        listen 127.0.0.1:9001;
        location / {
            return 200 "ok\n";
        }
    }
}
`,
	Good: `-- frontend.conf --
events {}
http {
    upstream backend {
        server 127.0.0.1:9001;
        keepalive 32;
    }
    server {
        listen 8080;
        location / {
            proxy_pass http://backend;
        }
    }
}
-- backend.conf --
events {}
http {
    keepalive_timeout 75s;
    server {
        listen 127.0.0.1:9001;
        location / {
            return 200 "ok\n";
        }
    }
}
`,
	Run: runCL05,
}

// refusal is why a backend server never keeps a connection.
type refusal struct {
	why  string
	node *parser.Node // the backend directive, nil for a tier
}

// refusesKeepalive mirrors the vetoes of ngx_http_update_location_config
// that hold for every request of server block s (server level, and every
// location when the server level itself allows keep-alive).
func refusesKeepalive(pass *lint.Pass, s *parser.Node) (refusal, bool) {
	if r, ok := refusesAt(pass, s); ok {
		return r, true
	}
	// Every location of the server refuses (the server level does not).
	var first refusal
	n := 0
	for _, c := range s.Children {
		if c.Name != "location" {
			continue
		}
		r, ok := refusesAt(pass, c)
		if !ok {
			return refusal{}, false
		}
		if n == 0 {
			first = r
		}
		n++
	}
	if n == 0 {
		return refusal{}, false
	}
	return first, true
}

func refusesAt(pass *lint.Pass, n *parser.Node) (refusal, bool) {
	kt := effective(pass, n, "keepalive_timeout")
	if d, ok := msec(kt.first()); ok && d == 0 {
		return refusal{why: "keepalive_timeout 0", node: kt.node}, true
	}
	kr := effective(pass, n, "keepalive_requests")
	if v, err := strconv.Atoi(kr.first()); err == nil && v <= 1 {
		return refusal{why: "keepalive_requests " + kr.first(), node: kr.node}, true
	}
	if pass.Target.AtLeast(parser.V1_19_10) {
		ktime := effective(pass, n, "keepalive_time")
		if d, ok := msec(ktime.first()); ok && d == 0 && ktime.explicit() {
			return refusal{why: "keepalive_time 0", node: ktime.node}, true
		}
	}
	return refusal{}, false
}

func runCL05(pass *lint.Pass) error {
	if pass.Topology == nil {
		return nil
	}
	for _, in := range pass.Instances {
		type key struct {
			us   *lint.UpstreamServer
			what string
		}
		done := map[key]bool{}
		for _, l := range pass.Topology.LinksFrom(in) {
			if l.Upstream == nil || l.UpstreamServer == nil {
				continue
			}
			if (l.To == nil || l.To == in) && (l.Tier == nil || l.Tier.MaxRequests != 1) {
				continue
			}
			var users []*lint.Proxy
			for _, p := range l.Proxies {
				if _, ok := pass.PoolOf(p); ok {
					users = append(users, p)
				}
			}
			if len(users) == 0 {
				continue
			}
			var r refusal
			var dest string
			switch {
			case l.Tier != nil && l.Tier.MaxRequests == 1:
				r = refusal{why: "max_requests = 1"}
				dest = fmt.Sprintf("declared tier %q", l.Tier.Name)
			case l.To != nil && l.To != in && l.Server != nil:
				var ok bool
				if r, ok = refusesKeepalive(pass, l.Server.Node); !ok {
					continue
				}
				dest = "the backend server in " + l.To.Path
			default:
				continue
			}
			k := key{l.UpstreamServer, dest}
			if done[k] {
				continue
			}
			done[k] = true
			addr := lint.ArgValue(l.UpstreamServer.Node, 0)
			f := pass.Reportf(l.UpstreamServer.Node,
				"upstream %q pools connections to %s, but %s has %s: every response carries Connection: close and the backend closes, "+
					"so nothing is ever reused and each request from %s pays a new connection (TIME_WAIT and ephemeral ports pile up on this side); "+
					"let the backend keep connections from the frontend or drop the pool",
				l.Upstream.Name, addr, dest, r.why, locList(users))
			f.AddRelated(r.node, "%s: the backend disables keep-alive", strings.TrimSpace(r.why))
		}
	}
	return nil
}
