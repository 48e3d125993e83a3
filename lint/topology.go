package lint

import (
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/ngxkeep/ngxkeep/parser"
)

// Tier is an external tier that is not an nginx config of the run, declared
// in .ngxkeep.hcl: a load balancer in front of an instance, or an app server
// behind an upstream address.
type Tier struct {
	Name string
	// InFrontOf are the instances this tier sends traffic to (a load
	// balancer or proxy in front of nginx).
	InFrontOf []*Instance
	// Addresses are the addresses this tier serves (an app server that
	// upstream servers or proxy_pass point at).
	Addresses []Addr
	// IdleTimeout is how long the tier keeps an idle keep-alive connection
	// open (for a load balancer: towards nginx; for an app: towards its
	// clients, i.e. nginx's pool).
	IdleTimeout time.Duration
	// RequestTimeout is the tier's timeout for a whole request or response
	// (0 when not declared).
	RequestTimeout time.Duration
	// MaxRequests is the number of requests the tier serves on one
	// connection before closing it (0 when unlimited or not declared).
	MaxRequests int
	// File and Pos locate the declaration in .ngxkeep.hcl.
	File string
	Pos  parser.Pos

	inFrontOf []string // paths as written, resolved by the engine
}

// Topology links the instances of a run: which upstream server or implicit
// proxy_pass address of one instance reaches which listen socket and server
// block of another (or of itself), and which declared tiers sit in front of
// or behind them.
type Topology struct {
	// Links are every target of every instance, in instance order then tree
	// order; targets that reach nothing known have To and Tier nil.
	Links []*Link

	from, to map[*Instance][]*Link
	fronts   map[*Instance][]*Tier
}

// Link is one frontend target: an upstream server address (or an implicit
// proxy_pass address), the Host header the frontend sends to it, and what
// serves it.
type Link struct {
	From *Instance
	// Upstream and UpstreamServer are the frontend's upstream block and
	// server directive; both nil for an implicit upstream (proxy_pass
	// http://127.0.0.1:8080).
	Upstream       *Upstream
	UpstreamServer *UpstreamServer
	// Proxies are the frontend's *_pass directives whose requests take this
	// link with this Host.
	Proxies []*Proxy
	// Target is the address connected to.
	Target Addr
	// Host is the Host header the frontend sends ("" when it depends on the
	// request, e.g. $host of a server without a fixed name).
	Host string
	// SSL is true when the frontend speaks TLS to the target (https://,
	// grpcs://).
	SSL bool

	// To is the instance whose listen socket accepts Target (possibly From
	// itself); nil when no instance of the run listens there.
	To *Instance
	// Listen is the matched listen directive of Server.
	Listen *Listen
	// Server is the backend server block nginx picks for Host on that
	// socket (server_name match, else the default server).
	Server *Server
	// Candidates are all server blocks on the socket; Resolved is false
	// when Host is unknown and more than one candidate could serve it.
	Candidates []*Server
	Resolved   bool
	// Exact is true when the address itself matched (same IP or unix
	// socket, or an IP served by a wildcard listener); false when only the
	// port matched a wildcard listener for a host name we cannot resolve.
	Exact bool

	// Tier is the declared app tier that serves Target, nil when none.
	Tier *Tier
}

// TargetNode returns the frontend directive that names l's target: the
// upstream server directive, or for an implicit upstream the first *_pass
// directive; nil when there is neither.
func (l *Link) TargetNode() *parser.Node {
	if l.UpstreamServer != nil {
		return l.UpstreamServer.Node
	}
	if len(l.Proxies) > 0 {
		return l.Proxies[0].Node
	}
	return nil
}

// LinksFrom returns the links whose frontend is in.
func (t *Topology) LinksFrom(in *Instance) []*Link { return t.from[in] }

// LinksTo returns the links whose backend is in.
func (t *Topology) LinksTo(in *Instance) []*Link { return t.to[in] }

// InFrontOf returns the declared tiers that send traffic to in.
func (t *Topology) InFrontOf(in *Instance) []*Tier { return t.fronts[in] }

