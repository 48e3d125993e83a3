package reuse

import (
	"strings"

	"github.com/ngxkeep/ngxkeep/lint"
	"github.com/ngxkeep/ngxkeep/parser"
)

// KA15 reports explicit upstreams that nginx 1.29.7+ pools by default
// although the config (or the user) says they were meant to stay
// unpooled.
var KA15 = &lint.Analyzer{
	ID:         "KA15",
	Name:       "upgrade-default-change",
	Severity:   lint.SeverityWarning,
	Scope:      lint.Single,
	MinVersion: parser.V1_29_7,
	Doc: `From 1.29.7 an upstream without keepalive is pooled, spoken to in HTTP/1.1 and sent no Connection header: a config written for the old defaults changes behaviour on upgrade.

Before 1.29.7 an upstream{} block without keepalive had no cache, and the
proxy module sent HTTP/1.0 with "Connection: close": one connection per
request. From 1.29.7 the same block gets "keepalive 32 local"
(ngx_http_upstream_keepalive_init_main_conf sets max_cached = 32), requests
go out as HTTP/1.1 and no Connection header is sent, so connections to it
are kept and reused (verified with nginx 1.30.4: four requests, one
connection). For most backends that is an improvement; for a
backend that mishandles persistent connections or HTTP/1.1 framing, or one
that authenticates the connection rather than the request (NTLM,
Negotiate), the upgrade silently changes what it sees (nginx/nginx #1436).

Reported, for targets >= 1.29.7, on used upstream blocks without a
keepalive directive:
- as a warning, when the block is named in the rule's legacy_upstreams
  option (backends known to need one connection per request);
- as info, when another upstream of the same config has an explicit
  "keepalive N": the config was written for the old defaults and left this
  one unpooled, perhaps on purpose.
A config without any keepalive gives no such sign and is not reported.
"keepalive 0;" keeps the old behaviour (one connection per request).

On the gen_large.py tree at 1.30 this reports the seeded
"upstream_no_keepalive" blocks (info), the ones KA08 reports at 1.22.`,
	Bad: `# target: 1.30
events {}
http {
    upstream app {
        server 127.0.0.1:8081;
        keepalive 16;
    }
    upstream legacy {
        server 127.0.0.1:8082;
    }
    server {
        listen 8080;
        location / {
            proxy_pass http://app;
        }
        location /legacy/ {
            proxy_pass http://legacy;
        }
    }
}
`,
	Good: `# target: 1.30
events {}
http {
    upstream app {
        server 127.0.0.1:8081;
        keepalive 16;
    }
    upstream legacy {
        server 127.0.0.1:8082;
        keepalive 0;
    }
    server {
        listen 8080;
        location / {
            proxy_pass http://app;
        }
        location /legacy/ {
            proxy_pass http://legacy;
        }
    }
}
`,
	Options: []lint.Option{{
		Name: "legacy_upstreams",
		Doc: "names of upstream blocks (comma or space separated) whose backends need one connection per " +
			"request (NTLM, legacy HTTP/1.0 servers); reported as warnings when the 1.29.7 default pools them",
		Kind:    lint.OptionString,
		Default: "",
	}},
	Run: runKA15,
}

func runKA15(pass *lint.Pass) error {
	legacy := map[string]bool{}
	for _, n := range strings.FieldsFunc(pass.OptionString("legacy_upstreams"), func(r rune) bool {
		return r == ',' || r == ' ' || r == '\t'
	}) {
		legacy[strings.ToLower(n)] = true
	}
	for _, in := range pass.Instances {
		uses := usesByUpstream(in)
		var pooledExplicitly *lint.Upstream
		for _, u := range in.Upstreams() {
			if c, ok := declared(pass, u); ok && !c.Implicit() {
				pooledExplicitly = u
				break
			}
		}
		for _, u := range in.Upstreams() {
			if u.Keepalive != nil {
				continue
			}
			var users []*lint.Proxy
			for _, p := range uses[u] {
				switch p.Module {
				case lint.ModuleProxy, lint.ModuleGRPC, lint.ModuleMemcached:
					users = append(users, p)
				}
			}
			if len(users) == 0 {
				continue
			}
			if legacy[strings.ToLower(u.Name)] {
				f := pass.ReportArg(u.Node, 0,
					"upstream %q is marked as needing one connection per request (legacy_upstreams), but %s gives "+
						"it the default cache (keepalive 32 local) and sends HTTP/1.1 without a Connection header, "+
						"where nginx before 1.29.7 opened a new HTTP/1.0 connection with \"Connection: close\" for "+
						"every request: the backend now gets persistent connections shared by successive clients. "+
						"Add \"keepalive 0;\" to keep the old behaviour",
					u.Name, nginxAt(pass.Target))
				relateUsers(f, users, u)
				continue
			}
			if pooledExplicitly == nil {
				continue
			}
			f := pass.ReportArg(u.Node, 0,
				"upstream %q has no keepalive while upstream %q has one: written for nginx before 1.29.7, this "+
					"left %q without a cache (a new HTTP/1.0 connection with \"Connection: close\" per request). "+
					"%s pools it (keepalive 32 local) and speaks HTTP/1.1 without a Connection header. If the "+
					"omission was deliberate (a backend that cannot keep connections, NTLM), add \"keepalive 0;\"; "+
					"otherwise write the keepalive you want",
				u.Name, pooledExplicitly.Name, u.Name, nginxAt(pass.Target))
			f.Severity = lint.SeverityInfo
			f.AddRelated(pooledExplicitly.Keepalive, "upstream %q is pooled explicitly", pooledExplicitly.Name)
			relateUsers(f, users, u)
		}
	}
	return nil
}

func relateUsers(f *lint.Finding, users []*lint.Proxy, u *lint.Upstream) {
	for i, p := range users {
		if i == 3 {
			break
		}
		f.AddRelated(p.Node, "proxies to %q", u.Name)
	}
}
