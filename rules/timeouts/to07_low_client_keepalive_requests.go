package timeouts

import (
	"fmt"
	"strings"

	"github.com/ngxkeep/ngxkeep/lint"
	"github.com/ngxkeep/ngxkeep/parser"
)

// TO07 reports client keepalive_requests limits that end busy connections
// early.
var TO07 = &lint.Analyzer{
	ID:       "TO07",
	Name:     "low-client-keepalive-requests",
	Severity: lint.SeverityWarning,
	Scope:    lint.Single,
	Doc: `Client keepalive_requests is below 1000.

keepalive_requests N makes nginx answer the Nth request on a connection with
"Connection: close" and close the connection after it; pipelined requests
after the Nth are never answered (ngx_http_update_location_config).
Since 1.19.7 the same limit applies to HTTP/2: after N
streams nginx sends GOAWAY and the browser must open a new connection,
repeating the TLS handshake, in the middle of loading a page. The default
was 100 until 1.19.10 and is 1000 since, precisely because 100 caused
connection churn and client failures on busy pages (trac #2155). A frontend
or load balancer pooling connections to this server also loses them every N
requests.

The rule reports explicit values from 1 to 999 (option min_requests) in
http, server and location context; 0 turns keep-alive off (TO05), and the
upstream directive of the same name is KA12's.

Fix: remove the directive (default 1000) or raise it; limit abusive
clients with limit_req / limit_conn instead.`,
	Bad: `events {}
http {
    keepalive_requests 100;
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
    keepalive_requests 1000;
    server {
        listen 8080;
        location / {
            return 200 "ok\n";
        }
    }
}
`,
	Options: []lint.Option{{
		Name:    "min_requests",
		Doc:     "smallest client keepalive_requests value not reported",
		Kind:    lint.OptionInt,
		Default: "1000",
	}},
	Run: runTO07,
}

func runTO07(pass *lint.Pass) error {
	min := int64(pass.OptionInt("min_requests"))
	for _, in := range pass.Instances {
		for _, n := range in.NodesIn("keepalive_requests", clientCtx) {
			if len(n.Args) == 0 {
				continue
			}
			c, ok := count(n.Args[0].Value)
			if !ok || c == 0 || c >= min {
				continue
			}
			var b strings.Builder
			fmt.Fprintf(&b, "keepalive_requests %d: the %s request on every client connection is answered with \"Connection: close\" and the connection is closed after it "+
				"(pipelined requests beyond it are dropped)", c, ordinal(c))
			if pass.Target.AtLeast(v1_19_7) {
				b.WriteString("; HTTP/2 connections get GOAWAY after that many streams, so browsers reconnect and redo the TLS handshake while loading busy pages")
			}
			fmt.Fprintf(&b, "; remove it (default %s for %s) or raise it to at least %d", defaultRequests(pass.Target), pass.Target, min)
			pass.ReportArg(n, 0, "%s", b.String())
		}
	}
	return nil
}

func defaultRequests(v parser.Version) string {
	if v.Before(v1_19_10) {
		return "100"
	}
	return "1000"
}

// ordinal formats 1 as "1st", 2 as "2nd", 100 as "100th".
func ordinal(n int64) string {
	suffix := "th"
	switch n % 100 {
	case 11, 12, 13:
	default:
		switch n % 10 {
		case 1:
			suffix = "st"
		case 2:
			suffix = "nd"
		case 3:
			suffix = "rd"
		}
	}
	return fmt.Sprintf("%d%s", n, suffix)
}