// listenRef is a listen socket of a server of an instance.
type listenRef struct {
	in   *Instance
	s    *Server
	l    *Listen
	addr Addr // the address matched (l.Addr, or "*" for the IPv4 side of a dual-stack socket)
}

// buildTopology computes the links of a run.
func buildTopology(ins []*Instance, tiers []*Tier) *Topology {
	t := &Topology{from: map[*Instance][]*Link{}, to: map[*Instance][]*Link{}, fronts: map[*Instance][]*Tier{}}
	// Sized per port first: on a large tree thousands of servers
	// listen on the same port or two.
	perPort := map[int]int{}
	for _, in := range ins {
		for _, s := range in.Servers() {
			for i := range s.Listens {
				if l := &s.Listens[i]; l.AddrErr == nil && !l.Addr.IsUnix() {
					perPort[l.Addr.Port] += 1 + b2i(l.DualStack)
				}
			}
		}
	}
	byPort := make(map[int][]listenRef, len(perPort))
	for port, n := range perPort {
		byPort[port] = make([]listenRef, 0, n)
	}
	byUnix := map[string][]listenRef{}
	for _, in := range ins {
		for _, s := range in.Servers() {
			for i := range s.Listens {
				l := &s.Listens[i]
				if l.AddrErr != nil {
					continue
				}
				r := listenRef{in, s, l, l.Addr}
				switch {
				case l.Addr.IsUnix():
					byUnix[l.Addr.Unix] = append(byUnix[l.Addr.Unix], r)
				case l.DualStack:
					// [::]:port ipv6only=off also accepts IPv4.
					r4 := r
					r4.addr.Host = "*"
					byPort[l.Addr.Port] = append(byPort[l.Addr.Port], r, r4)
				default:
					byPort[l.Addr.Port] = append(byPort[l.Addr.Port], r)
				}
			}
		}
	}
	for _, tr := range tiers {
		for _, in := range tr.InFrontOf {
			t.fronts[in] = append(t.fronts[in], tr)
		}
	}
	for _, in := range ins {
		type key struct {
			up   *UpstreamServer
			addr Addr
			host string
			ssl  bool
		}
		index := map[key]*Link{}
		// sized counts the upstream servers whose first link got room for
		// every user of the upstream: usually all of them take that link
		// (one Host per server), and growing the list by appending left
		// half of it behind (30 proxies per link on the 2k tree).
		sized := map[*UpstreamServer]bool{}
		add := func(k key, p *Proxy, u *Upstream) {
			l := index[k]
			if l == nil {
				l = &Link{From: in, Upstream: u, UpstreamServer: k.up, Target: k.addr, Host: k.host, SSL: k.ssl}
				if p != nil && u != nil && k.up != nil && !sized[k.up] {
					sized[k.up] = true
					l.Proxies = make([]*Proxy, 0, len(u.Users))
				}
				index[k] = l
				t.Links = append(t.Links, l)
				t.from[in] = append(t.from[in], l)
			}
			if p != nil {
				l.Proxies = append(l.Proxies, p)
			}
		}
		for _, p := range in.Proxies() {
			if p.Module == ModuleMemcached {
				continue
			}
			ssl := p.Scheme() == "https" || p.Scheme() == "grpcs" || p.Scheme() == "suwsgi"
			// Every upstream{} block the target can name (Route), so that
			// the rules that ask where a variable target goes (KA09) and
			// the links (TP01) agree.
			for _, u := range p.Route().Upstreams {
				host := ""
				if p.Module == ModuleProxy || p.Module == ModuleGRPC {
					host = proxyHost(p, u)
				}
				for _, us := range u.Servers {
					if us.AddrErr == nil {
						add(key{us, us.Addr, host, ssl}, p, u)
					}
				}
			}
			if !p.Variable && len(p.Route().Upstreams) == 0 && p.AddrErr() == nil {
				host := ""
				if p.Module == ModuleProxy || p.Module == ModuleGRPC {
					host = proxyHost(p, nil)
				}
				add(key{nil, p.Addr(), host, ssl}, p, nil)
			}
		}
		// Upstreams no location uses still have targets (TP01 and
		// pool-size rules look at them).
		for _, u := range in.Upstreams() {
			if len(u.Users) > 0 {
				continue
			}
			for _, us := range u.Servers {
				if us.AddrErr == nil {
					add(key{us, us.Addr, "", false}, nil, u)
				}
			}
		}
	}
	for _, l := range t.Links {
		resolveLink(l, byPort, byUnix)
		if l.To != nil {
			t.to[l.To] = append(t.to[l.To], l)
		}
		for _, tr := range tiers {
			for _, a := range tr.Addresses {
				if sameTarget(l.Target, a) {
					l.Tier = tr
				}
			}
		}
	}
	for _, l := range t.Links {
		if (l.To != nil && l.To != l.From) || l.Tier != nil {
			l.From.Role |= RoleFrontend
		}
		if l.To != nil && l.To != l.From {
			l.To.Role |= RoleBackend
		}
	}
	for in := range t.fronts {
		in.Role |= RoleBackend
	}
	return t
}

