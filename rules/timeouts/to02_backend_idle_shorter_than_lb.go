package timeouts

import (
	"fmt"
	"strings"

	"github.com/ngxkeep/ngxkeep/lint"
	"github.com/ngxkeep/ngxkeep/parser"
)

// TO02 reports nginx servers that close idle client connections before the
// proxy in front of them does.
var TO02 = &lint.Analyzer{
	ID:        "TO02",
	Name:      "backend-idle-shorter-than-lb",
	Severity:  lint.SeverityWarning,
	Scope:     lint.Cross,
	Versioned: true, // frontend pools exist by default from 1.29.7
	Doc: `nginx closes idle client connections before the load balancer or proxy in front of it does.

A load balancer (AWS ALB: 60s, GCP: 600s, HAProxy "timeout http-keep-alive",
...) or a frontend nginx with an upstream pool keeps idle connections to
nginx and reuses them later. nginx closes an idle client connection when its
keepalive_timeout (default 75s) expires; the close is a plain FIN that the
proxy only notices when it next reads the socket. If nginx's timeout is not
longer than the proxy's, the proxy regularly sends a request on a connection
nginx has just closed and gets EOF or a reset: the load balancer answers its
client with a 502 (ALB logs "target closed the connection"), a frontend nginx
retries a GET but returns 502 for a POST.

The rule looks at this nginx's side of the pair: for each server block
behind a declared load balancer (tier "..." { in_front_of = ["this.conf"],
idle_timeout = "60s" } in .ngxkeep.hcl) and each server block a frontend
nginx of the run pools connections to, it takes the shortest non-zero
keepalive_timeout of the server and its locations (the idle timer after a
response is the one of the location that served it) and reports when it is
more than a second shorter than the proxy's idle timeout (TO03 reports
timeouts within a second of each other; TO01 reports the same frontend-pool
race at the frontend's upstream).

Fix: raise keepalive_timeout clearly above the proxy's idle timeout (the
proxy should always be the side that closes idle connections), or lower the
proxy's idle timeout.`,
	Bad: `-- frontend.conf --
events {}
http {
    upstream app {
        server 127.0.0.1:9001;
        keepalive 16;
    }
    server {
        listen 9000;
        location / {
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass http://app;
        }
    }
}
-- backend.conf --
events {}
http {
    keepalive_timeout 15s;
    server {
        listen 9001;
        location / {
            return 200 "ok\n";
        }
    }
}
`,
	Good: `-- frontend.conf --
events {}
http {
    upstream app {
        server 127.0.0.1:9001;
        keepalive 16;
    }
    server {
        listen 9000;
        location / {
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass http://app;
        }
    }
}
-- backend.conf --
events {}
http {
    keepalive_timeout 75s;
    server {
        listen 9001;
        location / {
            return 200 "ok\n";
        }
    }
}
`,
	Run: runTO02,
}

// holder is a proxy that keeps idle connections to a server: a declared
// tier in front, or a frontend nginx's upstream pool.
type holder struct {
	tier *lint.Tier
	pool lint.Pool
	pi   poolIdle
	link *lint.Link
}

func (h holder) idle() poolIdle {
	if h.tier != nil {
		return poolIdle{d: h.tier.IdleTimeout}
	}
	return h.pi
}

func (h holder) String() string {
	if h.tier != nil {
		return fmt.Sprintf("the load balancer %q in front (idle_timeout %s)", h.tier.Name, human(h.tier.IdleTimeout))
	}
	return fmt.Sprintf("upstream %s of %s, which keeps idle connections %s", h.pool.Upstream.Name, instName(h.link.From), h.pi)
}

// idleGroup is the holders that outlast one idle timer.
type idleGroup struct {
	timer   idleTimer
	holders []holder
}

func runTO02(pass *lint.Pass) error {
	if pass.Topology == nil {
		return nil
	}
	for _, in := range pass.Instances {
		var groups []*idleGroup
		byAnchor := map[*parser.Node]*idleGroup{}
		seen := map[[2]any]bool{}
		add := func(t idleTimer, h holder) {
			key := [2]any{t.anchor(), h.tier}
			if h.tier == nil {
				key[1] = h.pool.Upstream
			}
			if seen[key] {
				return
			}
			seen[key] = true
			g := byAnchor[t.anchor()]
			if g == nil {
				g = &idleGroup{timer: t}
				byAnchor[t.anchor()] = g
				groups = append(groups, g)
			}
			if t.d < g.timer.d {
				g.timer = t
			}
			g.holders = append(g.holders, h)
		}
		for tier, t := range frontTimers(pass, in) {
			if tier.IdleTimeout-t.d > raceMargin {
				add(t, holder{tier: tier})
			}
		}
		for _, l := range pass.Topology.LinksTo(in) {
			if l.Upstream == nil {
				continue
			}
			pl, ok := pass.ActivePool(l.Upstream)
			if !ok {
				continue
			}
			pi := poolTimeout(pass, l.Upstream)
			if s := definiteServer(l); s != nil {
				t, ok := serverIdle(pass, s)
				if ok && outlives(pi, closer{kind: closerNginx, d: t.d}) {
					add(t, holder{pool: pl, pi: pi, link: l})
				}
			}
		}
		for _, g := range groups {
			reportTO02(pass, g)
		}
	}
	return nil
}

func reportTO02(pass *lint.Pass, g *idleGroup) {
	t := g.timer
	longest := poolIdle{}
	var names []string
	for _, h := range g.holders {
		names = append(names, h.String())
		if hi := h.idle(); hi.unlimited || (!longest.unlimited && hi.d > longest.d) {
			longest = hi
		}
	}
	subject := describe("keepalive_timeout", t.v)
	if !t.v.explicit() {
		subject = "keepalive_timeout is not set, so nginx uses the default " + human(t.d) + ", and"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s closes idle client connections sooner than %s", subject, strings.Join(names, " and "))
	lb, fe := false, false
	for _, h := range g.holders {
		lb, fe = lb || h.tier != nil, fe || h.tier == nil
	}
	b.WriteString(": the proxy regularly sends a request on a connection nginx has just closed and reads EOF or a reset; ")
	switch {
	case lb && fe:
		b.WriteString("the load balancer answers its client with 502, the frontend nginx retries a GET but answers a POST with 502")
	case lb:
		b.WriteString("the load balancer answers its client with 502")
	default:
		b.WriteString("the frontend nginx retries a GET but answers a POST with 502")
	}
	if longest.unlimited {
		b.WriteString("; give the frontend's pool a keepalive_timeout (1.15.3+) below this server's")
	} else {
		fmt.Fprintf(&b, "; raise keepalive_timeout here above %s (e.g. %s) so that the proxy always closes first, or shorten the proxy's idle timeout",
			human(longest.d), human(safeAbove(longest.d)))
	}
	f := reportAt(pass, t.anchor(), "%s", b.String())
	for _, h := range g.holders {
		if h.tier != nil {
			addTierRelated(f, h.tier, "tier %q keeps idle connections to this nginx for %s", h.tier.Name, human(h.tier.IdleTimeout))
			continue
		}
		f.AddRelated(poolAnchor(pass, h.pool.Upstream), "%supstream %s keeps idle connections to this server %s",
			who(h.link.From, poolAnchor(pass, h.pool.Upstream), ""), h.pool.Upstream.Name, h.pi)
	}
}
