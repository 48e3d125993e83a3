package failures

import (
	"strconv"

	"github.com/ngxkeep/ngxkeep/lint"
	"github.com/ngxkeep/ngxkeep/parser"
)

// CL04 reports bare returns of statuses for which nginx closes the
// connection.
var CL04 = &lint.Analyzer{
	ID:       "CL04",
	Name:     "forced-close-status-in-hot-path",
	Severity: lint.SeverityInfo,
	Scope:    lint.Single,
	Doc: `return 400/413/414/500/501 without a body as a location's normal answer: nginx closes the connection after every such response.

"return CODE;" with a code of 400 or more and no text is answered by
nginx's special-response path (ngx_http_special_response_handler), which
turns keep-alive off for 400, 413, 414, 495, 496, 497, 500 and 501: the
response carries Connection: close and nginx closes the connection. So a
location whose regular answer is one of these, such as a deprecated API
answering 501 or a catch-all answering 400, costs every client a new TCP
(and TLS) handshake per request, and a proxy in front of it loses its
pooled connection each time. "return 408;" is worse: nginx sends nothing
at all and closes (the client sees an empty reply).

"return 500 \"text\";" (any non-empty text) is built by
ngx_http_send_response instead and keeps the connection; so do all other
statuses (403, 404, 410, 429, 503, ...). Returns inside "if" blocks are
treated as guards for unusual requests and are not reported, nor are
server-level returns of a default_server that rejects unknown hosts.

Fix: if the status is part of normal traffic, give it a body
(return 501 "not implemented\n";) or pick a status that does not close
(404, 410, 403).`,
	Bad: `events {}
http {
    server {
        listen 8080;
        location /v1/ {
            return 501;
        }
    }
}
`,
	Good: `events {}
http {
    server {
        listen 8080;
        location /v1/ {
            return 501 "API v1 was removed\n";
        }
        location /old/ {
            return 410;
        }
    }
}
`,
	Run: runCL04,
}

// closingStatuses are the statuses ngx_http_special_response_handler
// answers with keep-alive off.
var closingStatuses = map[int]bool{400: true, 413: true, 414: true, 495: true, 496: true, 497: true, 500: true, 501: true}

func runCL04(pass *lint.Pass) error {
	for _, in := range pass.Instances {
		for _, n := range in.NodesIn("return", parser.CtxServer|parser.CtxLocation) {
			if len(n.Args) == 0 {
				continue
			}
			code, err := strconv.Atoi(n.Args[0].Value)
			if err != nil {
				continue
			}
			// ngx_http_script_return_code: text (even a variable) makes
			// it an ordinary response; an empty constant does not.
			if len(n.Args) > 1 && n.Args[1].Value != "" {
				continue
			}
			if code != 408 && !closingStatuses[code] {
				continue
			}
			if n.Ctx == parser.CtxServer && rejectsUnknownHosts(in, n.Parent) {
				continue
			}
			where := "this server"
			if loc := lint.Enclosing(n, "location"); loc != nil {
				where = "location " + lint.ArgValue(loc, 0)
				if len(loc.Args) > 1 {
					where = "location " + lint.ArgValue(loc, 0) + " " + lint.ArgValue(loc, 1)
				}
			}
			if code == 408 {
				pass.ReportArg(n, 0, "return 408 sends no response at all: nginx closes the connection at once, so every client of %s sees an empty reply "+
					"and must reconnect; use a status with a body (e.g. return 503 or 504) if clients should get an answer", where)
				continue
			}
			pass.ReportArg(n, 0, "return %d without text goes through nginx's error-page path, which forces Connection: close: "+
				"every request to %s ends its client connection (and a pooling proxy in front loses its upstream connection); "+
				"give it a body (return %d \"...\";) or use a status that keeps the connection if this is normal traffic", code, where, code)
		}
	}
	return nil
}

// rejectsUnknownHosts reports whether server block s is a default_server
// catch-all (server_name "_" or none), where closing is the point.
func rejectsUnknownHosts(in *lint.Instance, s *parser.Node) bool {
	for _, srv := range in.Servers() {
		if srv.Node != s {
			continue
		}
		def := false
		for _, l := range srv.Listens {
			if l.DefaultServer {
				def = true
			}
		}
		if !def {
			return false
		}
		for _, name := range srv.Names {
			if name != "_" && name != "" && name != "\"\"" {
				return false
			}
		}
		return true
	}
	return false
}
