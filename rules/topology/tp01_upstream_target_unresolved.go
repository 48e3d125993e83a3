package topology

import (
	"fmt"

	"github.com/ngxkeep/ngxkeep/lint"
	"github.com/ngxkeep/ngxkeep/parser"
)

// TP01 reports frontend targets that no supplied backend listens on.
var TP01 = &lint.Analyzer{
	ID:       "TP01",
	Name:     "upstream-target-unresolved",
	Severity: lint.SeverityWarning,
	Scope:    lint.Cross,
	Doc: `An upstream server address of a frontend matches no listen socket of the backend configs given with it.

When several configs are linted together, ngxkeep links every upstream
server address (and every literal proxy_pass address) of a frontend to the
listen socket of the instance that accepts it, the way the kernel and
ngx_http_init_connection would: same IP and port, a wildcard listen on that
port, localhost and 127.0.0.1 for each other, the same unix socket path. An
address that reaches none of them is a dead route (connect() fails:
"Connection refused", 502, and with max_fails the server is marked down
again and again), a typo (wrong port, wrong socket path), or a tier that is
not part of the run, in which case every cross-config rule silently skips
it.

The rule runs only when more than one config is given. It checks a config
that links to at least one other config (its other targets are expected to
be linked too), or that links to none and receives no traffic from the
others (then none of its targets reaches the configs given). The last tier
of a chain, which other configs proxy to and which proxies only outward,
is not checked: its targets are app servers. Declare app servers and other
external tiers in .ngxkeep.hcl (tier "app" { address = [...] }) to link
them.

Fix: correct the address or port, add the missing listen on the backend, or
declare the target as a tier.`,
	Bad: `-- frontend.conf --
events {}
http {
    upstream backend {
        server 127.0.0.1:9001;
        server 127.0.0.1:9020;
    }
    server {
        listen 8080;
        location / {
            proxy_pass http://backend;
        }
    }
}
-- backend.conf --
events {}
http {
    server {
        listen 127.0.0.1:9001;
        listen 127.0.0.1:9002;
        location / {
            return 200 "ok\n";
        }
    }
}
`,
	Good: `-- frontend.conf --
events {}
http {
    upstream backend {
        server 127.0.0.1:9001;
        server 127.0.0.1:9002;
    }
    server {
        listen 8080;
        location / {
            proxy_pass http://backend;
        }
    }
}
-- backend.conf --
events {}
http {
    server {
        listen 127.0.0.1:9001;
        listen 127.0.0.1:9002;
        location / {
            return 200 "ok\n";
        }
    }
}
`,
	Run: runTP01,
}

func runTP01(pass *lint.Pass) error {
	if pass.Topology == nil || len(pass.Instances) < 2 {
		return nil
	}
	for _, in := range pass.Instances {
		links := pass.Topology.LinksFrom(in)
		outgoing := false
		for _, l := range links {
			if l.To != nil && l.To != in {
				outgoing = true
				break
			}
		}
		incoming := false
		for _, l := range pass.Topology.LinksTo(in) {
			if l.From != in {
				incoming = true
				break
			}
		}
		if !outgoing && incoming {
			continue // the last nginx tier: its targets are app servers
		}
		var others []*lint.Instance
		for _, o := range pass.Instances {
			if o != in {
				others = append(others, o)
			}
		}
		seen := map[*parser.Node]bool{}
		for _, l := range links {
			if l.To != nil || l.Tier != nil {
				continue
			}
			at := l.TargetNode()
			if at == nil || seen[at] {
				continue
			}
			seen[at] = true
			reportTP01(pass, in, l, at, others, outgoing)
		}
	}
	return nil
}

func reportTP01(pass *lint.Pass, in *lint.Instance, l *lint.Link, at *parser.Node, others []*lint.Instance, outgoing bool) {
	what := "proxy_pass target " + l.Target.String()
	if l.Upstream != nil {
		what = fmt.Sprintf("upstream %q server %s", l.Upstream.Name, l.Target.String())
	}
	// Describe the sockets the other configs offer, and the nearest miss:
	// the same host on the closest port, another unix socket, the same
	// port on another address.
	var listens []string
	var near string
	var nearNode *parser.Node
	best := -1
	for _, o := range others {
		for _, s := range o.Servers() {
			for _, ls := range s.Listens {
				if ls.AddrErr != nil {
					continue
				}
				a := ls.Addr.String()
				listens = append(listens, o.Path+" "+a)
				score, text := -1, ""
				switch {
				case l.Target.IsUnix() && ls.Addr.IsUnix():
					score, text = 0, fmt.Sprintf("%s listens on %s, not %s", o.Path, a, l.Target.String())
				case l.Target.IsUnix() || ls.Addr.IsUnix():
				case ls.Addr.Port != l.Target.Port && (ls.Addr.Host == l.Target.Host || ls.Addr.Host == "*" ||
					ls.Addr.Host == "::" || sameLoopback(ls.Addr.Host, l.Target.Host)):
					d := ls.Addr.Port - l.Target.Port
					if d < 0 {
						d = -d
					}
					score, text = d, fmt.Sprintf("%s listens on %s: port %d, not %d", o.Path, a, ls.Addr.Port, l.Target.Port)
				case ls.Addr.Port == l.Target.Port && ls.Addr.Host != "*":
					score, text = 1<<20, fmt.Sprintf("%s listens on port %d only at %s", o.Path, ls.Addr.Port, ls.Addr.Host)
				}
				if score >= 0 && (best < 0 || score < best) {
					best, near, nearNode = score, text, ls.Node
				}
			}
		}
	}
	why := "no other config given listens there"
	if len(listens) > 0 {
		why = "the other configs listen on " + shortList(listens, 4)
	}
	if near != "" {
		why = near
	}
	scope := "this config proxies to the other configs, so its targets are expected among them"
	if !outgoing {
		scope = "none of this config's targets reaches the other configs given"
	}
	f := pass.ReportArg(at, 0,
		"%s matches no listen socket of the configs linted with it (%s; %s): requests routed there fail to connect (502) "+
			"or reach a tier nobody checked, and the cross-config rules skip it; fix the address, add the listen, or declare the target as a tier in %s",
		what, why, scope, lint.ConfigFileName)
	f.AddRelated(nearNode, "closest listen")
}

// sameLoopback reports whether two hosts both name this machine's loopback.
func sameLoopback(a, b string) bool {
	isLo := func(h string) bool {
		return h == "localhost" || h == "::1" || (len(h) > 4 && h[:4] == "127.")
	}
	return isLo(a) && isLo(b)
}
