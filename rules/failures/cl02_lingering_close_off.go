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

When nginx closes a client connection instead of keeping it alive (the
response said Connection: close because of keepalive_requests,
keepalive_time, keepalive_timeout 0, an error status, or the client asked
for it), the client may still be sending: requests it pipelined behind this
one, or bytes beyond the declared body. With lingering_close on (the
default) nginx then performs a lingering close
(ngx_http_finalize_connection → ngx_http_set_lingering_close): it sends FIN
with shutdown(SHUT_WR), keeps reading and discarding for up to
lingering_timeout (5s) per read and lingering_time (30s) in total, and only
then closes.

With lingering_close off nginx calls close() at once, and the kernel
answers the unread data with RST. The client gets "connection reset by
peer" instead of a clean end of stream; TCP stacks that drop received data
when an RST arrives lose the response itself, and the requests it
pipelined are neither answered nor cleanly refused, so it cannot tell
which ones to resend. Verified with nginx 1.22.1: a request followed by
extra bytes on a connection that was not kept alive ended with ECONNRESET
under lingering_close off and with FIN under the default. (Request bodies
that nginx is discarding are still read to the end first; lingering_close
does not change that.)

Fix: remove lingering_close off (the default lingers only when unread data
is likely); shorten lingering_time/lingering_timeout instead if lingering
connections cost too much.`,
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
	Run: runCL02,
}

func runCL02(pass *lint.Pass) error {
	for _, in := range pass.Instances {
		for _, n := range in.Nodes("lingering_close") {
			if !strings.EqualFold(lint.ArgValue(n, 0), "off") {
				continue
			}
			msg := "with lingering_close off nginx close()s a connection it does not keep alive even when the client is still sending " +
				"(pipelined requests, bytes beyond the declared body): the kernel answers the unread data with RST, so the client gets " +
				"\"connection reset by peer\" instead of a clean close, stacks that drop received data on RST lose the response, " +
				"and pipelined requests are neither answered nor cleanly refused"
			if in.Role&lint.RoleBackend != 0 {
				msg += "; a proxy in front of this server that still has data in flight logs \"Connection reset by peer\" errors"
			}
			msg += "; remove it (the default lingers only when unread data is likely)"
			f := pass.ReportArg(n, 0, "%s", msg)
			f.AddRelated(frontOf(pass, in), "proxy in front of this server")
		}
	}
	return nil
}