// sameTarget reports whether a declared tier address names target.
func sameTarget(target, a Addr) bool {
	if target.IsUnix() || a.IsUnix() {
		return target.Unix == a.Unix
	}
	if target.Port != a.Port {
		return false
	}
	if a.Host == "*" || target.Host == a.Host {
		return true
	}
	return matchListen(target, a) == matchExact
}

// resolveLink finds the socket and server block that accept l.Target
// (ngx_http_init_connection picks the address configuration, then
// ngx_http_find_virtual_server the server by Host).
func resolveLink(l *Link, byPort map[int][]listenRef, byUnix map[string][]listenRef) {
	var refs []listenRef
	if l.Target.IsUnix() {
		refs = byUnix[l.Target.Unix]
	} else {
		refs = byPort[l.Target.Port]
	}
	best := noMatch
	var sock []listenRef
	var bestAddr Addr
	var bestIn *Instance
	for _, r := range refs {
		m := matchListen(l.Target, r.addr)
		if m == noMatch {
			continue
		}
		// One socket: the same instance and listen address. A specific
		// address wins over a wildcard on the same port.
		if m > best || (m == best && (r.in != bestIn || r.addr != bestAddr) && preferInstance(l, r.in, bestIn)) {
			best, sock, bestAddr, bestIn = m, nil, r.addr, r.in
		}
		if m == best && r.in == bestIn && r.addr == bestAddr {
			sock = append(sock, r)
		}
	}
	if best == noMatch {
		return
	}
	l.To = bestIn
	l.Exact = best != matchByPort
	seen := map[*Server]bool{}
	for _, r := range sock {
		if !seen[r.s] {
			seen[r.s] = true
			l.Candidates = append(l.Candidates, r.s)
		}
	}
	def := sock[0]
	for _, r := range sock {
		if r.l.DefaultServer {
			def = r
			break
		}
	}
	pick := def
	if l.Host != "" {
		host := strings.ToLower(l.Host)
		if h, _, err := splitHostPort(host); err == nil {
			host = h
		}
		if s := findVirtualServer(sock, host); s != nil {
			pick = *s
		}
		l.Resolved = true
	} else {
		l.Resolved = len(l.Candidates) == 1
	}
	l.Server, l.Listen = pick.s, pick.l
}

// preferInstance breaks ties between two instances listening on the same
// address: another instance is preferred over the frontend itself.
func preferInstance(l *Link, cand, cur *Instance) bool {
	return cur == l.From && cand != l.From
}

func splitHostPort(h string) (string, string, error) {
	if strings.HasPrefix(h, "[") {
		i := strings.IndexByte(h, ']')
		if i < 0 {
			return h, "", strconv.ErrSyntax
		}
		return h[1:i], strings.TrimPrefix(h[i+1:], ":"), nil
	}
	if i := strings.LastIndexByte(h, ':'); i >= 0 && strings.Count(h, ":") == 1 {
		return h[:i], h[i+1:], nil
	}
	return h, "", nil
}

