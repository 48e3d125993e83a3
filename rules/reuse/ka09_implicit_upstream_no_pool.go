package reuse

import (
	"github.com/ngxkeep/ngxkeep/lint"
)

// KA09 reports proxy_pass targets that name no upstream{} block and so
// never get a keep-alive cache.
var KA09 = &lint.Analyzer{
	ID:       "KA09",
	Name:     "implicit-upstream-no-pool",
	Severity: lint.SeverityWarning,
	Scope:    lint.Single,
	Doc: `proxy_pass to an address, or to variables whose value names no upstream{} block, never reuses connections.

"proxy_pass http://127.0.0.1:8080" creates an implicit upstream; the
keep-alive module skips implicit upstreams (srv_conf == NULL in
ngx_http_upstream_keepalive_init_main_conf), so nginx opens a new connection
for every request, on every version: the 1.29.7 default pool
("keepalive 32 local") applies to explicit upstream{} blocks only.

A target with variables is evaluated per request: when the value names an
upstream{} block (and has no port) nginx uses that block and its cache
("set $t app; proxy_pass http://$t;" is pooled, verified with nginx 1.22.1);
otherwise nginx builds a peer on the fly (through the resolver for names)
and never caches its connections (verified with nginx 1.22.1: nine requests
through "set $b 127.0.0.1:PORT; proxy_pass http://$b;" opened nine
connections; through a map whose value names an upstream{} with keepalive,
one). The rule follows set, map, geo and
split_clients to the constant values a variable can take; a value taken
from the request ($arg_host, $host, $http_*, regex captures) can name
anything and is reported, as it also lets clients choose the target.

Fix: declare "upstream name { server ADDRESS; keepalive N; }" and
proxy_pass to its name (or make the variable's values upstream names).`,
	Bad: `events {}
http {
    server {
        listen 8080;
        location / {
            proxy_pass http://127.0.0.1:8081;
        }
    }
}
`,
	Good: `events {}
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
	Run: runKA09,
}

func runKA09(pass *lint.Pass) error {
	for _, in := range pass.Instances {
		for _, p := range in.Proxies() {
			if p.Module != lint.ModuleProxy {
				continue
			}
			r := p.Route()
			if r.Other == "" {
				continue
			}
			var f *lint.Finding
			if !p.Variable {
				f = pass.ReportArg(p.Node, 0,
					"proxy_pass to %s uses an implicit upstream, which nginx never gives a keep-alive cache (on "+
						"any version; the 1.29.7 default pool is for upstream{} blocks only): every request opens "+
						"a new connection and closes it after the response. Declare an upstream{} block with this "+
						"server and keepalive, and proxy_pass to its name",
					r.Other)
			} else {
				f = pass.ReportArg(p.Node, 0,
					"the proxy_pass target depends on %s: nginx evaluates it per request and, unless the value "+
						"names an upstream{} block, connects to it afresh every time with no keep-alive cache (on any "+
						"version). Make the target an upstream{} name (a map whose values are upstream names works)",
					r.Other)
			}
			if r.Via != nil {
				f.AddRelated(r.Via, "the value comes from here")
			}
		}
	}
	return nil
}
