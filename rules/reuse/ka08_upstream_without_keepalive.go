package reuse

import (
	"github.com/ngxkeep/ngxkeep/lint"
	"github.com/ngxkeep/ngxkeep/parser"
)

// KA08 reports upstream blocks used over HTTP without a keepalive cache
// (before 1.29.7).
var KA08 = &lint.Analyzer{
	ID:         "KA08",
	Name:       "upstream-without-keepalive",
	Severity:   lint.SeverityWarning,
	Scope:      lint.Single,
	MaxVersion: parser.V1_29_7,
	Doc: `An upstream block used by proxy_pass or grpc_pass has no keepalive directive (before 1.29.7).

Before 1.29.7 an upstream{} block without "keepalive N" has no connection
cache: nginx opens a new TCP (and TLS) connection to a backend server for
every request and closes it after the response. Under load that is a
handshake per request and TIME_WAIT sockets piling up on the proxy until
ephemeral ports run out (nginx's "Top 10 configuration mistakes", #3).

From 1.29.7 every explicit upstream{} has a cache by default ("keepalive 32
local") and the rule does not apply; see KA15 for what that change does to
configs written for the old default. Uses through variables count
("set $t app; proxy_pass http://$t;" uses upstream app), FastCGI, uwsgi and
SCGI uses do not (KA10, KA11). Reported once per block, at its name.

Fix: add "keepalive N;" (about twice the number of servers) to the block,
and proxy_http_version 1.1 with proxy_set_header Connection "" where it is
used (KA01, KA02).

On the gen_large.py tree at 1.22 the rule reports exactly the seeded
"upstream_no_keepalive" blocks (every 11th upstream); at 1.30 it does not
run, and KA15 reports the same blocks as pooled by the new default while the
others have an explicit keepalive.`,
	Bad: `# target: 1.22
events {}
http {
    upstream app {
        server 127.0.0.1:8081;
    }
    server {
        listen 8080;
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
        location / {
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass http://app;
        }
    }
}
`,
	Run: runKA08,
}

func runKA08(pass *lint.Pass) error {
	for _, in := range pass.Instances {
		uses := usesByUpstream(in)
		for _, u := range in.Upstreams() {
			if u.Keepalive != nil {
				continue
			}
			var http []*lint.Proxy
			for _, p := range uses[u] {
				if p.Module == lint.ModuleProxy || p.Module == lint.ModuleGRPC {
					http = append(http, p)
				}
			}
			if len(http) == 0 {
				continue
			}
			n := 2 * countRotation(u)
			if n < 16 {
				n = 16
			}
			f := pass.ReportArg(u.Node, 0,
				"upstream %q has no keepalive directive: %s keeps no idle connections to it, so every request "+
					"proxied to it (from %s) opens a new connection to a backend server and closes it after the "+
					"response (a handshake per request, TIME_WAIT sockets piling up on this host). Add "+
					"\"keepalive %d;\" to the block, with proxy_http_version 1.1 and proxy_set_header Connection \"\" "+
					"where it is used (nginx >= 1.29.7 pools explicit upstreams by default)",
				u.Name, nginxAt(pass.Target), plural(len(http), "location", "locations"), n)
			for i, p := range http {
				if i == 3 {
					break
				}
				f.AddRelated(p.Node, "proxies to %q", u.Name)
			}
		}
	}
	return nil
}

// usesByUpstream maps each upstream{} block to the *_pass directives that
// can reach it, literally or through variables: the engine's
// Upstream.Users, shared rather than rebuilt by appending.
func usesByUpstream(in *lint.Instance) map[*lint.Upstream][]*lint.Proxy {
	m := make(map[*lint.Upstream][]*lint.Proxy, len(in.Upstreams()))
	for _, u := range in.Upstreams() {
		if len(u.Users) > 0 {
			m[u] = u.Users
		}
	}
	return m
}

// countRotation returns the number of servers of u that take part in the
// balancing (not backup, not down).
func countRotation(u *lint.Upstream) int {
	n := 0
	for _, s := range u.Servers {
		_, backup := s.Params["backup"]
		_, down := s.Params["down"]
		if !backup && !down {
			n++
		}
	}
	return n
}