// findVirtualServer mirrors ngx_http_find_virtual_server: exact names,
// then the longest leading wildcard, then the longest trailing wildcard,
// then regular expressions in order.
func findVirtualServer(sock []listenRef, host string) *listenRef {
	var lead, trail *listenRef
	leadLen, trailLen := -1, -1
	for i := range sock {
		for _, n := range sock[i].s.Names {
			switch {
			case n == host:
				return &sock[i]
			case strings.HasPrefix(n, "*."):
				if strings.HasSuffix(host, n[1:]) && len(n) > leadLen {
					lead, leadLen = &sock[i], len(n)
				}
			case strings.HasPrefix(n, "."):
				if (host == n[1:] || strings.HasSuffix(host, n)) && len(n) > leadLen {
					lead, leadLen = &sock[i], len(n)
				}
			case strings.HasSuffix(n, ".*"):
				if strings.HasPrefix(host, n[:len(n)-1]) && len(n) > trailLen {
					trail, trailLen = &sock[i], len(n)
				}
			}
		}
	}
	if lead != nil {
		return lead
	}
	if trail != nil {
		return trail
	}
	for i := range sock {
		for _, n := range sock[i].s.Names {
			if strings.HasPrefix(n, "~") {
				re, err := regexp.Compile(n[1:])
				if err == nil && re.MatchString(host) {
					return &sock[i]
				}
			}
		}
	}
	return nil
}

// proxyHost returns the Host header value a proxy sends to upstream u (nil
// for its literal address), "" when it depends on the request. It mirrors
// how ngx_http_proxy_module evaluates proxy_set_header Host (default
// $proxy_host).
func proxyHost(p *Proxy, u *Upstream) string {
	val := "$proxy_host"
	if p.Module == ModuleProxy || p.Module == ModuleGRPC {
		// The defaults send $proxy_host.
		for _, n := range p.conn.headers {
			if len(n.Args) >= 2 && strings.EqualFold(n.Args[0].Value, "host") {
				val = n.Args[1].Value
			}
		}
	}
	switch strings.ToLower(val) {
	case "$proxy_host":
		if u != nil {
			return u.Name
		}
		if p.Addr().IsUnix() {
			return "localhost"
		}
		def := 80
		if p.Scheme() == "https" {
			def = 443
		}
		if p.Addr().Port != def {
			return p.Addr().Host + ":" + strconv.Itoa(p.Addr().Port)
		}
		return p.Addr().Host
	case "$host", "$http_host", "$server_name":
		// The client's Host: known only when the frontend server has one
		// fixed name.
		if srv := p.Server(); srv != nil {
			for _, c := range srv.Children {
				if c.Name == "server_name" && len(c.Args) > 0 {
					n := strings.ToLower(c.Args[0].Value)
					if n != "" && n != "_" && !strings.ContainsAny(n, "*~") && !strings.HasPrefix(n, ".") {
						if len(c.Args) == 1 || strings.EqualFold(val, "$server_name") {
							return n
						}
					}
				}
			}
		}
		return ""
	}
	if strings.Contains(val, "$") {
		return ""
	}
	return val
}

// resolveTiers maps each tier's in_front_of paths to instances of the run
// (by cleaned path, absolute path, or unique base name).
func resolveTiers(tiers []*Tier, ins []*Instance, baseDir string) {
	for _, t := range tiers {
		t.InFrontOf = nil
		for _, p := range t.inFrontOf {
			for _, in := range ins {
				if samePath(p, in.Path, baseDir) {
					t.InFrontOf = append(t.InFrontOf, in)
				}
			}
		}
	}
}

func samePath(declared, given, baseDir string) bool {
	if filepath.Clean(declared) == filepath.Clean(given) {
		return true
	}
	d := declared
	if !filepath.IsAbs(d) && baseDir != "" {
		d = filepath.Join(baseDir, d)
	}
	a, err1 := filepath.Abs(d)
	b, err2 := filepath.Abs(given)
	return err1 == nil && err2 == nil && a == b
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
