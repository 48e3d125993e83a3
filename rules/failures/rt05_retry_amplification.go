package failures

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ngxkeep/ngxkeep/lint"
	"github.com/ngxkeep/ngxkeep/parser"
)

// RT05 reports retries at two nginx tiers that multiply.
var RT05 = &lint.Analyzer{
	ID:       "RT05",
	Name:     "retry-amplification",
	Severity: lint.SeverityWarning,
	Scope:    lint.Cross,
	Doc: `Both tiers retry: a frontend that retries on 502/504/timeout in front of a backend nginx that retries too multiplies the attempts.

A frontend nginx whose proxy_next_upstream lists http_502, http_504 or
timeout (the default is "error timeout") passes a failed request to its
next server. When that server is itself an nginx that proxies to several
servers without proxy_next_upstream_tries, it also walks through all of
them before answering 502 or 504 (or before the frontend's
proxy_read_timeout expires, which triggers the frontend's own retry while
the backend is still trying). One client request then costs up to N × M
attempts on the app tier, exactly when that tier is failing or slow: retry
storms, queues that never drain, and for the timeout case minutes of work
per client request.

The rule needs the frontend and the backend configs on the same command
line: it follows the frontend's upstream server addresses to the backend's
listen sockets and looks at the backend locations of that server block.

Fix: retry at one tier only. Bound the backend with
proxy_next_upstream_tries (and proxy_next_upstream_timeout), and remove
http_502/http_504 from the frontend, or make the frontend's
proxy_read_timeout longer than the backend's whole retry budget.`,
	Bad: `-- frontend.conf --
events {}
http {
    upstream backends {
        server 127.0.0.1:9001;
        server 127.0.0.1:9002;
    }
    server {
        listen 8080;
        location / {
            proxy_next_upstream error timeout http_502 http_504;
            proxy_pass http://backends;
        }
    }
}
-- backend.conf --
events {}
http {
    upstream app {
        server 127.0.0.1:7001;
        server 127.0.0.1:7002;
        server 127.0.0.1:7003;
    }
    server {
        listen 9001;
        listen 9002;
        location / {
            proxy_pass http://app;
        }
    }
}
`,
	Good: `-- frontend.conf --
events {}
http {
    upstream backends {
        server 127.0.0.1:9001;
        server 127.0.0.1:9002;
    }
    server {
        listen 8080;
        location / {
            proxy_next_upstream error timeout http_502 http_504;
            proxy_pass http://backends;
        }
    }
}
-- backend.conf --
events {}
http {
    upstream app {
        server 127.0.0.1:7001;
        server 127.0.0.1:7002;
        server 127.0.0.1:7003;
    }
    server {
        listen 9001;
        listen 9002;
        location / {
            proxy_next_upstream_tries 1;
            proxy_pass http://app;
        }
    }
}
`,
	Run: runRT05,
}

// tries returns how many servers nginx may try for a request of p
// (ngx_http_upstream_tries capped by *_next_upstream_tries), and whether
// the cap is unset.
func tries(pass *lint.Pass, p *lint.Proxy) (n int, unbounded bool) {
	switch {
	case p.Upstream != nil:
		_, n, _ = p.Upstream.Peers()
	case p.Variable:
		return 0, false
	default:
		n = 1
	}
	limit, _ := strconv.Atoi(effective(pass, p.Node, p.Module.Prefix()+"_next_upstream_tries").first())
	if limit > 0 && limit < n {
		return limit, false
	}
	return n, limit == 0
}

type rt05Key struct {
	at      *parser.Node
	backend *lint.Instance
}

type rt05Hit struct {
	front    *lint.Proxy
	n        int
	triggers []string
	back     *lint.Proxy
	m        int
	link     *lint.Link
}

