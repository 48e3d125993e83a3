package topology

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/ngxkeep/ngxkeep/lint"
	"github.com/ngxkeep/ngxkeep/parser"
)

// TP03 compares what the frontends' pools can hold open on a backend with
// the backend's connection slots.
var TP03 = &lint.Analyzer{
	ID:        "TP03",
	Name:      "pool-capacity-vs-backend-workers",
	Severity:  lint.SeverityWarning,
	Scope:     lint.Cross,
	Versioned: true, // which upstreams are pooled depends on the target
	Doc: `The frontends' keep-alive pools (plus their peak active connections) can hold more connections on a backend nginx than it has slots.

keepalive N caches up to N idle connections per upstream block in every
frontend worker process, so a frontend with W workers may keep W × N idle
connections open to its backends for as long as the pool's idle timeout,
on top of the connections carrying requests. On the backend every one of
them, idle or not, takes one of worker_connections in the worker that
accepted it. When the sum over all frontends exceeds the backend's
worker_processes × worker_connections:

  * the backend runs short of free slots; below 1/16 free it closes its
    oldest idle keep-alive connections ("worker_connections are not enough,
    reusing connections", 1.19.2+), which are exactly the frontends' pooled
    connections: the frontends then reuse connections the backend has
    closed, and POSTs on them fail with 502;
  * when no slot is left it stops accepting, and the frontends time out
    connecting or get errors.

Connections are also not spread evenly over the backend's workers (the
busiest worker often accepts most of them), so the margin should be large.

The rule counts, for every backend config given, each frontend config that
links to it: its worker_processes (auto counts as the assumed_cpus option)
times the cache sizes of its pooled upstreams that point at the backend,
plus the peak active connections per frontend worker: the upstream servers'
max_conns when set, else the peak_active option (0: count idle connections
only).

Fix: lower keepalive (it only needs to cover the busy-period concurrency
per worker), raise the backend's worker_connections (and
worker_rlimit_nofile), or add backend capacity.`,
	Bad: `-- frontend.conf --
worker_processes 8;
events {}
http {
    upstream backend {
        server 127.0.0.1:9001;
        keepalive 512;
    }
    server {
        listen 8080;
        location / {
            proxy_pass http://backend;
        }
    }
}
-- backend.conf --
worker_processes 2;
events {
    worker_connections 1024;
}
http {
    server {
        listen 127.0.0.1:9001;
        location / {
            return 200 "ok\n";
        }
    }
}
`,
	Good: `-- frontend.conf --
worker_processes 8;
events {}
http {
    upstream backend {
        server 127.0.0.1:9001;
        keepalive 32;
    }
    server {
        listen 8080;
        location / {
            proxy_pass http://backend;
        }
    }
}
-- backend.conf --
worker_processes 2;
events {
    worker_connections 1024;
}
http {
    server {
        listen 127.0.0.1:9001;
        location / {
            return 200 "ok\n";
        }
    }
}
`,
	Options: []lint.Option{
		assumedCPUsOption,
		{Name: "peak_active", Doc: "peak active upstream connections per frontend worker to one backend, when the upstream servers set no max_conns (0: count idle pooled connections only)", Kind: lint.OptionInt, Default: "0"},
	},
	Run: runTP03,
}

// frontDemand is what one frontend can hold open on one backend.
type frontDemand struct {
	in      *lint.Instance
	w       workers
	idle    int // per worker: sum of cache sizes
	active  int // per worker
	shared  int // max_conns of upstreams with a zone: for all workers together
	actFrom string
	ups     []*lint.Upstream
}

func (d *frontDemand) total() int { return d.w.n*(d.idle+d.active) + d.shared }

