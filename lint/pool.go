package lint

import (
	"strconv"
	"strings"

	"github.com/ngxkeep/ngxkeep/parser"
)

// This file holds the facts about upstream keep-alive that rules of every
// family need: whether an upstream{} block has a connection cache at the
// target version, and whether a location's requests can leave their
// connections in it.

// Pool is the per-worker keep-alive cache nginx gives an upstream{} block
// at a target version.
type Pool struct {
	Upstream *Upstream
	// Size is the most idle connections a worker keeps: keepalive's
	// argument, 32 for the implicit cache.
	Size int
	// Local is true for "keepalive N local" and the implicit cache: a
	// cached connection is reused only by the location that opened it.
	Local bool
	// Node is the keepalive directive; nil for the implicit cache every
	// upstream{} block has from 1.29.7 on.
	Node *parser.Node
	// Lost is the balancer directive (hash, ip_hash, least_conn, random,
	// least_time) written after keepalive that, before 1.29.7, replaces
	// the keep-alive wrapper: the cache the config asks for does not exist
	// (KA07). Nil otherwise.
	Lost *parser.Node
}

// Implicit reports whether the cache is the 1.29.7+ default
// ("keepalive 32 local" without a keepalive directive).
func (pl Pool) Implicit() bool { return pl.Node == nil }

// Describe names the cache for messages: "keepalive 16", "keepalive 8
// local" or `the implicit "keepalive 32 local" of nginx >= 1.29.7`.
func (pl Pool) Describe() string {
	if pl.Node == nil {
		return "the implicit \"keepalive 32 local\" of nginx >= 1.29.7"
	}
	s := "keepalive " + strconv.Itoa(pl.Size)
	if pl.Local {
		s += " local"
	}
	return s
}

// orderedBalancers are the directives that register their own
// init_upstream (and log "load balancing method redefined"): written
// after keepalive, they replace it before 1.29.7.
var orderedBalancers = map[string]bool{
	"hash": true, "ip_hash": true, "least_conn": true, "random": true, "least_time": true,
}

// readKeepalive records the version-independent parts of u's keepalive
// directive: its size ("keepalive 0" and bad values give none), "local",
// and the last balancer written after it.
func (u *Upstream) readKeepalive() {
	k := u.Keepalive
	if k == nil {
		return
	}
	if n, err := strconv.Atoi(ArgValue(k, 0)); err == nil && n > 0 {
		u.kaSize = n
	}
	u.kaLocal = ArgValue(k, 1) == "local"
	seen := false
	for _, c := range u.Node.Children {
		if c == k {
			seen = true
		} else if seen && orderedBalancers[c.Name] {
			u.lost = c // the last one wins
		}
	}
}

// Pool returns the keep-alive cache of upstream u at the target version
// and whether nginx really has it: an explicit "keepalive N" (N > 0), or,
// from 1.29.7, any upstream{} block without keepalive
// (ngx_http_upstream_keepalive_init_main_conf; "keepalive 0" turns it
// off). Before 1.29.7 a balancer written after keepalive replaces the
// cache's init_upstream: Pool then returns the cache the config asks for
// with Lost set, and false. Implicit upstreams (an address in proxy_pass)
// have no cache on any version.
func (p *Pass) Pool(u *Upstream) (Pool, bool) {
	if u == nil {
		return Pool{}, false
	}
	if u.Keepalive == nil {
		if p.Target.AtLeast(parser.V1_29_7) {
			return Pool{Upstream: u, Size: 32, Local: true}, true
		}
		return Pool{}, false
	}
	if u.kaSize <= 0 {
		return Pool{}, false
	}
	pl := Pool{Upstream: u, Size: u.kaSize, Local: u.kaLocal, Node: u.Keepalive}
	if u.lost != nil && p.Target.Before(parser.V1_29_7) {
		pl.Lost = u.lost
		return pl, false
	}
	return pl, true
}

// ActivePool returns u's cache when at least one location sends requests
// through it in a way that lets connections be reused (Reuses), so that
// idle cached connections really exist.
func (p *Pass) ActivePool(u *Upstream) (Pool, bool) {
	pl, ok := p.Pool(u)
	if !ok {
		return Pool{}, false
	}
	for _, x := range u.Users {
		if p.Reuses(x) {
			return pl, true
		}
	}
	return Pool{}, false
}

// PoolOf returns the cache x's requests use, when their target names one
// upstream{} block that has a cache and x's settings let connections go
// back into it.
func (p *Pass) PoolOf(x *Proxy) (Pool, bool) {
	if x.Upstream == nil {
		return Pool{}, false
	}
	pl, ok := p.Pool(x.Upstream)
	if !ok || !p.Reuses(x) {
		return Pool{}, false
	}
	return pl, true
}

