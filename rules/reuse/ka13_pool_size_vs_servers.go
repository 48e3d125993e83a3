package reuse

import (
	"strconv"

	"github.com/ngxkeep/ngxkeep/lint"
	"github.com/ngxkeep/ngxkeep/parser"
)

// KA13 reports keep-alive caches smaller than the upstream's server
// rotation, and caches whose idle connections can fill a linked backend.
var KA13 = &lint.Analyzer{
	ID:        "KA13",
	Name:      "pool-size-vs-servers",
	Severity:  lint.SeverityWarning,
	Scope:     lint.Both,
	Versioned: true,
	Doc: `keepalive N is smaller than the number of servers, or N x worker_processes idle connections can fill the backend.

The cache is per upstream block and per worker, holds the N most recently
released connections of all its servers, and evicts the least recently
released one when full (ngx_http_upstream_free_keepalive_peer). With fewer
slots than servers in rotation, round robin comes back to a server only
after its connection was evicted: with keepalive 1 and two servers nothing
is ever reused (nginx-tests memcached_keepalive.t; verified with nginx
1.22.1: ten requests, ten connections, while "keepalive 2" used two), and in
general little is. nginx's advice is about twice the number of servers. Backup and down
servers are not counted; a server name that resolves to several addresses
counts once, so the real rotation may be larger. From 1.29.7 an upstream
without keepalive has 32 slots, which thrash above 32 servers.

Cross-config: the cache limits idle connections only, per worker, so a
frontend keeps up to N x worker_processes idle connections open to the
backends of one upstream block, and each occupies a worker_connections slot
there. When that exceeds 15/16 of a linked backend nginx's capacity
(worker_processes x worker_connections) the backend runs short of
connections, logs "worker_connections are not enough, reusing connections"
and closes idle keep-alive connections, which the frontend meets as stale
connections (502 for POST). worker_processes auto on the frontend counts
as 1 (a lower bound); a backend with auto is not judged. TP03 adds up all
frontends and peak traffic; this rule looks at one cache.`,
	Bad: `events {}
http {
    upstream app {
        server 127.0.0.1:8081;
        server 127.0.0.1:8082;
        server 127.0.0.1:8083;
        keepalive 2;
    }
}
`,
	Good: `events {}
http {
    upstream app {
        server 127.0.0.1:8081;
        server 127.0.0.1:8082;
        server 127.0.0.1:8083;
        keepalive 8;
    }
}
`,
	Run: runKA13,
}

func runKA13(pass *lint.Pass) error {
	for _, in := range pass.Instances {
		for _, u := range in.Upstreams() {
			c, ok := declared(pass, u)
			if !ok {
				continue
			}
			at, arg := u.Node, 0
			if c.Node != nil {
				at = c.Node
			}
			if n := countRotation(u); c.Size < n {
				f := pass.ReportArg(at, arg,
					"the cache (%s) has fewer slots than upstream %q has servers in rotation (%s): it keeps only "+
						"the %s of all servers, so round robin returns to a server after "+
						"its connection was evicted and little or nothing is reused. Use keepalive %d (about twice the "+
						"servers)",
					c.Describe(), u.Name, plural(n, "server", "servers"),
					plural(c.Size, "most recently released connection", "most recently released connections"), 2*n)
				for i, s := range u.Servers {
					if i == 3 {
						break
					}
					f.AddRelated(s.Node, "server in rotation")
				}
			}
			crossKA13(pass, in, u, c, at)
		}
	}
	return nil
}

// crossKA13 compares the idle connections the cache of u can hold with
// the capacity of each linked backend instance.
func crossKA13(pass *lint.Pass, in *lint.Instance, u *lint.Upstream, c lint.Pool, at *parser.Node) {
	if pass.Topology == nil {
		return
	}
	feWorkers, feNode, feAuto := workerProcesses(in)
	done := map[*lint.Instance]bool{}
	for _, l := range pass.Topology.LinksFrom(in) {
		if l.Upstream != u || l.To == nil || l.To == in || done[l.To] {
			continue
		}
		done[l.To] = true
		beWorkers, beNode, beAuto := workerProcesses(l.To)
		if beAuto {
			continue
		}
		beConns, connNode := workerConnections(l.To)
		idle := c.Size * feWorkers
		capacity := beWorkers * beConns
		if idle*16 <= capacity*15 {
			continue
		}
		atLeast := ""
		if feAuto {
			atLeast = "at least "
		}
		f := pass.ReportArg(at, 0,
			"the cache (%s) can keep %s%d idle connections open to %s (%d per worker x %s%s), but that "+
				"backend has %d connection slots in all (%s x worker_connections %d): idle pooled "+
				"connections alone can use them up, so the backend runs short (\"worker_connections are not "+
				"enough\"), closes idle keep-alive connections, and this frontend meets them as stale connections "+
				"(502 for POST). Lower keepalive or raise the backend's worker_connections",
			c.Describe(), atLeast, idle, l.To.Path, c.Size, atLeast, plural(feWorkers, "worker", "workers"),
			capacity, plural(beWorkers, "worker", "workers"), beConns)
		if feNode != nil {
			f.AddRelated(feNode, "frontend worker processes")
		}
		if beNode != nil {
			f.AddRelated(beNode, "backend worker processes")
		}
		if connNode != nil {
			f.AddRelated(connNode, "backend connection slots per worker")
		}
		if l.Listen != nil && l.Listen.Node != nil {
			f.AddRelated(l.Listen.Node, "the backend socket upstream %q reaches", u.Name)
		}
	}
}

// workerProcesses returns an instance's worker_processes (1 by default or
// for auto, with auto reported) and its directive.
func workerProcesses(in *lint.Instance) (int, *parser.Node, bool) {
	for _, n := range in.NodesIn("worker_processes", parser.CtxMain) {
		v := lint.ArgValue(n, 0)
		if v == "auto" {
			return 1, n, true
		}
		if w, err := strconv.Atoi(v); err == nil && w > 0 {
			return w, n, false
		}
	}
	return 1, nil, false
}

// workerConnections returns an instance's worker_connections (512 by
// default) and its directive.
func workerConnections(in *lint.Instance) (int, *parser.Node) {
	for _, n := range in.NodesIn("worker_connections", parser.CtxEvents) {
		if w, err := strconv.Atoi(lint.ArgValue(n, 0)); err == nil && w > 0 {
			return w, n
		}
	}
	return 512, nil
}
