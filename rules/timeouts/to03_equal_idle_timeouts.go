package timeouts

import (
	"fmt"

	"github.com/ngxkeep/ngxkeep/lint"
	"github.com/ngxkeep/ngxkeep/parser"
)

// TO03 reports idle timeouts of a pool and of what it connects to that are
// equal within a second.
var TO03 = &lint.Analyzer{
	ID:        "TO03",
	Name:      "equal-idle-timeouts",
	Severity:  lint.SeverityWarning,
	Scope:     lint.Cross,
	Versioned: true, // frontend pools exist by default from 1.29.7
	Doc: `A pool's idle timeout equals (within one second) the idle timeout of the server it connects to.

Setting both sides of a keep-alive connection to the same idle timeout looks
safe but is still a race. The two timers are not synchronised: the backend
starts its idle timer when it has finished writing the response, the
frontend when it has finished reading it and put the connection back in its
cache, and nginx's timers fire with millisecond resolution on each side's
own clock. With equal timeouts, roughly whenever a connection sits idle for
about the full timeout, the frontend picks it in the same instant the
backend closes it: nginx then reads EOF or a reset ("upstream prematurely
closed connection"), retries a GET and returns 502 for a POST; a load
balancer returns 502.

The rule compares a frontend's upstream keepalive_timeout (default 60s)
with the backend nginx server block it reaches (shortest non-zero
keepalive_timeout of the server and its locations) or a declared app tier,
and a declared load balancer's idle_timeout with the keepalive_timeout of
the nginx servers behind it. Larger gaps are reported by TO01 (pool longer)
and TO02 (nginx shorter than the load balancer).

Fix: keep the side that reuses connections (frontend pool, load balancer)
clearly shorter than the side that closes them, by several seconds or 20%.`,
	Bad: `-- frontend.conf --
events {}
http {
    upstream app {
        server 127.0.0.1:9001;
        keepalive 16;
        keepalive_timeout 75s;
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
        keepalive_timeout 60s;
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
    server {
        listen 9001;
        location / {
            return 200 "ok\n";
        }
    }
}
`,
	Run: runTO03,
}

func runTO03(pass *lint.Pass) error {
	for _, in := range pass.Instances {
		// The frontend side: an upstream pool and what it reaches.
		for pl, links := range linkedPools(pass, in) {
			u := pl.Upstream
			pi := poolTimeout(pass, u)
			if pi.unlimited {
				continue
			}
			for _, c := range poolClosers(pass, u, links, 0) {
				if tooClose(pi.d, c.d) {
					reportTO03Pool(pass, pl, pi, c)
					break
				}
			}
		}
		// The backend side: a declared load balancer in front.
		seen := map[*parser.Node]bool{}
		for tier, t := range frontTimers(pass, in) {
			if !tooClose(tier.IdleTimeout, t.d) || seen[t.anchor()] {
				continue
			}
			seen[t.anchor()] = true
			what := describe("keepalive_timeout", t.v)
			f := reportAt(pass, t.anchor(), "%s closes idle client connections at the same time as the load balancer %q in front gives up on them "+
				"(idle_timeout %s): the timers are not synchronised, so the load balancer sometimes reuses a connection nginx has just closed "+
				"and answers its client with 502; raise keepalive_timeout here to %s or more",
				what, tier.Name, human(tier.IdleTimeout), human(safeAbove(tier.IdleTimeout)))
			addTierRelated(f, tier, "tier %q keeps idle connections for %s", tier.Name, human(tier.IdleTimeout))
		}
	}
	return nil
}

func reportTO03Pool(pass *lint.Pass, pl lint.Pool, pi poolIdle, c closer) {
	eq := "the same as"
	switch {
	case pi.d < c.d:
		eq = fmt.Sprintf("only %s less than", human(c.d-pi.d))
	case pi.d > c.d:
		eq = fmt.Sprintf("%s more than", human(pi.d-c.d))
	}
	f := reportAt(pass, poolAnchor(pass, pl.Upstream), "upstream %s keeps idle connections %s, %s the backend's idle timeout: %s; "+
		"the two timers start at different moments (the backend's when it finished writing the response, nginx's when it finished reading it), "+
		"so a connection idle for about that long is sometimes reused just as the backend closes it: EOF or a reset, a GET retried, "+
		"a POST answered with 502; set \"keepalive_timeout %s;\" in upstream %s",
		pl.Upstream.Name, pi, eq, c.what(pass), human(safeTimeout(c.d)), pl.Upstream.Name)
	if poolAnchor(pass, pl.Upstream) != poolNode(pl) {
		f.AddRelated(poolNode(pl), "%s", poolDesc(pl))
	}
	c.relate(f)
}
