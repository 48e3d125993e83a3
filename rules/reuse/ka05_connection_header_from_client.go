package reuse

import (
	"strings"

	"github.com/ngxkeep/ngxkeep/lint"
	"github.com/ngxkeep/ngxkeep/parser"
)

// KA05 reports proxy_set_header lines that forward the client's
// hop-by-hop Connection or Keep-Alive header.
var KA05 = &lint.Analyzer{
	ID:       "KA05",
	Name:     "connection-header-from-client",
	Severity: lint.SeverityWarning,
	Scope:    lint.Single,
	Doc: `proxy_set_header forwards the client's Connection (or Keep-Alive) header to the backend.

Connection and Keep-Alive are hop-by-hop headers (RFC 9110 section 7.6.1):
they describe the client's connection to nginx, not nginx's connection to
the backend, and nginx deliberately never copies them. Writing
"proxy_set_header Connection $http_connection" hands the decision back to
each client: a client that sends "Connection: close" (HTTP/1.0 clients,
many scripts and health checkers) makes the backend close nginx's pooled
connection after its response, so the pool churns at the clients' whim; and
a client can list other header names in Connection ("Connection: close,
X-Forwarded-For") so that a compliant backend drops headers nginx set. The
"fix" circulates for WebSocket problems (invidious #604); the correct
WebSocket setup is the $http_upgrade map with '' mapped to ''.

Forwarding Keep-Alive passes the client's timeout/max parameters to a
backend that may apply them to the pooled connection.

Reported at the header value of every such directive, whatever the version.`,
	Bad: `events {}
http {
    server {
        listen 8080;
        location / {
            proxy_http_version 1.1;
            proxy_set_header Connection $http_connection;
            proxy_pass http://127.0.0.1:8081;
        }
    }
}
`,
	Good: `events {}
http {
    server {
        listen 8080;
        location / {
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass http://127.0.0.1:8081;
        }
    }
}
`,
	Run: runKA05,
}

// clientHopHeaders maps a hop-by-hop header to the variable holding the
// client's value of it.
var clientHopHeaders = map[string]string{
	"connection": "http_connection",
	"keep-alive": "http_keep_alive",
}

// clientHopHeader returns the entry of clientHopHeaders for name
// (case-insensitive), "" when there is none. It compares instead of
// lower-casing name for a map lookup, which allocated a string for every
// proxy_set_header line of a tree.
func clientHopHeader(name string) (header, variable string) {
	for h, v := range clientHopHeaders {
		if strings.EqualFold(name, h) {
			return h, v
		}
	}
	return "", ""
}

func runKA05(pass *lint.Pass) error {
	for _, in := range pass.Instances {
		for _, n := range in.NodesIn("proxy_set_header", parser.CtxHTTP|parser.CtxServer|parser.CtxLocation) {
			if len(n.Args) < 2 {
				continue
			}
			header, variable := clientHopHeader(n.Args[0].Value)
			if header == "" || !refersTo(n.Args[1].Value, variable) {
				continue
			}
			if header == "connection" {
				pass.ReportArg(n, 1,
					"this forwards the client's Connection header to the backend: every client that sends "+
						"\"Connection: close\" makes the backend close nginx's upstream connection after its response "+
						"(no reuse for that request's connection), and a client can name other headers in Connection "+
						"so that the backend drops them. Connection is hop-by-hop: set it to \"\" (or use the "+
						"$http_upgrade map for WebSocket)")
				continue
			}
			pass.ReportArg(n, 1,
				"this forwards the client's Keep-Alive header to the backend: its timeout and max parameters "+
					"describe the client's connection to nginx, yet the backend may apply them to nginx's pooled "+
					"connection. Keep-Alive is hop-by-hop: remove this line")
		}
	}
	return nil
}

// refersTo reports whether value references variable name ($name or
// ${name}, case-insensitively).
func refersTo(value, name string) bool {
	for _, v := range lint.Variables(value) {
		if strings.EqualFold(v, name) {
			return true
		}
	}
	return false
}
