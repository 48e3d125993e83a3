package timeouts

import (
	"fmt"
	"time"

	"github.com/ngxkeep/ngxkeep/lint"
	"github.com/ngxkeep/ngxkeep/parser"
)

// AH02 reports keepalive_timeout values that keepalive_time makes moot.
var AH02 = &lint.Analyzer{
	ID:         "AH02",
	Name:       "keepalive-timeout-beyond-keepalive-time",
	Severity:   lint.SeverityWarning,
	Scope:      lint.Single,
	MinVersion: parser.V1_19_10,
	Doc: `The effective keepalive_timeout (client or upstream) is longer than the effective keepalive_time.

keepalive_time (default 1h, 1.19.10+) caps how long a keep-alive connection
is used. On the client side ngx_http_update_location_config checks it when a
request starts: the first request on a connection older than keepalive_time
is served with "Connection: close". On the upstream side
ngx_http_upstream_free_keepalive_peer checks it when a connection is
released: an older connection is closed instead of being cached.

A keepalive_timeout longer than keepalive_time therefore never governs how
long a connection is used: an idle period beyond keepalive_time only keeps a
socket (and, on the client side, a worker_connections slot) open for one
last request, after which the connection closes anyway. Settings like
"keepalive_timeout 86400s" with the default keepalive_time look like
"connections live for a day" but connections end after an hour of use.

The rule compares the two at every level where either is set (http, server,
location, upstream) and reports the directive whose value is out of line.

Fix: lower keepalive_timeout to at most keepalive_time, or raise
keepalive_time deliberately if long-lived connections are really wanted
(and then see AH01 for the closes that still happen).`,
	Bad: `events {}
http {
    keepalive_timeout 2h;
    server {
        listen 8080;
        location / {
            return 200 "ok\n";
        }
    }
}
`,
	Good: `events {}
http {
    keepalive_timeout 2h;
    keepalive_time 4h;
    server {
        listen 8080;
        location / {
            return 200 "ok\n";
        }
    }
}
`,
	Run: runAH02,
}

func runAH02(pass *lint.Pass) error {
	for _, in := range pass.Instances {
		// Client side: every level where either directive is set.
		seen := map[[2]*parser.Node]bool{}
		var levels []*parser.Node
		for _, name := range []string{"keepalive_timeout", "keepalive_time"} {
			for _, n := range in.NodesIn(name, clientCtx) {
				levels = append(levels, n.Parent)
			}
		}
		for _, lv := range levels {
			to := effective(pass, lv, "keepalive_timeout")
			ti := effective(pass, lv, "keepalive_time")
			if !to.explicit() && !ti.explicit() {
				continue
			}
			key := [2]*parser.Node{to.node, ti.node}
			if seen[key] || (lv.Name == "http" && !inherited(pass, in, key)) {
				continue
			}
			dto, ok1 := msec(to.first())
			dti, ok2 := msec(ti.first())
			if !ok1 || !ok2 || dto == 0 || dti == 0 || dto <= dti {
				continue
			}
			seen[key] = true
			reportAH02(pass, "", to, ti, dto, dti)
		}
		// Upstream side.
		for _, u := range in.Upstreams() {
			if _, ok := pass.Pool(u); !ok {
				continue
			}
			to := effective(pass, u.Node, "keepalive_timeout")
			ti := effective(pass, u.Node, "keepalive_time")
			if !to.explicit() && !ti.explicit() {
				continue
			}
			dto, ok1 := msec(to.first())
			dti, ok2 := msec(ti.first())
			if !ok1 || !ok2 || dto == 0 || dti == 0 || dto <= dti {
				continue
			}
			reportAH02(pass, u.Name, to, ti, dto, dti)
		}
	}
	return nil
}

// reportAH02 reports at keepalive_timeout when it is set, else at
// keepalive_time; upstream is the upstream's name, "" for the client side.
func reportAH02(pass *lint.Pass, upstream string, to, ti value, dto, dti time.Duration) {
	var msg string
	if upstream == "" {
		msg = fmt.Sprintf("%s is longer than %s: nginx checks keepalive_time when a request starts and answers the first request on a connection "+
			"older than %s with \"Connection: close\", so the %s idle timeout never governs how long a connection is used: an idle period "+
			"beyond %s only holds a socket and a worker_connections slot for one last request",
			describe("keepalive_timeout", to), describe("keepalive_time", ti), human(dti), human(dto), human(dti))
	} else {
		msg = fmt.Sprintf("upstream %s: %s is longer than %s: nginx checks keepalive_time when a cached connection is released and closes "+
			"connections older than %s, so the %s idle timeout never governs how long a connection is used: an idle period beyond %s only "+
			"holds a socket on both sides for one last request",
			upstream, describe("keepalive_timeout", to), describe("keepalive_time", ti), human(dti), human(dto), human(dti))
	}
	msg += fmt.Sprintf("; lower keepalive_timeout to at most %s, or raise keepalive_time if connections really should live longer", human(dti))
	// Report the directive set at the deeper level: the one that brought
	// the two out of line there.
	if ti.node != nil && (to.node == nil || depth(ti.node) > depth(to.node)) {
		f := reportAt(pass, ti.node, "%s", msg)
		if to.node != nil {
			f.AddRelated(to.node, "keepalive_timeout %s is inherited here", to.first())
		}
		return
	}
	f := reportAt(pass, to.node, "%s", msg)
	if ti.node != nil {
		f.AddRelated(ti.node, "keepalive_time %s caps the connection's life", ti.first())
	}
}

// depth is the number of enclosing blocks of n.
func depth(n *parser.Node) int {
	d := 0
	for p := n.Parent; p != nil; p = p.Parent {
		d++
	}
	return d
}

// inherited reports whether some server block uses the http-level pair key
// of (keepalive_timeout, keepalive_time) directives, or there is no server
// block to tell.
func inherited(pass *lint.Pass, in *lint.Instance, key [2]*parser.Node) bool {
	if len(in.Servers()) == 0 {
		return true
	}
	for _, s := range in.Servers() {
		if effective(pass, s.Node, "keepalive_timeout").node == key[0] && effective(pass, s.Node, "keepalive_time").node == key[1] {
			return true
		}
	}
	return false
}
