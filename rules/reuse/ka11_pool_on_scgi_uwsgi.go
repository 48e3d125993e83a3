package reuse

import (
	"strings"

	"github.com/ngxkeep/ngxkeep/lint"
)

// KA11 reports keepalive on upstreams used only by uwsgi_pass or
// scgi_pass, whose connections are never kept.
var KA11 = &lint.Analyzer{
	ID:       "KA11",
	Name:     "pool-on-scgi-uwsgi",
	Severity: lint.SeverityWarning,
	Scope:    lint.Single,
	Doc: `An upstream with keepalive is used only by scgi_pass or uwsgi_pass.

The SCGI and uwsgi protocols have no notion of keep-alive connections
(nginx.org, upstream keepalive): the scgi and uwsgi modules never mark a
connection reusable, so nginx closes it after every response and the cache
is never filled. The directive does nothing and suggests pooling that does
not happen. Remove it, or, if connection setup cost matters, talk to the
application over HTTP (proxy_pass) with keep-alive.

Only explicit keepalive directives are reported; the implicit 1.29.7+ cache
is nobody's claim.`,
	Bad: `events {}
http {
    upstream py {
        server 127.0.0.1:9001;
        keepalive 16;
    }
    server {
        listen 8080;
        location / {
            uwsgi_pass py;
        }
    }
}
`,
	Good: `events {}
http {
    upstream py {
        server 127.0.0.1:9001;
    }
    server {
        listen 8080;
        location / {
            uwsgi_pass py;
        }
    }
}
`,
	Run: runKA11,
}

func runKA11(pass *lint.Pass) error {
	for _, in := range pass.Instances {
		uses := usesByUpstream(in)
		for _, u := range in.Upstreams() {
			c, ok := declared(pass, u)
			if !ok || !!c.Implicit() || len(uses[u]) == 0 {
				continue
			}
			modules := map[string]bool{}
			only := true
			for _, p := range uses[u] {
				if p.Module != lint.ModuleUWSGI && p.Module != lint.ModuleSCGI {
					only = false
					break
				}
				modules[p.Node.Name] = true
			}
			if !only {
				continue
			}
			var names, protos []string
			for i, n := range []string{"uwsgi_pass", "scgi_pass"} {
				if modules[n] {
					names = append(names, n)
					protos = append(protos, []string{"uwsgi", "SCGI"}[i])
				}
			}
			verb := "has"
			if len(protos) > 1 {
				verb = "have"
			}
			f := pass.Reportf(c.Node,
				"upstream %q is used only by %s (%s), and %s %s no keep-alive: nginx closes every "+
					"connection after the response, so this cache is never filled. Remove the keepalive directive",
				u.Name, strings.Join(names, " and "), plural(len(uses[u]), "location", "locations"),
				strings.Join(protos, " and "), verb)
			for i, p := range uses[u] {
				if i == 3 {
					break
				}
				f.AddRelated(p.Node, "%s never keeps its connection", p.Node.Name)
			}
			f.SetFix("remove the keepalive directive", lint.Delete(c.Node))
		}
	}
	return nil
}
