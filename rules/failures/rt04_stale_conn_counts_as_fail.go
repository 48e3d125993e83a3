package failures

import (
	"fmt"
	"strconv"
	"time"

	"github.com/ngxkeep/ngxkeep/lint"
	"github.com/ngxkeep/ngxkeep/parser"
)

// RT04 reports multi-server pooled upstreams where a stale pooled
// connection can eject a healthy server.
var RT04 = &lint.Analyzer{
	ID:        "RT04",
	Name:      "stale-conn-counts-as-fail",
	Severity:  lint.SeverityWarning,
	Scope:     lint.Both,
	Versioned: true, // which upstreams are pooled depends on the target
	Doc: `A stale pooled connection counts as a server failure: with max_fails=1 one idle-timeout race takes a healthy server out of rotation.

When the upstream's keepalive_timeout (default 60s) is not shorter than the
backend's idle timeout, nginx regularly reuses a cached connection that the
backend has just closed. The attempt fails with "upstream prematurely
closed connection" and ngx_http_upstream_next releases the peer with
NGX_PEER_FAILED. In an upstream with more than one address the round-robin
free function counts it (peer->fails++), exactly like a dead server; with
max_fails=1, the default, the server is marked unavailable for
fail_timeout (default 10s, "upstream server temporarily disabled" in the
error log). Its traffic shifts to the other servers, which then see the
same race; when every server is marked, requests get 502 with "no live
upstreams". Upstreams with a single address never count failures
(peers->single), so they are not affected.

The backend's idle timeout is taken from the backend nginx config linked to
the server address when one is given, from a declared app tier, or else
from the backend_idle_timeout option (default 75s, nginx's own
keepalive_timeout default).

Fix: make the pool give up idle connections first (upstream
keepalive_timeout a few seconds below the backend's idle timeout), and do
not let one failed connection eject a server (max_fails=3 or more, or
max_fails=0 when an external health check exists).`,
	Bad: `events {}
http {
    upstream app {
        server 127.0.0.1:8081;
        server 127.0.0.1:8082;
        keepalive 16;
        keepalive_timeout 120s;
    }
    server {
        listen 8080;
        location / {
            proxy_pass http://app;
        }
    }
}
`,
	Good: `events {}
http {
    upstream app {
        server 127.0.0.1:8081 max_fails=3;
        server 127.0.0.1:8082 max_fails=3;
        keepalive 16;
        keepalive_timeout 50s;
    }
    server {
        listen 8080;
        location / {
            proxy_pass http://app;
        }
    }
}
`,
	Options: []lint.Option{{
		Name:    "backend_idle_timeout",
		Doc:     "idle timeout assumed for a backend that is neither a linked nginx config nor a declared tier",
		Kind:    lint.OptionDuration,
		Default: "75s",
	}},
	Run: runRT04,
}

// idleSource is the backend idle timeout for one upstream server address
// and where it comes from.
type idleSource struct {
	d       time.Duration
	node    *parser.Node // backend directive, nil for a default or an assumption
	what    string       // "backend.conf keepalive_timeout", "tier \"node\"", "assumed"
	refuses bool         // the backend disables keep-alive: no race to speak of
}

// backendIdle returns how long the backend behind us keeps an idle client
// connection (ngx_http_set_keepalive on the backend side).
func backendIdle(pass *lint.Pass, in *lint.Instance, us *lint.UpstreamServer, assumed time.Duration) idleSource {
	if pass.Topology != nil {
		for _, l := range pass.Topology.LinksFrom(in) {
			if l.UpstreamServer != us {
				continue
			}
			if l.Tier != nil && l.Tier.IdleTimeout > 0 {
				return idleSource{d: l.Tier.IdleTimeout, what: fmt.Sprintf("declared tier %q", l.Tier.Name)}
			}
			if l.To != nil && l.Server != nil {
				v := effective(pass, l.Server.Node, "keepalive_timeout")
				d, ok := msec(v.first())
				if !ok {
					continue
				}
				src := idleSource{d: d, node: v.node, refuses: d == 0}
				if v.node != nil {
					src.what = fmt.Sprintf("keepalive_timeout of the backend server in %s", l.To.Path)
				} else {
					src.what = fmt.Sprintf("default keepalive_timeout of the backend server in %s", l.To.Path)
				}
				return src
			}
		}
	}
	return idleSource{d: assumed, what: "assumed backend idle timeout (option backend_idle_timeout)"}
}

