package translate

import (
	"fmt"
	"strings"

	"github.com/ngxkeep/ngxkeep/parser"
	"github.com/ngxkeep/ngxkeep/runtime/config"
)

// balancerNames maps the balancer directives to the model's methods.
var balancerNames = map[string]string{
	"ip_hash":    config.BalancerIPHash,
	"hash":       config.BalancerHash,
	"least_conn": config.BalancerLeastConn,
	"random":     config.BalancerRandom,
}

// upstream translates an http upstream{} block: servers and their
// parameters, the balancer, and the keep-alive cache as the target version
// builds it (ngx_http_upstream_keepalive_module).
func (t *translator) upstream(n *parser.Node) *config.Upstream {
	if len(n.Args) != 1 {
		t.unsupportedTree(n, "invalid number of arguments in upstream")
		return nil
	}
	u := &config.Upstream{Name: n.Args[0].Value}
	var comments []string
	var servers []*parser.Node
	var balancers []*parser.Node
	var keepalive *parser.Node
	for _, c := range n.Children {
		switch c.Name {
		case "server":
			servers = append(servers, c)
		case "ip_hash", "hash", "least_conn", "random":
			balancers = append(balancers, c)
		case "keepalive":
			if keepalive != nil {
				t.set(c, Unsupported, `"keepalive" directive is duplicate (nginx -t rejects it)`)
				continue
			}
			keepalive = c
		case "zone":
			t.set(c, Approximated, "shared memory zone: the runtime keeps peer state per worker")
		case "ntlm":
			t.set(c, Unsupported, "NTLM connection binding is not implemented")
		}
	}

	// The balancer: the last directive wins ("load balancing method
	// redefined" for the others).
	for i, b := range balancers {
		if i < len(balancers)-1 {
			t.set(b, Preserved, "replaced by %s at %s (nginx warns: load balancing method redefined)", balancers[len(balancers)-1].Name, where(balancers[len(balancers)-1]))
			continue
		}
		if bal := t.balancer(b); bal != nil {
			u.Balancer = bal
			t.origin(bal, from(b))
		}
	}
	if u.Balancer == nil {
		u.Balancer = &config.Balancer{Method: config.BalancerRoundRobin}
		t.origin(u.Balancer, "nginx default: weighted round robin")
	}

	for _, s := range servers {
		if us, ok := t.upstreamServer(s, u.Balancer.Method); ok {
			u.Servers = append(u.Servers, us)
			comments = append(comments, from(s))
		}
	}
	if len(u.Servers) == 0 {
		t.unsupportedTree(n, "no servers are inside upstream %q that the runtime can use", u.Name)
		return nil
	}
	for i := range u.Servers {
		t.origin(&u.Servers[i], comments[i])
	}

	var kaNote string
	u.Keepalive, kaNote = t.keepalive(n, keepalive, balancers)

	to := t.eff(n, "keepalive_timeout")
	u.KeepaliveTimeout = t.msec(to, 0, "60s")
	if r := t.number(t.eff(n, "keepalive_requests"), 0, nil); r != nil {
		u.KeepaliveRequests = *r
	}
	u.KeepaliveTime = t.msec(t.eff(n, "keepalive_time"), 0, "")
	if u.KeepaliveTime == "" && t.target.Before(parser.V1_19_10) {
		t.set(n, Approximated, "nginx %s has no upstream keepalive_time; the runtime closes connections older than 1h when released", t.target)
	}
	t.use(n)
	t.origin(u, from(n))
	if kaNote != "" {
		t.origin(u, kaNote)
	}
	return u
}

// keepalive builds the cache of an upstream block for the target version;
// without one it returns a comment line for the upstream block.
func (t *translator) keepalive(up, ka *parser.Node, balancers []*parser.Node) (*config.Keepalive, string) {
	modern := t.target.AtLeast(parser.V1_29_7)
	noCache := fmt.Sprintf("no keepalive: nginx %s closes every connection to this upstream after its request", t.target)
	if ka == nil {
		if modern {
			k := &config.Keepalive{Connections: 32, Local: true, Enabled: true}
			t.origin(k, fmt.Sprintf("nginx %s default for upstream blocks without keepalive: keepalive 32 local", t.target))
			return k, ""
		}
		return nil, noCache
	}
	if len(ka.Args) == 0 {
		return nil, noCache
	}
	n, err := atoi(ka.Args[0].Value)
	if err != nil {
		t.set(ka, Unsupported, "invalid value %q (nginx -t rejects it); no cache", ka.Args[0].Value)
		return nil, noCache
	}
	k := &config.Keepalive{Connections: n, Enabled: n > 0}
	if len(ka.Args) == 2 {
		if ka.Args[1].Value != "local" {
			t.set(ka, Unsupported, "invalid parameter %q (nginx -t rejects it)", ka.Args[1].Value)
		} else if !modern {
			t.set(ka, Unsupported, `"local" needs nginx 1.29.7 (nginx %s: invalid number of arguments); translated as keepalive %d`, t.target, n)
		} else {
			k.Local = true
		}
	}
	switch {
	case n == 0 && !modern:
		t.set(ka, Unsupported, "nginx %s rejects keepalive 0 (invalid value); no cache", t.target)
		t.origin(k, "keepalive 0 from "+where(ka)+": no cache")
	case n == 0:
		t.set(ka, Preserved, "keepalive 0 turns the cache off (1.29.7+)")
		t.origin(k, "keepalive 0 from "+where(ka)+": the cache is off")
	default:
		t.use(ka)
		t.origin(k, from(ka))
	}
	if !modern && n > 0 {
		// Before 1.29.7 keepalive wraps the balancer registered so far;
		// a balancer directive after it replaces the wrapper
		// (ngx_http_upstream_keepalive, ngx_http_upstream_ip_hash, ...).
		for _, b := range balancers {
			if laterInTree(up, ka, b) {
				k.Enabled = false
				t.set(ka, Preserved, "has no effect in nginx %s: %s at %s comes after it and replaces the cache (written as enabled = false)", t.target, b.Name, where(b))
				t.origin(k, fmt.Sprintf("disabled: nginx %s drops this cache because %s at %s comes after keepalive", t.target, b.Name, where(b)))
				break
			}
		}
	}
	return k, ""
}

