package timeouts

import (
	"fmt"
	"time"

	"github.com/ngxkeep/ngxkeep/lint"
	"github.com/ngxkeep/ngxkeep/parser"
)

// TO09 reports upstream pools whose connection lifetime limits exceed the
// backend's.
var TO09 = &lint.Analyzer{
	ID:        "TO09",
	Name:      "upstream-keepalive-time-vs-backend",
	Severity:  lint.SeverityInfo,
	Scope:     lint.Cross,
	Versioned: true, // keepalive_time exists from 1.19.10, keepalive_requests defaults changed
	Doc: `An upstream pool's keepalive_time or keepalive_requests is larger than the backend's.

A frontend's upstream keepalive_time (default 1h, 1.19.10+) and
keepalive_requests (default 1000, 1.15.3+; 100 before 1.19.10) bound how
long and for how many requests a cached connection is reused; both are
checked when the connection is released (ngx_http_upstream_free_keepalive_peer).
The backend nginx has its own client-side keepalive_time and
keepalive_requests, checked when a request starts
(ngx_http_update_location_config). When the backend's limit is lower, it is
the one that applies: the backend answers the last request with
"Connection: close" and closes, and the frontend discards the connection.
This close is graceful (no request is lost), but the frontend's larger
setting never takes effect and the pool reconnects at the backend's pace.
A declared app tier's max_requests is compared the same way.

The finding is informational: it explains why pooled connections are
replaced more often than the frontend's settings suggest.

Fix: align the two sides (backend limit ≥ frontend limit), or lower the
frontend's setting to the backend's to make the real behaviour visible.`,
	Bad: `-- frontend.conf --
events {}
http {
    upstream app {
        server 127.0.0.1:9001;
        keepalive 16;
        keepalive_requests 10000;
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
        keepalive_requests 10000;
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
    keepalive_requests 10000;
    server {
        listen 9001;
        location / {
            return 200 "ok\n";
        }
    }
}
`,
	Run: runTO09,
}

// limit is a backend's lowest keepalive_time or keepalive_requests.
type limit struct {
	n     int64 // requests, or milliseconds for keepalive_time
	v     value
	level *parser.Node
	in    *lint.Instance
	tier  *lint.Tier
}

func runTO09(pass *lint.Pass) error {
	if pass.Topology == nil {
		return nil
	}
	for _, in := range pass.Instances {
		for pl, links := range linkedPools(pass, in) {
			if pass.Target.AtLeast(v1_19_10) {
				checkTO09(pass, pl, links, "keepalive_time")
			}
			if pass.Target.AtLeast(v1_15_3) {
				checkTO09(pass, pl, links, "keepalive_requests")
			}
		}
	}
	return nil
}

// parseLimit reads a keepalive_time (as milliseconds) or keepalive_requests value.
func parseLimit(name, s string) (int64, bool) {
	if name == "keepalive_time" {
		d, ok := msec(s)
		return int64(d / time.Millisecond), ok
	}
	return count(s)
}

func formatLimit(name string, n int64) string {
	if name == "keepalive_time" {
		return human(time.Duration(n) * time.Millisecond)
	}
	return fmt.Sprint(n)
}

func checkTO09(pass *lint.Pass, pl lint.Pool, links []*lint.Link, name string) {
	fv := effective(pass, pl.Upstream.Node, name)
	fn, ok := parseLimit(name, fv.first())
	if !ok || fn == 0 {
		return
	}
	var low *limit
	consider := func(l limit) {
		// 0 or 1 request, or a zero keepalive_time, means keep-alive is
		// off there: TO05 and CL05 report that.
		if l.n == 0 || (name == "keepalive_requests" && l.n == 1) || l.n >= fn {
			return
		}
		if low == nil || l.n < low.n {
			c := l
			low = &c
		}
	}
	for _, l := range links {
		if name == "keepalive_requests" && l.Tier != nil && l.Tier.MaxRequests > 0 {
			consider(limit{n: int64(l.Tier.MaxRequests), tier: l.Tier})
		}
		for _, s := range linkServers(l) {
			levels := append([]*parser.Node{s.Node}, s.Locations...)
			for _, lv := range levels {
				v := effective(pass, lv, name)
				if n, ok := parseLimit(name, v.first()); ok {
					consider(limit{n: n, v: v, level: lv, in: l.To})
				}
			}
		}
	}
	if low == nil {
		return
	}
	var backend string
	if low.tier != nil {
		backend = fmt.Sprintf("the app tier %q closes connections after %d requests (max_requests)", low.tier.Name, low.n)
	} else {
		scope := "its server at " + where(pass, low.level)
		if low.level.Name == "location" {
			scope = "location " + lint.ArgsText(low.level) + " at " + where(pass, low.level)
		}
		backend = fmt.Sprintf("the backend %s applies %s in %s", instName(low.in), describe(name, low.v), scope)
	}
	effect := " and ends every connection after that many requests"
	switch {
	case low.tier != nil:
		effect = ""
	case name == "keepalive_time":
		effect = " and answers the first request after a connection is that old with \"Connection: close\""
	}
	msg := fmt.Sprintf("upstream %s reuses a connection up to %s, but %s%s: the backend's limit applies, "+
		"the pool replaces its connections at the backend's pace (gracefully, no request is lost) and the frontend's setting never takes effect; "+
		"align the two (backend ≥ frontend)",
		pl.Upstream.Name, describeLimit(name, fv, fn), backend, effect)
	anchor := fv.node
	if anchor == nil {
		anchor = poolNode(pl)
	}
	f := reportAt(pass, anchor, "%s", msg)
	switch {
	case low.tier != nil:
		addTierRelated(f, low.tier, "tier %q: max_requests %d", low.tier.Name, low.n)
	case low.v.node != nil:
		f.AddRelated(low.v.node, "%s%s %s", who(low.in, low.v.node, "backend"), name, low.v.first())
	}
}

func describeLimit(name string, v value, n int64) string {
	what := formatLimit(name, n)
	if name == "keepalive_requests" {
		what += " requests"
	} else {
		what = "an age of " + what
	}
	if v.explicit() {
		return what + " (" + name + " " + v.first() + ")"
	}
	return what + " (" + name + " default)"
}
