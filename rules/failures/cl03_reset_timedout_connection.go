package failures

import (
	"strings"

	"github.com/ngxkeep/ngxkeep/lint"
)

// CL03 reports reset_timedout_connection on.
var CL03 = &lint.Analyzer{
	ID:       "CL03",
	Name:     "reset-timedout-connection",
	Severity: lint.SeverityInfo,
	Scope:    lint.Both,
	Doc: `reset_timedout_connection on: timed-out connections end with RST instead of FIN.

With reset_timedout_connection on, nginx sets SO_LINGER {on, 0} before
closing a connection whose request timed out (ngx_http_free_request when
c->timedout is set), so the kernel sends RST and drops whatever was still in
the send buffer. That covers client_header_timeout once part of a request
arrived, client_body_timeout, send_timeout (the client loses the tail of a
response that was still buffered), a body discard that hit
lingering_timeout, and, since 1.15.2, "return 444". It does not apply to
the keep-alive idle timeout or to a connection that never sent a byte:
those always end with FIN.

That is usually the intent (free memory and sockets held by stalled
clients at once), but a proxy or load balancer in front of this server sees
"Connection reset by peer" instead of a clean close, logs an error, and may
count it as a backend failure or answer 502.

Fix: nothing, if resets are wanted; otherwise remove it, or set it only in
the public-facing server blocks, not in those a proxy talks to.`,
	Bad: `events {}
http {
    reset_timedout_connection on;
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
    send_timeout 30s;
    server {
        listen 8080;
        location / {
            return 200 "ok\n";
        }
    }
}
`,
	Run: runCL03,
}

func runCL03(pass *lint.Pass) error {
	for _, in := range pass.Instances {
		for _, n := range in.Nodes("reset_timedout_connection") {
			if !strings.EqualFold(lint.ArgValue(n, 0), "on") {
				continue
			}
			msg := "nginx sends RST instead of FIN when a request times out (client_header_timeout after a partial request, " +
				"client_body_timeout, send_timeout, a body discard past lingering_timeout) and on return 444; " +
				"unsent response data is dropped, while keep-alive idle timeouts still end with FIN"
			if in.Role&lint.RoleBackend != 0 {
				msg += "; the proxy in front of this server sees \"Connection reset by peer\" and may count it as a backend failure"
			}
			f := pass.ReportArg(n, 0, "%s", msg)
			f.AddRelated(frontOf(pass, in), "proxy in front of this server")
		}
	}
	return nil
}
