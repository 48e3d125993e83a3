package topology

import (
	"strconv"

	"github.com/ngxkeep/ngxkeep/lint"
)

// TP06 reports max_conns that several workers and a keep-alive cache
// silently exceed.
var TP06 = &lint.Analyzer{
	ID:        "TP06",
	Name:      "max-conns-with-pool",
	Severity:  lint.SeverityWarning,
	Scope:     lint.Single,
	Versioned: true, // which upstreams are pooled depends on the target
	Doc: `server ... max_conns= with a keep-alive pool, several workers and no zone: the backend sees far more than max_conns connections.

max_conns limits the active connections to a server as counted in the
peer's state (peer->conns). Without a zone directive that state lives in
each worker process, so every worker allows max_conns on its own: W workers
allow W × max_conns. And a connection put back into the keep-alive cache is
released from peer->conns before it is cached
(ngx_http_upstream_free_keepalive_peer calls the balancer's free function),
so idle cached connections are not counted at all: each worker may also
hold up to keepalive idle connections to the server. The backend can
therefore see up to W × (max_conns + keepalive) connections, while the
config reads as a hard cap of max_conns; a backend sized for that cap runs
out of threads, workers or its own connection limit.

Fix: add "zone NAME 64k;" to the upstream so that max_conns is counted
across workers, and size the backend for max_conns plus
keepalive × worker_processes idle connections (or lower keepalive).`,
	Bad: `worker_processes 4;
events {}
http {
    upstream app {
        server 127.0.0.1:8081 max_conns=100;
        keepalive 32;
    }
    server {
        listen 8080;
        location / {
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass http://app;
        }
    }
}
`,
	Good: `worker_processes 4;
events {}
http {
    upstream app {
        zone app 64k;
        server 127.0.0.1:8081 max_conns=100;
        keepalive 32;
    }
    server {
        listen 8080;
        location / {
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass http://app;
        }
    }
}
`,
	Options: []lint.Option{
		assumedCPUsOption,
	},
	Run: runTP06,
}

func runTP06(pass *lint.Pass) error {
	cpus := assumedCPUs(pass)
	for _, in := range pass.Instances {
		var w *workers
		for _, u := range in.Upstreams() {
			if u.Zone != nil {
				continue
			}
			var pl lint.Pool
			havePool := false
			for _, s := range u.Servers {
				mc, err := strconv.Atoi(s.Params["max_conns"])
				if err != nil || mc <= 0 {
					continue
				}
				if !havePool {
					var ok bool
					if pl, ok = pass.ActivePool(u); !ok {
						break
					}
					havePool = true
				}
				if w == nil {
					ww := workerProcesses(in, cpus)
					w = &ww
				}
				if w.n < 2 {
					break
				}
				ka := "keepalive " + strconv.Itoa(pl.Size)
				if pl.Implicit() {
					ka += " (the 1.29.7+ default)"
				}
				f := pass.ReportArg(s.Node, paramIndex(s.Node, "max_conns"),
					"max_conns=%d is counted per worker without a zone, and connections idle in the keep-alive cache are not counted at all: "+
						"with %s and %s, %s can see up to %d × (%d + %d) = %d connections; add a zone to upstream %q "+
						"and size the backend for max_conns plus the idle pool",
					mc, w.label(), ka, lint.ArgValue(s.Node, 0), w.n, mc, pl.Size, w.n*(mc+pl.Size), u.Name)
				f.AddRelated(w.node, "worker processes")
				if u.Keepalive != nil {
					f.AddRelated(u.Keepalive, "per-worker idle cache")
				}
			}
		}
	}
	return nil
}
