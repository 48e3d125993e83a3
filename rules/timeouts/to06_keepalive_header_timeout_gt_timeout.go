package timeouts

import (
	"github.com/ngxkeep/ngxkeep/lint"
)

// TO06 reports Keep-Alive header timeouts that promise more than nginx
// keeps.
var TO06 = &lint.Analyzer{
	ID:       "TO06",
	Name:     "keepalive-header-timeout-gt-timeout",
	Severity: lint.SeverityWarning,
	Scope:    lint.Single,
	Doc: `The Keep-Alive header timeout (second argument of keepalive_timeout) is not shorter than the real idle timeout.

"keepalive_timeout T H" closes idle client connections after T and, on every
keep-alive response, sends "Keep-Alive: timeout=H" (H in seconds,
ngx_http_header_filter). Clients that honour the header (browsers,
curl-based and many HTTP libraries, load balancers that read it) keep the
idle socket and reuse it for up to H seconds. When H is not shorter than T,
a client sometimes sends its next request just after nginx has closed the
connection: the request fails with a reset or an empty reply and is retried
only if it is idempotent and the client retries at all.

The rule reports H ≥ T (equal values still race: the client starts
counting when it has read the response, nginx when it has written it).

Fix: make the header clearly shorter than the timeout, e.g.
"keepalive_timeout 75s 70;", or drop the second argument.`,
	Bad: `events {}
http {
    keepalive_timeout 30s 60;
    server {
        listen 8080;
        location / {
            return 200 "ok\n";
        }
    }
}
`,
	Good: `events {}
http {
    keepalive_timeout 75s 70;
    server {
        listen 8080;
        location / {
            return 200 "ok\n";
        }
    }
}
`,
	Run: runTO06,
}

func runTO06(pass *lint.Pass) error {
	for _, in := range pass.Instances {
		for _, n := range in.NodesIn("keepalive_timeout", clientCtx) {
			if len(n.Args) != 2 {
				continue
			}
			t, ok1 := msec(n.Args[0].Value)
			h, ok2 := secs(n.Args[1].Value)
			if !ok1 || !ok2 || t == 0 || h == 0 || h < t {
				continue
			}
			rel := "more idle time than"
			if h == t {
				rel = "as much idle time as"
			}
			pass.ReportArg(n, 1, "nginx tells clients \"Keep-Alive: timeout=%d\" but closes idle connections after %s: the header promises %s nginx keeps, "+
				"so a client that trusts it sometimes sends its next request on a connection nginx has just closed and gets a reset or an empty reply "+
				"(retried, if at all, only for idempotent requests); use a header timeout clearly below %s, e.g. \"keepalive_timeout %s %d;\"",
				int64(h.Seconds()), human(t), rel, human(t), n.Args[0].Value, int64(safeTimeout(t).Seconds()))
		}
	}
	return nil
}
