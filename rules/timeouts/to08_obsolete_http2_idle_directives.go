package timeouts

import (
	"github.com/ngxkeep/ngxkeep/lint"
)

// TO08 reports the HTTP/2 idle directives nginx ignores since 1.19.7.
var TO08 = &lint.Analyzer{
	ID:         "TO08",
	Name:       "obsolete-http2-idle-directives",
	Severity:   lint.SeverityWarning,
	Scope:      lint.Single,
	MinVersion: v1_19_7,
	Doc: `http2_idle_timeout, http2_recv_timeout or http2_max_requests is used; nginx ignores them since 1.19.7.

Since 1.19.7 these directives are accepted only to log "the ... directive is
obsolete, use the ... directive instead" (ngx_http_v2_obsolete) and have no
effect. HTTP/2 connections are governed by the HTTP/1.x settings instead:
keepalive_timeout closes an idle HTTP/2 connection (GOAWAY),
keepalive_requests limits the streams per connection, and
client_header_timeout bounds the wait for the request headers. A config
written for older nginx, say with "http2_idle_timeout 5m" and
"keepalive_timeout 15s" for HTTP/1.1 clients, now closes idle HTTP/2
connections after 15s, and "http2_max_requests 10000" no longer raises
anything: the connection ends after keepalive_requests (default 1000)
streams.

The message names the directive that now applies and its effective value at
that level.

Fix: delete the obsolete directive and set the replacement at the server
level to the value you meant (keeping in mind it applies to HTTP/1.x
connections as well).`,
	Bad: `events {}
http {
    server {
        listen 8443 http2;
        keepalive_timeout 15s;
        http2_idle_timeout 5m;
        location / {
            return 200 "ok\n";
        }
    }
}
`,
	Good: `events {}
http {
    server {
        listen 8443 http2;
        keepalive_timeout 5m;
        location / {
            return 200 "ok\n";
        }
    }
}
`,
	Run: runTO08,
}

// http2Replacements maps each obsolete directive to what governs HTTP/2
// connections instead (ngx_http_v2_module.c deprecation table).
var http2Replacements = map[string]string{
	"http2_idle_timeout": "keepalive_timeout",
	"http2_recv_timeout": "client_header_timeout",
	"http2_max_requests": "keepalive_requests",
}

func runTO08(pass *lint.Pass) error {
	for _, in := range pass.Instances {
		for _, old := range []string{"http2_idle_timeout", "http2_max_requests", "http2_recv_timeout"} {
			repl := http2Replacements[old]
			for _, n := range in.Nodes(old) {
				v := effective(pass, n, repl)
				asked := ""
				if len(n.Args) > 0 {
					asked = " " + n.Args[0].Value
				}
				f := pass.Reportf(n, "nginx %s ignores \"%s%s\" (it only warns that the directive is obsolete since 1.19.7): "+
					"HTTP/2 connections here follow %s instead; delete %s and set %s to the value you meant (it applies to HTTP/1.x connections too)",
					pass.Target, old, asked, describe(repl, v), old, repl)
				if v.node != nil {
					f.AddRelated(v.node, "%s %s governs HTTP/2 connections here", repl, v.first())
				}
			}
		}
	}
	return nil
}