// laterInTree reports whether b comes after a among up's children.
func laterInTree(up, a, b *parser.Node) bool {
	ia, ib := -1, -1
	for i, c := range up.Children {
		if c == a {
			ia = i
		}
		if c == b {
			ib = i
		}
	}
	return ia >= 0 && ib > ia
}

// balancer translates ip_hash, hash, least_conn and random.
func (t *translator) balancer(n *parser.Node) *config.Balancer {
	b := &config.Balancer{Method: balancerNames[n.Name]}
	switch n.Name {
	case "hash":
		if len(n.Args) == 0 {
			return nil
		}
		b.Key = n.Args[0].Value
		if len(n.Args) == 2 {
			if n.Args[1].Value != "consistent" {
				t.set(n, Unsupported, "invalid parameter %q (nginx -t rejects it); round robin is used", n.Args[1].Value)
				return nil
			}
			b.Consistent = true
		}
		if u := t.unknownIn(b.Key, ctxProxy); u != "" {
			t.set(n, Approximated, "%s", u)
			return b
		}
	case "random":
		if len(n.Args) > 0 {
			if n.Args[0].Value != "two" {
				t.set(n, Unsupported, "invalid parameter %q (nginx -t rejects it); round robin is used", n.Args[0].Value)
				return nil
			}
			b.Two = true
			if len(n.Args) == 2 && n.Args[1].Value != "least_conn" {
				t.set(n, Unsupported, "method %q is not implemented (commercial nginx); round robin is used", n.Args[1].Value)
				return nil
			}
		}
	}
	t.use(n)
	return b
}

// upstreamServer translates one server line of an upstream block
// (ngx_http_upstream_server).
func (t *translator) upstreamServer(n *parser.Node, method string) (config.UpstreamServer, bool) {
	var s config.UpstreamServer
	if len(n.Args) == 0 {
		return s, false
	}
	s.Address = n.Args[0].Value
	if strings.HasPrefix(s.Address, "unix:") {
		t.set(n, Unsupported, "unix-domain upstream sockets are not implemented; the server is left out")
		return s, false
	}
	var approx []string
	for _, a := range n.Args[1:] {
		name, val, hasVal := strings.Cut(a.Value, "=")
		bad := func() (config.UpstreamServer, bool) {
			t.set(n, Unsupported, "invalid parameter %q (nginx -t rejects it); the server is left out", a.Value)
			return s, false
		}
		switch name {
		case "weight":
			w, err := atoi(val)
			if !hasVal || err != nil || w == 0 {
				return bad()
			}
			s.Weight = w
		case "max_fails":
			m, err := atoi(val)
			if !hasVal || err != nil {
				return bad()
			}
			s.MaxFails = &m
		case "fail_timeout":
			if _, err := parser.ParseTimeSec(val); !hasVal || err != nil {
				return bad()
			}
			s.FailTimeout = val
		case "max_conns":
			m, err := atoi(val)
			if !hasVal || err != nil {
				return bad()
			}
			s.MaxConns = m
		case "backup":
			if method != config.BalancerRoundRobin && method != config.BalancerLeastConn {
				t.set(n, Unsupported, "backup servers do not work with %s (nginx -t rejects it); the server is left out", method)
				return s, false
			}
			s.Backup = true
		case "down":
			s.Down = true
		case "resolve", "service", "slow_start", "route", "drain", "id":
			approx = append(approx, fmt.Sprintf("parameter %s is not implemented", name))
		default:
			return bad()
		}
	}
	if s.Weight == 0 {
		s.Weight = 1
	}
	if s.MaxFails == nil {
		s.MaxFails = ptr(1)
	}
	if s.FailTimeout == "" {
		s.FailTimeout = "10s"
	}
	if len(approx) > 0 {
		t.set(n, Approximated, "%s", strings.Join(approx, "; "))
	} else {
		t.use(n)
	}
	return s, true
}