// noIdleLimit stands for the missing idle timeout of cached connections
// before 1.15.3.
const noIdleLimit = time.Duration(1<<63 - 1)

// poolIdle returns the upstream's keepalive_timeout and its directive.
func poolIdle(target parser.Version, u *lint.Upstream) (time.Duration, *parser.Node) {
	n := u.Child("keepalive_timeout")
	if n == nil {
		if target.Before(parser.V1_15_3) {
			return noIdleLimit, nil
		}
		return 60 * time.Second, nil
	}
	d, ok := msec(lint.ArgValue(n, 0))
	if !ok {
		return 60 * time.Second, nil
	}
	return d, n
}

func runRT04(pass *lint.Pass) error {
	assumed := pass.OptionDuration("backend_idle_timeout")
	for _, in := range pass.Instances {
		for _, u := range in.Upstreams() {
			n, _, _ := u.Peers()
			if n < 2 {
				continue
			}
			used := false
			for _, p := range u.Users {
				if _, ok := pass.PoolOf(p); ok {
					used = true
					break
				}
			}
			if !used {
				continue
			}
			idle, idleNode := poolIdle(pass.Target, u)
			for _, s := range u.Servers {
				maxFails := 1
				if v, ok := s.Params["max_fails"]; ok {
					if x, err := strconv.Atoi(v); err == nil {
						maxFails = x
					}
				}
				if maxFails != 1 {
					continue
				}
				b := backendIdle(pass, in, s, assumed)
				if b.refuses || b.d > idle {
					continue
				}
				reportRT04(pass, u, s, n, idle, idleNode, b)
			}
		}
	}
	return nil
}

func reportRT04(pass *lint.Pass, u *lint.Upstream, s *lint.UpstreamServer, n int, idle time.Duration, idleNode *parser.Node, b idleSource) {
	failTimeout := "10s"
	if v, ok := s.Params["fail_timeout"]; ok {
		failTimeout = v
	}
	mf := "max_fails=1 (the default)"
	if _, ok := s.Params["max_fails"]; ok {
		mf = "max_fails=1"
	}
	cmp := "outlives"
	if b.d == idle {
		cmp = "equals"
	}
	idleText := lint.FormatDuration(idle) + " (keepalive_timeout)"
	switch {
	case idle == noIdleLimit:
		idleText = "forever (no upstream keepalive_timeout before 1.15.3)"
		cmp = "outlives"
	case idleNode == nil:
		idleText = lint.FormatDuration(idle) + " (default keepalive_timeout)"
	}
	addr := lint.ArgValue(s.Node, 0)
	f := pass.Reportf(s.Node,
		"upstream %q keeps idle connections %s, which %s the %s of %s; nginx will reuse connections %s has already closed, "+
			"and with %s one such stale connection marks %s unavailable for fail_timeout=%s (\"upstream server temporarily disabled\"): "+
			"its traffic moves to the other %d servers, and 502 \"no live upstreams\" follows when all are marked; "+
			"set keepalive_timeout below %s and max_fails=3 or more",
		u.Name, idleText, cmp, b.what, lint.FormatDuration(b.d), addr, mf, addr, failTimeout, n-1, lint.FormatDuration(b.d))
	if idleNode != nil {
		f.AddRelated(idleNode, "pool idle timeout of upstream %s", u.Name)
	} else if u.Keepalive != nil {
		f.AddRelated(u.Keepalive, "keep-alive cache of upstream %s (idle timeout 60s by default)", u.Name)
	}
	if b.node != nil {
		f.AddRelated(b.node, "backend idle timeout %s", lint.FormatDuration(b.d))
	}
}
