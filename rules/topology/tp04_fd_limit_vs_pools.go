package topology

import (
	"strconv"

	"github.com/ngxkeep/ngxkeep/lint"
	"github.com/ngxkeep/ngxkeep/parser"
)

// TP04 reports a file descriptor limit too small for a proxy's connections.
var TP04 = &lint.Analyzer{
	ID:       "TP04",
	Name:     "fd-limit-vs-pools",
	Severity: lint.SeverityWarning,
	Scope:    lint.Single,
	Doc: `worker_rlimit_nofile is below 2 × worker_connections on a proxy.

worker_connections limits the connections of one worker process, client and
upstream ones together, including idle keep-alive connections on both
sides. Every proxied request holds at least two descriptors (the client's
connection and the upstream's), plus temp files for buffered request or
response bodies, cache files, static files and logs. worker_rlimit_nofile
sets the worker's descriptor limit (RLIMIT_NOFILE). When it is below
2 × worker_connections a busy proxy runs out of descriptors before it runs
out of connections: accept() fails with EMFILE ("Too many open files",
clients see resets or timeouts), connect() to the backend fails (502), and
opening a temp file fails (500). Below worker_connections itself nginx
warns at startup ("worker_connections exceed open file resource limit").
nginx's "Top 10 mistakes" #1.

The rule applies to configs that proxy (any *_pass) and set
worker_rlimit_nofile explicitly; without it the limit comes from the
environment (systemd's LimitNOFILE, ulimit -n) and cannot be checked here.

Fix: set worker_rlimit_nofile to at least 2 × worker_connections (and make
sure the system's hard limit allows it).`,
	Bad: `worker_rlimit_nofile 4096;
events {
    worker_connections 4096;
}
http {
    server {
        listen 8080;
        location / {
            proxy_pass http://127.0.0.1:8081;
        }
    }
}
`,
	Good: `worker_rlimit_nofile 8192;
events {
    worker_connections 4096;
}
http {
    server {
        listen 8080;
        location / {
            proxy_pass http://127.0.0.1:8081;
        }
    }
}
`,
	Run: runTP04,
}

func runTP04(pass *lint.Pass) error {
	for _, in := range pass.Instances {
		if len(in.Proxies()) == 0 {
			continue
		}
		n := mainDirective(in, "worker_rlimit_nofile", parser.CtxMain)
		if n == nil {
			continue
		}
		limit, err := strconv.Atoi(lint.ArgValue(n, 0))
		if err != nil {
			continue
		}
		wc, wcNode := workerConnections(in)
		if limit >= 2*wc {
			continue
		}
		wcText := strconv.Itoa(wc)
		if wcNode == nil {
			wcText += " (the default)"
		}
		extra := ""
		if limit < wc {
			extra = "; it is even below worker_connections, which nginx warns about at startup (\"worker_connections exceed open file resource limit\")"
		}
		f := pass.ReportArg(n, 0,
			"worker_rlimit_nofile %d is below 2 × worker_connections %s = %d on a proxy: each proxied request holds a client and an upstream "+
				"descriptor plus temp and cache files, so a busy worker hits \"Too many open files\" before worker_connections: accept() fails "+
				"(clients see resets), connect() to the backend fails (502), temp files fail (500)%s; set it to at least %d",
			limit, wcText, 2*wc, extra, 2*wc)
		f.AddRelated(wcNode, "worker_connections per worker")
	}
	return nil
}