func runRT05(pass *lint.Pass) error {
	if pass.Topology == nil {
		return nil
	}
	for _, in := range pass.Instances {
		hits := map[rt05Key]*rt05Hit{}
		var order []rt05Key
		for _, l := range pass.Topology.LinksFrom(in) {
			if l.To == nil || l.To == in || l.Server == nil {
				continue
			}
			back, m := worstBackendRetry(pass, l)
			if back == nil {
				continue
			}
			for _, p := range l.Proxies {
				if p.Module != lint.ModuleProxy && p.Module != lint.ModuleGRPC {
					continue
				}
				v := effective(pass, p.Node, p.Module.Prefix()+"_next_upstream")
				nu := nextUpstream(v)
				if nu["off"] {
					continue
				}
				var trig []string
				for _, t := range []string{"http_502", "http_504", "timeout"} {
					if nu[t] {
						trig = append(trig, t)
					}
				}
				if len(trig) == 0 {
					continue
				}
				n, _ := tries(pass, p)
				if n < 2 {
					continue
				}
				at := v.node
				if at == nil {
					at = p.Node
				}
				k := rt05Key{at, l.To}
				h := hits[k]
				if h == nil {
					order = append(order, k)
					hits[k] = &rt05Hit{front: p, n: n, triggers: trig, back: back, m: m, link: l}
				} else if n*m > h.n*h.m {
					*h = rt05Hit{front: p, n: n, triggers: trig, back: back, m: m, link: l}
				}
			}
		}
		for _, k := range order {
			reportRT05(pass, k.at, hits[k])
		}
	}
	return nil
}

// worstBackendRetry returns the proxy of the backend server block behind l
// that retries the most without a tries limit.
func worstBackendRetry(pass *lint.Pass, l *lint.Link) (*lint.Proxy, int) {
	var best *lint.Proxy
	bestM := 1
	for _, p := range l.To.Proxies() {
		if p.Server() != l.Server.Node {
			continue
		}
		if !nextUpstream(effective(pass, p.Node, p.Module.Prefix()+"_next_upstream")).retries() {
			continue
		}
		m, unbounded := tries(pass, p)
		if !unbounded || m < 2 {
			continue
		}
		if m > bestM {
			best, bestM = p, m
		}
	}
	return best, bestM
}

func reportRT05(pass *lint.Pass, at *parser.Node, h *rt05Hit) {
	front, back := h.front, h.back
	frontUp := "its upstream"
	if front.Upstream != nil {
		frontUp = fmt.Sprintf("upstream %q", front.Upstream.Name)
	}
	backUp := "its upstream"
	if back.Upstream != nil {
		backUp = fmt.Sprintf("upstream %q", back.Upstream.Name)
	}
	msg := fmt.Sprintf("this frontend retries on %s across the %d servers of %s, and the backend nginx in %s (%s) behind them "+
		"tries up to %d servers of %s itself (%s_next_upstream_tries unset): a failing request costs up to %d × %d = %d attempts on the app tier",
		strings.Join(h.triggers, ", "), h.n, frontUp, h.link.To.Path, locLabel(back), h.m, backUp,
		back.Module.Prefix(), h.n, h.m, h.n*h.m)
	if contains(h.triggers, "timeout") {
		fr, _ := msec(effective(pass, front.Node, front.Module.Prefix()+"_read_timeout").first())
		br, _ := msec(effective(pass, back.Node, back.Module.Prefix()+"_read_timeout").first())
		if budget := time.Duration(h.m) * br; fr > 0 && br > 0 && fr <= budget {
			msg += fmt.Sprintf("; on a slow app tier the frontend's %s_read_timeout (%s) expires while the backend is still retrying (up to %d × %s), so both tiers retry at once",
				front.Module.Prefix(), lint.FormatDuration(fr), h.m, lint.FormatDuration(br))
		}
	}
	msg += fmt.Sprintf("; retry at one tier only (e.g. %s_next_upstream_tries 1 on the backend)", back.Module.Prefix())
	f := pass.Reportf(at, "%s", msg)
	f.AddRelated(back.Node, "backend location retries across %s", backUp)
	if back.Upstream != nil {
		f.AddRelated(back.Upstream.Node, "backend upstream with %d servers", h.m)
	}
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}
