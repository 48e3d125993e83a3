package failures

import (
	"strings"

	"github.com/ngxkeep/ngxkeep/lint"
)

// CL02 reports lingering_close off.
var CL02 = &lint.Analyzer{
	ID:       "CL02",
	Name:     "lingering-close-off",
	Severity: lint.SeverityWarning,
	Scope:    lint.Both,
	Doc: `lingering_close off: nginx closes with unread client data in the socket, and the kernel answers with RST.

When nginx closes a client connection instead of keeping it alive (a 413,
400 or other error that forces Connection: close, keepalive_requests or
keepalive_time reached, keepalive_timeout 0, a request with a body it did
not read, or pipelined requests it will not serve), it normally performs a
lingering close (ngx_http_finalize_connection → ngx_http_set_lingering_close):
it sends FIN with shutdown(SHUT_WR), keeps reading and discarding what the
client still sends for up to lingering_timeout (5s) per read and
lingering_time (30s) in total, and only then closes. The client reads the
whole response.

With lingering_close off nginx calls close() at once. If the client's body
or pipelined requests are still arriving, or sit unread in the socket
buffer, the kernel sends RST instead of FIN, and an RST discards data the
client has not read yet: the client sees "connection reset by peer" instead
of the 413 Request Entity Too Large or the last response. A proxy in front
of this server logs "recv() failed (104: Connection reset by peer)" and
answers 502.

Fix: remove lingering_close off (the default "on" lingers only when unread
data is likely); shorten lingering_time/lingering_timeout instead if
lingering connections cost too much.`,
	Bad: `events {}
http {
    lingering_close off;
    server {
        listen 8080;
        client_max_body_size 1m;
        location / {
            return 200 "ok\n";
        }
    }
}
`,
	Good: `events {}
http {
    lingering_timeout 2s;
    server {
        listen 8080;
        client_max_body_size 1m;
        location / {
            return 200 "ok\n";
        }
    }
}
`,
	Run: indexed(runCL02),
}

func runCL02(pass *lint.Pass) error {
	for _, in := range pass.Instances {
		for _, n := range in.Nodes("lingering_close") {
			if !strings.EqualFold(lint.ArgValue(n, 0), "off") {
				continue
			}
			msg := "with lingering_close off nginx close()s a connection it does not keep alive even when the client is still sending " +
				"(an upload answered by 413 or another error, unread pipelined requests): the kernel sends RST, which destroys the response " +
				"in the client's receive buffer, so the client sees \"connection reset by peer\" instead of the status"
			if in.Role&lint.RoleBackend != 0 {
				msg += "; the proxy in front of this server logs \"recv() failed (104: Connection reset by peer)\" and answers 502"
			}
			msg += "; remove it (the default lingers only when unread data is likely)"
			pass.ReportArg(n, 0, "%s", msg)
		}
	}
	return nil
}
