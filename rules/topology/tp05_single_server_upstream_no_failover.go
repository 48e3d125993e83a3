package topology

import (
	"fmt"
	"strings"

	"github.com/ngxkeep/ngxkeep/lint"
)

// TP05 reports max_fails/fail_timeout on upstreams with a single address.
var TP05 = &lint.Analyzer{
	ID:       "TP05",
	Name:     "single-server-upstream-no-failover",
	Severity: lint.SeverityWarning,
	Scope:    lint.Single,
	Doc: `max_fails/fail_timeout on an upstream with a single address: nginx never counts its failures, so the settings do nothing.

ngx_http_upstream_init_round_robin marks an upstream whose servers resolve
to exactly one address, with no backup, as single (peers->single). For such
an upstream every balancer skips failure accounting: the round-robin free
function returns before "peer->fails++", and the get function picks the
only peer without looking at max_fails or fail_timeout. The server is never
marked unavailable, there is no other server to pass a failed request to
(only a failure on a cached keep-alive connection gets one free retry on a
fresh connection), and "no live upstreams" never happens. Settings written
to get failover or circuit breaking have no effect, and reviewers believe
there is protection that does not exist.

The rule only counts servers given as IP addresses or unix sockets; a host
name may resolve to several addresses.

Fix: add a second server (or a backup server) if failover is intended, or
remove the parameters.`,
	Bad: `events {}
http {
    upstream app {
        server 127.0.0.1:8081 max_fails=3 fail_timeout=30s;
    }
    server {
        listen 8080;
        location / {
            proxy_pass http://app;
        }
    }
}
`,
	Good: `events {}
http {
    upstream app {
        server 127.0.0.1:8081 max_fails=3 fail_timeout=30s;
        server 127.0.0.1:8082 backup;
    }
    server {
        listen 8080;
        location / {
            proxy_pass http://app;
        }
    }
}
`,
	Run: runTP05,
}

func runTP05(pass *lint.Pass) error {
	for _, in := range pass.Instances {
		for _, u := range in.Upstreams() {
			n, _, exact := u.Peers()
			if n != 1 || !exact {
				continue
			}
			s := u.Servers[0]
			var set []string
			idx := -1
			if v, ok := s.Params["max_fails"]; ok && v != "0" {
				set = append(set, "max_fails="+v)
				idx = paramIndex(s.Node, "max_fails")
			}
			if v, ok := s.Params["fail_timeout"]; ok {
				set = append(set, "fail_timeout="+v)
				if idx < 0 {
					idx = paramIndex(s.Node, "fail_timeout")
				}
			}
			if len(set) == 0 {
				continue
			}
			verb := "has"
			if len(set) > 1 {
				verb = "have"
			}
			pass.ReportArg(s.Node, idx,
				"upstream %q has a single address, and nginx never counts failures for it (peers->single): %s %s no effect, "+
					"the server is never marked unavailable and there is no other server to fail over to; "+
					"add a second or backup server, or remove %s",
				u.Name, strings.Join(set, " "), verb, plural(len(set), "parameter"))
		}
	}
	return nil
}

func plural(n int, word string) string {
	if n == 1 {
		return "the " + word
	}
	return fmt.Sprintf("the %d %ss", n, word)
}
