package reuse

import (
	"github.com/ngxkeep/ngxkeep/lint"
)

// KA06 reports HTTP/1.0 keep-alive ("Connection: keep-alive" with
// proxy_http_version 1.0) towards pooled upstreams.
var KA06 = &lint.Analyzer{
	ID:        "KA06",
	Name:      "http10-keepalive-header",
	Severity:  lint.SeverityWarning,
	Scope:     lint.Single,
	Versioned: true,
	Doc: `A pooled upstream is used with HTTP/1.0 and "Connection: keep-alive".

nginx.org describes this as the way to keep connections to HTTP/1.0
backends and says it is not recommended. It works only as far as the
backend cooperates: nginx caches a connection only when the response's
status line is HTTP/1.1 or later and the body had a known end; HTTP/1.0 has
no chunked encoding, so every response without Content-Length is
close-delimited and ends the connection, and an HTTP/1.0 status line is
never cached whatever its Connection header says.

proxy_http_version is 1.0 by default before 1.29.7, so before 1.29.7 the
rule fires wherever "Connection: keep-alive" is set without
"proxy_http_version 1.1"; from 1.29.7 only with an explicit 1.0. The finding
is at the Connection header (once per directive). Fix: proxy_http_version
1.1 and proxy_set_header Connection "".`,
	Bad: `# target: 1.22
events {}
http {
    upstream app {
        server 127.0.0.1:8081;
        keepalive 16;
    }
    server {
        listen 8080;
        location / {
            proxy_set_header Connection "keep-alive";
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
	Run: runKA06,
}

func runKA06(pass *lint.Pass) error {
	fx := newFacts(pass)
	for _, in := range pass.Instances {
		once := onceNodes{}
		for x := range fx.pooledProxies(in) {
			p, pu, pc := x.p, x.u, x.c
			v, vnode := fx.httpVersion(p)
			if v != "1.0" {
				continue
			}
			ka := fx.keepAliveHeader(p)
			if ka == nil || !once.first(ka) {
				continue
			}
			why := "proxy_http_version 1.0"
			if vnode == nil {
				why = "proxy_http_version defaults to 1.0 before 1.29.7"
			}
			f := pass.ReportArg(ka, 1,
				"%s asks pooled upstream %q for HTTP/1.0 keep-alive (%s): the legacy mode nginx.org advises "+
					"against. The connection is kept only if the backend answers with an HTTP/1.1 status line and a "+
					"Content-Length; any response of unknown length (no chunked encoding in HTTP/1.0) or with an "+
					"HTTP/1.0 status line closes it. Use proxy_http_version 1.1 and proxy_set_header Connection \"\"",
				nginxAt(pass.Target), pu.Name, why)
			if vnode != nil {
				f.AddRelated(vnode, "HTTP/1.0 is set here")
			}
			relateCache(f, pu, pc)
		}
	}
	return nil
}