// Conn is how a *_pass directive talks to its upstream at a target
// version: what rules of several families ask at every proxy (Pass.Conn).
// The directives are looked up once per proxy (NewInstance); only the
// defaults depend on the version.
type Conn struct {
	// HTTPVersion is the proxy_http_version in effect ("1.0", "1.1",
	// "2"; the default is 1.0 before 1.29.7 and 1.1 from then on,
	// ngx_http_proxy_merge_loc_conf) and HTTPVersionNode the directive it
	// comes from (nil for the default). Empty for other modules.
	HTTPVersion     string
	HTTPVersionNode *parser.Node
	// Headers are the <module>_set_header directives of the level whose
	// list applies (all-or-nothing inheritance,
	// ngx_http_proxy_init_headers); nil when no level declares any.
	Headers []*parser.Node
	// Reuses is Pass.Reuses.
	Reuses bool
}

// proxyConn holds the directives behind Conn, which do not depend on the
// target version (40 bytes in each of the thousands of Proxies).
type proxyConn struct {
	headers []*parser.Node
	// module is proxy_http_version for proxy_pass, fastcgi_keep_conn for
	// fastcgi_pass, nil for the others or when unset.
	module *parser.Node
	// connection is the last Connection entry of headers, nil for none.
	connection *parser.Node
}

func (x *Proxy) readConn() {
	// Which directives make up a value does not depend on the version;
	// only the defaults do. EffectiveNodes copies no arguments: most
	// locations set these lines themselves (an included snippet), and
	// copying them at every one cost 2 MB on a 2,000-server tree.
	c := &x.conn
	c.headers = x.Node.EffectiveNodes(x.Module.Prefix() + "_set_header")
	for _, n := range c.headers {
		if len(n.Args) >= 2 && strings.EqualFold(n.Args[0].Value, "connection") {
			c.connection = n
		}
	}
	switch x.Module {
	case ModuleProxy:
		c.module = firstNode(x.Node.EffectiveNodes("proxy_http_version"))
	case ModuleFastCGI:
		c.module = firstNode(x.Node.EffectiveNodes("fastcgi_keep_conn"))
	}
}

func firstNode(nodes []*parser.Node) *parser.Node {
	if len(nodes) == 0 {
		return nil
	}
	return nodes[0]
}

// Conn returns x's connection facts at the target version.
func (p *Pass) Conn(x *Proxy) Conn {
	c := Conn{Headers: x.conn.headers}
	switch x.Module {
	case ModuleGRPC, ModuleMemcached:
		c.Reuses = true
	case ModuleFastCGI:
		// fastcgi_keep_conn is off by default in every version.
		c.Reuses = x.conn.module != nil && strings.EqualFold(ArgValue(x.conn.module, 0), "on")
	case ModuleProxy:
		c.HTTPVersionNode = x.conn.module
		if c.HTTPVersionNode != nil {
			c.HTTPVersion = ArgValue(c.HTTPVersionNode, 0)
		} else {
			c.HTTPVersion = firstArg(x.Node.Effective("proxy_http_version", p.Target).Args)
		}
		if c.HTTPVersion == "" {
			c.HTTPVersion = "1.1"
			if p.Target.Before(parser.V1_29_7) {
				c.HTTPVersion = "1.0"
			}
		}
		switch {
		case c.HTTPVersion == "1.0":
		case x.conn.connection == nil:
			// $proxy_internal_connection: "close" before 1.29.7.
			c.Reuses = p.Target.AtLeast(parser.V1_29_7)
		default:
			conn := x.conn.connection.Args[1].Value
			c.Reuses = strings.Contains(conn, "$") || !strings.Contains(strings.ToLower(conn), "close")
		}
	}
	return c
}

// Reuses reports whether responses to x's requests can leave the upstream
// connection reusable: the protocol side of
// ngx_http_upstream_free_keepalive_peer. proxy_pass needs HTTP/1.1 (the
// default from 1.29.7) and no constant "close" in the Connection header
// it sends (before 1.29.7 it sends "Connection: close" unless
// proxy_set_header sets one); fastcgi_pass needs fastcgi_keep_conn on;
// grpc and memcached always can; scgi and uwsgi never. A Connection value
// with variables is decided per request and counts as reusable (KA04
// looks at it).
func (p *Pass) Reuses(x *Proxy) bool { return p.Conn(x).Reuses }

// firstArg returns the first of args, or "" when there is none.
func firstArg(args []string) string {
	if len(args) == 0 {
		return ""
	}
	return args[0]
}