func runTP03(pass *lint.Pass) error {
	if pass.Topology == nil {
		return nil
	}
	cpus := assumedCPUs(pass)
	peak := pass.OptionInt("peak_active")
	for _, back := range pass.Instances {
		links := pass.Topology.LinksTo(back)
		if len(links) == 0 {
			continue
		}
		demands := map[*lint.Instance]*frontDemand{}
		var order []*lint.Instance
		var firstListen *parser.Node
		seenUp := map[*lint.Upstream]bool{}
		for _, l := range links {
			if l.From == back || l.Upstream == nil || seenUp[l.Upstream] {
				continue
			}
			pl, ok := pass.ActivePool(l.Upstream)
			if !ok {
				continue
			}
			seenUp[l.Upstream] = true
			d := demands[l.From]
			if d == nil {
				d = &frontDemand{in: l.From, w: workerProcesses(l.From, cpus)}
				demands[l.From] = d
				order = append(order, l.From)
			}
			d.idle += pl.Size
			d.ups = append(d.ups, l.Upstream)
			if firstListen == nil && l.Listen != nil {
				firstListen = l.Listen.Node
			}
			if firstListen == nil && l.Server != nil {
				firstListen = l.Server.Node // a server without listen: *:80
			}
		}
		if len(order) == 0 {
			continue
		}
		total := 0
		for _, in := range order {
			d := demands[in]
			// Peak active: max_conns of the servers that point at this
			// backend (per worker without a zone), else the option.
			mc, shared := 0, 0
			for _, u := range d.ups {
				for _, s := range u.Servers {
					for _, l := range pass.Topology.LinksFrom(in) {
						if l.UpstreamServer == s && l.To == back {
							if v, err := strconv.Atoi(s.Params["max_conns"]); err == nil && v > 0 {
								if u.Zone != nil {
									shared += v // one limit shared by all workers
								} else {
									mc += v // each worker counts on its own
								}
							}
							break
						}
					}
				}
			}
			switch {
			case mc > 0 || shared > 0:
				d.active, d.shared, d.actFrom = mc, shared, "max_conns"
			case peak > 0:
				d.active, d.actFrom = peak, "option peak_active"
			}
			total += d.total()
		}
		bw := workerProcesses(back, cpus)
		wc, wcNode := workerConnections(back)
		capacity := bw.n * wc
		if total <= capacity {
			continue
		}
		reportTP03(pass, back, order, demands, total, bw, wc, wcNode, firstListen, capacity)
	}
	return nil
}

func reportTP03(pass *lint.Pass, back *lint.Instance, order []*lint.Instance, demands map[*lint.Instance]*frontDemand,
	total int, bw workers, wc int, wcNode, listen *parser.Node, capacity int) {
	var terms []string
	for _, in := range order {
		d := demands[in]
		var names []string
		for _, u := range d.ups {
			names = append(names, strconv.Quote(u.Name))
		}
		sort.Strings(names)
		t := fmt.Sprintf("%s: %s × (%d idle", in.Path, d.w.label(), d.idle)
		if d.active > 0 {
			t += fmt.Sprintf(" + %d active from %s", d.active, d.actFrom)
		}
		t += ")"
		if d.shared > 0 {
			t += fmt.Sprintf(" + %d active (max_conns with zone)", d.shared)
		}
		t += fmt.Sprintf(" = %d via %s", d.total(), strings.Join(names, ", "))
		terms = append(terms, t)
	}
	kind := "idle pooled connections alone"
	for _, in := range order {
		if demands[in].active > 0 || demands[in].shared > 0 {
			kind = "idle pooled plus peak active connections"
			break
		}
	}
	wcText := strconv.Itoa(wc)
	if wcNode == nil {
		wcText += " (default)"
	}
	at := wcNode
	if at == nil {
		at = listen
	}
	if at == nil {
		return
	}
	// ngx_drain_connections reclaims idle connections once fewer than
	// 1/16 are free since 1.19.2, only when none is free before.
	when := "below 1/16 free slots"
	if pass.Target.Before(parser.Version{Major: 1, Minor: 19, Patch: 2}) {
		when = "with no free slot"
	}
	f := pass.Reportf(at,
		"the frontends can hold %d connections open on this backend (%s; %s), more than its %s × %s worker_connections = %d slots: "+
			"%s the backend closes its oldest idle keep-alive connections (the frontends' pooled ones, which they then reuse stale: 502 for POST), "+
			"and with no slot left it stops accepting; lower keepalive or raise worker_connections",
		total, kind, strings.Join(terms, "; "), bw.label(), wcText, capacity, when)
	for _, in := range order {
		for _, u := range demands[in].ups {
			if u.Keepalive != nil {
				f.AddRelated(u.Keepalive, "pool of upstream %s (per worker)", u.Name)
			} else {
				f.AddRelated(u.Node, "upstream %s: keepalive 32 per worker by default since 1.29.7", u.Name)
			}
		}
		f.AddRelated(demands[in].w.node, "frontend worker processes")
	}
}
