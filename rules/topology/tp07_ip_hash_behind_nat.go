package topology

import (
	"fmt"

	"github.com/ngxkeep/ngxkeep/lint"
	"github.com/ngxkeep/ngxkeep/parser"
)

// TP07 reports ip_hash on an instance whose clients all arrive from a proxy
// in front.
var TP07 = &lint.Analyzer{
	ID:       "TP07",
	Name:     "ip-hash-behind-nat",
	Severity: lint.SeverityInfo,
	Scope:    lint.Both,
	Doc: `ip_hash on an nginx that receives its traffic from a proxy or load balancer: every request goes to the same server.

ip_hash (ngx_http_upstream_get_ip_hash_peer) hashes the first three octets
of the client's IPv4 address (the whole IPv6 address), taken from the
connection. When this nginx sits behind another proxy or a load balancer,
the connection's address is that proxy's, one or a few addresses from the
same /24, so all requests hash to the same upstream server: the other
servers idle, the chosen one takes the whole load, and when it fails
everything moves at once (nginx's "Top 10 mistakes" #9). Unless the real
client address is restored first: the realip module (set_real_ip_from with
real_ip_header X-Forwarded-For or proxy_protocol) replaces the connection's
address before the balancer runs.

Evidence of a proxy in front: another config of the run proxies to this
server block, a load balancer is declared in front of this config in
.ngxkeep.hcl, or the server listens with proxy_protocol.

Fix: restore the client address with set_real_ip_from and real_ip_header,
or balance on a key that differs per client (hash $cookie_session
consistent; hash on X-Forwarded-For only if the proxy in front sets it).`,
	Bad: `events {}
http {
    upstream app {
        ip_hash;
        server 127.0.0.1:8081;
        server 127.0.0.1:8082;
    }
    server {
        listen 8080 proxy_protocol;
        location / {
            proxy_pass http://app;
        }
    }
}
`,
	Good: `events {}
http {
    upstream app {
        ip_hash;
        server 127.0.0.1:8081;
        server 127.0.0.1:8082;
    }
    server {
        listen 8080 proxy_protocol;
        set_real_ip_from 10.0.0.0/8;
        real_ip_header proxy_protocol;
        location / {
            proxy_pass http://app;
        }
    }
}
`,
	Run: runTP07,
}

func runTP07(pass *lint.Pass) error {
	for _, in := range pass.Instances {
		for _, u := range in.Upstreams() {
			if u.Balancer == nil || u.Balancer.Name != "ip_hash" {
				continue
			}
			if n, _, _ := u.Peers(); n < 2 {
				continue
			}
			var front string
			var frontNode *parser.Node
			users := 0
			for _, p := range u.Users {
				if p.Server() == nil || restoresClientAddr(pass, p) {
					continue
				}
				if why, n := proxyInFront(pass, in, p.Server()); why != "" {
					users++
					if front == "" {
						front, frontNode = why, n
					}
				}
			}
			if users == 0 {
				continue
			}
			f := pass.Reportf(u.Balancer,
				"ip_hash balances on the first three octets of the connection's client address, but %s and the real client address is not restored "+
					"(no set_real_ip_from): all requests from that proxy hash to the same server of upstream %q while the other %s; "+
					"restore the address with set_real_ip_from/real_ip_header or hash on a per-client key",
				front, u.Name, serversWord(len(u.Servers)-1))
			f.AddRelated(frontNode, "traffic arrives through a proxy")
		}
	}
	return nil
}

func serversWord(n int) string {
	if n == 1 {
		return "server idles"
	}
	return fmt.Sprintf("%d servers idle", n)
}

// restoresClientAddr reports whether the realip module is configured where
// p runs (ngx_http_realip_handler replaces the connection address).
func restoresClientAddr(pass *lint.Pass, p *lint.Proxy) bool {
	return len(p.Node.EffectiveNodes("set_real_ip_from")) > 0
}

// proxyInFront says why server block srv receives its traffic through a
// proxy: a linked frontend, a declared load balancer, or proxy_protocol.
func proxyInFront(pass *lint.Pass, in *lint.Instance, srv *parser.Node) (string, *parser.Node) {
	if pass.Topology != nil {
		for _, l := range pass.Topology.LinksTo(in) {
			if l.From != in && l.Server != nil && l.Server.Node == srv {
				return fmt.Sprintf("this server receives its requests from the nginx in %s", l.From.Path), l.TargetNode()
			}
		}
		if ts := pass.Topology.InFrontOf(in); len(ts) > 0 {
			return fmt.Sprintf("load balancer %q is declared in front of this config", ts[0].Name), nil
		}
	}
	for _, s := range in.Servers() {
		if s.Node != srv {
			continue
		}
		for _, l := range s.Listens {
			if l.ProxyProtocol {
				return "this server listens with proxy_protocol (its connections come from a load balancer)", l.Node
			}
		}
	}
	return "", nil
}
