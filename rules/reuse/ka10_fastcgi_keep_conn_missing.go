package reuse

import (
	"github.com/ngxkeep/ngxkeep/lint"
)

// KA10 reports fastcgi_pass to an upstream with keepalive while
// fastcgi_keep_conn is off.
var KA10 = &lint.Analyzer{
	ID:       "KA10",
	Name:     "fastcgi-keep-conn-missing",
	Severity: lint.SeverityWarning,
	Scope:    lint.Single,
	Doc: `fastcgi_pass goes to an upstream with "keepalive N" while fastcgi_keep_conn is off.

With fastcgi_keep_conn off (the default) nginx sends its FastCGI requests
without the FCGI_KEEP_CONN flag, which tells the application to close the
connection after the response; nginx never puts such a connection in the
cache (nginx.org: "For FastCGI servers, it is required to set
fastcgi_keep_conn for keepalive connections to work"). The cache configured
with keepalive stays empty and every request opens a new connection.

Only upstreams with an explicit keepalive directive are checked: the
implicit 1.29.7+ cache ("keepalive 32 local") changes nothing for FastCGI
without fastcgi_keep_conn, nobody asked for it, and turning keep_conn on is
a capacity decision (PHP-FPM serves each kept connection with one child
process, so keepalive x nginx workers must stay well below
pm.max_children), not a correction.

The finding is at the fastcgi_pass (fix: insert "fastcgi_keep_conn on;"
into the location) or at an explicit "fastcgi_keep_conn off" in effect (fix:
turn it on; reported once however many locations inherit it).`,
	Bad: `events {}
http {
    upstream php {
        server 127.0.0.1:9000;
        keepalive 8;
    }
    server {
        listen 8080;
        location ~ \.php$ {
            fastcgi_pass php;
        }
    }
}
`,
	Good: `events {}
http {
    upstream php {
        server 127.0.0.1:9000;
        keepalive 8;
    }
    server {
        listen 8080;
        location ~ \.php$ {
            fastcgi_keep_conn on;
            fastcgi_pass php;
        }
    }
}
`,
	Run: runKA10,
}

func runKA10(pass *lint.Pass) error {
	fx := newFacts(pass)
	for _, in := range pass.Instances {
		once := onceNodes{}
		for _, p := range in.Proxies() {
			if p.Module != lint.ModuleFastCGI {
				continue
			}
			var u *lint.Upstream
			var c lint.Pool
			for _, x := range p.Route().Upstreams {
				if xc, ok := declared(pass, x); ok && !xc.Implicit() {
					u, c = x, xc
					break
				}
			}
			if u == nil {
				continue
			}
			s := fx.pass.Effective(p.Node, "fastcgi_keep_conn")
			if s.Node != nil && len(s.Node.Args) > 0 {
				if s.Node.Args[0].Value == "on" {
					continue
				}
				if !once.first(s.Node) {
					continue
				}
				f := pass.ReportArg(s.Node, 0,
					"fastcgi_keep_conn off makes nginx ask the FastCGI application to close the connection after "+
						"each request to upstream %q (from %s%s), so the cache (%s) is never filled and every "+
						"request opens a new connection. Turn it on",
					u.Name, where(p), alsoOthers(p, s.Node.Parent), c.Describe())
				relateCache(f, u, c)
				f.SetFix("turn fastcgi_keep_conn on", lint.ReplaceArg(s.Node, 0, "on"))
				continue
			}
			f := pass.Reportf(p.Node,
				"nginx sends FastCGI requests to upstream %q without the keep-connection flag (fastcgi_keep_conn "+
					"is off by default): the application closes the connection after each response, so the cache "+
					"(%s) is never filled and every request opens a new connection. Add \"fastcgi_keep_conn on;\" "+
					"to %s (with PHP-FPM each kept connection holds a child process: keep the cache well below "+
					"pm.max_children)",
				u.Name, c.Describe(), where(p))
			relateCache(f, u, c)
			f.SetFix("add fastcgi_keep_conn on", lint.InsertBefore(insertAnchor(p), "fastcgi_keep_conn on;"))
		}
	}
	return nil
}
