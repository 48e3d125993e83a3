package reuse

import (
	"strconv"

	"github.com/ngxkeep/ngxkeep/lint"
)

// KA12 reports upstream keepalive_requests values of 10 or less.
var KA12 = &lint.Analyzer{
	ID:        "KA12",
	Name:      "upstream-keepalive-requests-tiny",
	Severity:  lint.SeverityWarning,
	Scope:     lint.Single,
	Versioned: true,
	Doc: `An upstream with a keep-alive cache sets keepalive_requests to 10 or less.

When a connection is released, nginx closes it instead of caching it once
it has served keepalive_requests requests, counting the one just finished
(ngx_http_upstream_free_keepalive_peer: c->requests >= requests). With 0 or
1 no connection is ever reused; with 2 to 10 at least one request in N pays
for a new connection (handshake, a TIME_WAIT socket on the proxy). The
default is 1000 (100 before 1.19.10). Verified with nginx 1.22.1: nine
requests opened nine connections with keepalive_requests 1, three with 3.

Only upstreams with a cache are checked (an explicit keepalive, or any
explicit upstream from 1.29.7). The finding is at the value.`,
	Bad: `events {}
http {
    upstream app {
        server 127.0.0.1:8081;
        keepalive 16;
        keepalive_requests 1;
    }
}
`,
	Good: `events {}
http {
    upstream app {
        server 127.0.0.1:8081;
        keepalive 16;
        keepalive_requests 1000;
    }
}
`,
	Run: runKA12,
}

func runKA12(pass *lint.Pass) error {
	for _, in := range pass.Instances {
		for _, u := range in.Upstreams() {
			c, ok := declared(pass, u)
			if !ok {
				continue
			}
			kr := u.Child("keepalive_requests")
			if kr == nil || len(kr.Args) == 0 {
				continue
			}
			n, err := strconv.Atoi(kr.Args[0].Value)
			if err != nil || n < 0 || n > 10 {
				continue
			}
			var f *lint.Finding
			if n <= 1 {
				f = pass.ReportArg(kr, 0,
					"keepalive_requests %d: nginx closes every connection to upstream %q after its first request "+
						"instead of caching it (the count includes the request just served), so the cache (%s) never "+
						"holds a reusable connection and every request opens a new one. Remove it (default 1000)",
					n, u.Name, c.Describe())
			} else {
				f = pass.ReportArg(kr, 0,
					"keepalive_requests %d: nginx closes each connection to upstream %q after %d requests, so one "+
						"request in %d opens a new connection (a handshake, and a TIME_WAIT socket on this host). "+
						"Remove it (default 1000) unless the backend needs short-lived connections",
					n, u.Name, n, n)
			}
			relateCache(f, u, c)
		}
	}
	return nil
}
