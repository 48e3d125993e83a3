package lint

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/ngxkeep/ngxkeep/parser"
)

// Role says how an instance sits in the topology. Roles are computed from
// the links between the instances of a run and from declared tiers.
type Role uint8

const (
	// RoleFrontend: the instance proxies to another instance or a declared
	// app tier.
	RoleFrontend Role = 1 << iota
	// RoleBackend: another instance proxies to it, or a declared load
	// balancer sits in front of it.
	RoleBackend
)

// Instance is one nginx instance of a run: a config named on the command
// line, with indexes and facts computed once and shared by all rules.
// Instances are read-only once the engine has started.
type Instance struct {
	// Path is the main file as given ("-" for stdin).
	Path   string
	Config *parser.Config
	// Tree is the include-expanded tree (Config.Tree()).
	Tree *parser.Node
	// Role is set by the engine from the topology.
	Role Role

	byName    map[string][]*parser.Node
	upstreams []*Upstream
	upByName  map[string]*Upstream
	upByNode  map[*parser.Node]*Upstream
	proxies   []*Proxy
	servers   []*Server
	files     map[*parser.File]string // display names

	serverIdxOnce sync.Once // rules run in parallel
	serverIdx     map[*parser.Node]*Server
}

// NewInstance indexes a parsed config for linting. path is the main file as
// the user gave it; tree is the config's include-expanded tree (nil means
// cfg.Tree()). One walk of
// the tree indexes every directive by name and collects upstreams, proxy
// targets and server blocks.
func NewInstance(path string, cfg *parser.Config, tree *parser.Node) *Instance {
	if tree == nil && cfg != nil {
		tree = cfg.Tree()
	}
	in := &Instance{Path: path, Config: cfg, Tree: tree,
		byName: make(map[string][]*parser.Node, 256), files: map[*parser.File]string{}}
	var passes []*parser.Node
	if tree != nil {
		// Two walks: the first counts the directives of each name, so
		// that the second fills slices carved from one backing array
		// instead of growing one slice per name by doubling.
		count := make(map[string]int, 256)
		total := 0
		var countWalk func(n *parser.Node)
		countWalk = func(n *parser.Node) {
			total += len(n.Children)
			for _, c := range n.Children {
				count[c.Name]++
				if len(c.Children) > 0 {
					countWalk(c)
				}
			}
		}
		countWalk(tree)
		backing := make([]*parser.Node, total)
		npasses := 0
		for name, k := range count {
			in.byName[name] = backing[:0:k]
			backing = backing[k:]
			if passModules[name] != 0 {
				npasses += k
			}
		}
		passes = make([]*parser.Node, 0, npasses)
		var walk func(n *parser.Node)
		walk = func(n *parser.Node) {
			for _, c := range n.Children {
				in.byName[c.Name] = append(in.byName[c.Name], c)
				if passModules[c.Name] != 0 {
					passes = append(passes, c)
				}
				if len(c.Children) > 0 {
					walk(c)
				}
			}
		}
		walk(tree)
	}
	in.collect(passes)
	if cfg != nil {
		for _, f := range cfg.Files {
			in.files[f] = computeDisplayName(in, f)
		}
	}
	return in
}

// Nodes returns every directive called name in tree order (each use of an
// included file separately). The slice must not be modified.
func (in *Instance) Nodes(name string) []*parser.Node { return in.byName[name] }

// NodesIn returns the directives called name whose context is in ctx (a
// mask such as parser.CtxHTTP|parser.CtxServer|parser.CtxLocation), in
// tree order. The slice must not be modified: when every directive of
// that name matches, it is the one Nodes returns.
func (in *Instance) NodesIn(name string, ctx parser.Context) []*parser.Node {
	all := in.byName[name]
	k := 0
	for _, n := range all {
		if n.Ctx&ctx != 0 {
			k++
		}
	}
	switch k {
	case len(all):
		return all
	case 0:
		return nil
	}
	out := make([]*parser.Node, 0, k)
	for _, n := range all {
		if n.Ctx&ctx != 0 {
			out = append(out, n)
		}
	}
	return out
}

// Upstreams returns the http upstream{} blocks in tree order.
func (in *Instance) Upstreams() []*Upstream { return in.upstreams }

// Upstream returns the http upstream{} block called name (nginx compares
// names case-insensitively), or nil.
func (in *Instance) Upstream(name string) *Upstream { return in.upByName[strings.ToLower(name)] }

// Proxies returns every http *_pass directive (proxy_pass, fastcgi_pass,
// uwsgi_pass, scgi_pass, grpc_pass, memcached_pass) in tree order.
func (in *Instance) Proxies() []*Proxy { return in.proxies }

// Servers returns the http server{} blocks in tree order.
func (in *Instance) Servers() []*Server { return in.servers }

// ServerOf returns the Server of the server block node n, or nil when n is
// not one of this instance's server blocks. The index behind it is built
// on first use: a rule that looks up one server per finding stays linear
// in the size of the config.
func (in *Instance) ServerOf(n *parser.Node) *Server {
	in.serverIdxOnce.Do(func() {
		in.serverIdx = make(map[*parser.Node]*Server, len(in.servers))
		for _, s := range in.servers {
			in.serverIdx[s.Node] = s
		}
	})
	return in.serverIdx[n]
}

// DisplayName returns the name findings use for f: the main file's path as
// given, and included files joined to its directory (see Finding.File).
func (in *Instance) DisplayName(f *parser.File) string { return displayName(in, f) }

func displayName(in *Instance, f *parser.File) string {
	if f == nil {
		return ""
	}
	if in == nil {
		return f.Name
	}
	if s, ok := in.files[f]; ok {
		return s
	}
	return computeDisplayName(in, f)
}

// computeDisplayName derives a file's display name; NewInstance caches it
// for every file of the config, so that concurrent passes only read.
func computeDisplayName(in *Instance, f *parser.File) string {
	name := f.Name
	switch {
	case in.Config != nil && in.Config.Dump:
		// "nginx -T" sections: the path nginx recorded.
		name = f.Path
	case in.Config != nil && f == in.Config.Main:
		name = in.Path
		if name != "-" {
			name = filepath.ToSlash(filepath.Clean(name))
		}
	case !filepath.IsAbs(name) && in.Path != "-" && in.Path != "":
		if dir := filepath.Dir(in.Path); dir != "." {
			name = filepath.ToSlash(filepath.Join(dir, name))
		}
	}
	return name
}

// Upstream is an http upstream{} block.
type Upstream struct {
	Node *parser.Node
	Name string
	// Servers are the block's server directives.
	Servers []*UpstreamServer
	// Keepalive is the explicit keepalive directive, nil when absent.
	Keepalive *parser.Node
	// Balancer is the load-balancing directive (hash, ip_hash, least_conn,
	// random, least_time, sticky...), nil for round-robin.
	Balancer *parser.Node
	// Zone is the zone directive, nil when absent.
	Zone *parser.Node
	// Users are the *_pass directives whose target can name this
	// upstream: literally, or through variables (Proxy.Route).
	Users []*Proxy

	// The keepalive directive's parts, read once (see Pass.Pool).
	kaSize  int
	kaLocal bool
	lost    *parser.Node

	// only holds this upstream alone: the Route of every Proxy that names
	// just this block (capacity 1, so appending to it copies).
	only [1]*Upstream
}

// Child returns the upstream's first directive called name, or nil.
func (u *Upstream) Child(name string) *parser.Node { return Child(u.Node, name) }

// Peers counts u's addresses the way ngx_http_upstream_init_round_robin
// does (primary plus backup servers): n is all of them, live those not
// marked down (the tries of a request). exact is false when a server is a
// host name, whose address count is known only at startup, or is resolved
// at run time.
func (u *Upstream) Peers() (n, live int, exact bool) {
	exact = true
	for _, s := range u.Servers {
		n++
		if _, down := s.Params["down"]; !down {
			live++
		}
		if s.AddrErr != nil || s.Addr.IsHostName() {
			exact = false
		}
		if _, ok := s.Params["resolve"]; ok {
			exact = false
		}
	}
	return n, live, exact
}

// UpstreamServer is a server directive of an upstream block.
type UpstreamServer struct {
	Node *parser.Node
	Addr Addr
	// AddrErr is set when the address could not be parsed.
	AddrErr error
	// Params holds the parameters after the address: "weight" → "5",
	// "backup" → "".
	Params map[string]string
}

// Module is the upstream protocol of a *_pass directive.
type Module uint8

const (
	ModuleProxy Module = iota + 1
	ModuleFastCGI
	ModuleUWSGI
	ModuleSCGI
	ModuleGRPC
	ModuleMemcached
)

var passModules = map[string]Module{
	"proxy_pass":     ModuleProxy,
	"fastcgi_pass":   ModuleFastCGI,
	"uwsgi_pass":     ModuleUWSGI,
	"scgi_pass":      ModuleSCGI,
	"grpc_pass":      ModuleGRPC,
	"memcached_pass": ModuleMemcached,
}

// Prefix is the directive prefix of the module ("proxy", "fastcgi", ...),
// so rules can name its settings: m.Prefix()+"_next_upstream".
func (m Module) Prefix() string {
	switch m {
	case ModuleProxy:
		return "proxy"
	case ModuleFastCGI:
		return "fastcgi"
	case ModuleUWSGI:
		return "uwsgi"
	case ModuleSCGI:
		return "scgi"
	case ModuleGRPC:
		return "grpc"
	case ModuleMemcached:
		return "memcached"
	}
	return ""
}

// Proxy is one *_pass directive at one place of use.
type Proxy struct {
	// Node is the *_pass directive.
	Node *parser.Node
	// Module is the upstream protocol; Variable is true when the target
	// contains variables: nginx resolves it per request (an upstream{} of
	// that name if one exists, else the resolver); Route says which blocks
	// the values can name. (With scheme, they fill one word.)
	Module   Module
	Variable bool
	scheme   uint8 // index in schemeNames (see Scheme)
	// Host is the host part of the target: an upstream name or an address
	// host (empty for unix sockets).
	Host string
	// URI is the part after the host and port ("" when none).
	URI string
	// Upstream is the explicit upstream{} the target names: a literal
	// name, or variables whose every value names this one block (set,
	// map, geo, split_clients; see Route). Nil for an address (an implicit
	// upstream) and for targets that can reach several blocks or none.
	Upstream *Upstream
	// route is Route when it is not just Upstream (see Route).
	route *Route
	// addr is set for a target that is an address or cannot be read
	// (see Addr): most name an upstream{} block and have none.
	addr *proxyAddr

	conn proxyConn // see Pass.Conn
}

// schemeNames are the schemes of *_pass targets (parser.Target.Scheme),
// "" first.
var schemeNames = [...]string{"", "http", "https", "grpc", "grpcs", "uwsgi", "suwsgi"}

// Target returns the argument as nginx uses it (unquoted).
func (p *Proxy) Target() string {
	if len(p.Node.Args) != 1 {
		return "" // not a valid *_pass (parser.ProxyTarget)
	}
	return p.Node.Args[0].Value
}

// Scheme is "http", "https", "grpc", "grpcs", "uwsgi" or "suwsgi" when the
// target has one, else "".
func (p *Proxy) Scheme() string { return schemeNames[p.scheme] }

// Route returns every upstream{} block the target can name, and what else
// it can reach. Most targets name one block (Upstream): their Route is
// that block alone, and shares its slice with every such Proxy.
func (p *Proxy) Route() Route {
	if p.route != nil {
		return *p.route
	}
	if p.Upstream != nil {
		return Route{Upstreams: p.Upstream.only[:]}
	}
	return Route{}
}

// proxyAddr is the address part of a Proxy whose target has one.
type proxyAddr struct {
	addr Addr
	err  error
}

// Addr returns the address of an implicit upstream (when Upstream is nil,
// Variable is false and AddrErr is nil); the zero Addr for others.
func (p *Proxy) Addr() Addr {
	if p.addr == nil {
		return Addr{}
	}
	return p.addr.addr
}

// AddrErr returns why the target's address could not be read, nil when it
// could or when the target has none.
func (p *Proxy) AddrErr() error {
	if p.addr == nil {
		return nil
	}
	return p.addr.err
}

// Block returns the block that holds the directive (location, if in
// location, limit_except).
func (p *Proxy) Block() *parser.Node { return p.Node.Parent }

// Location returns the nearest location enclosing the directive.
func (p *Proxy) Location() *parser.Node { return Enclosing(p.Node, "location") }

// Server returns the http server enclosing the directive.
func (p *Proxy) Server() *parser.Node { return Enclosing(p.Node, "server") }

// Child returns the first child directive of n called name, or nil.
func Child(n *parser.Node, name string) *parser.Node {
	if n == nil {
		return nil
	}
	return n.First(name)
}

// Children returns the child directives of n called name
// (parser.Node.Find). The slice must not be modified.
func Children(n *parser.Node, name string) []*parser.Node {
	if n == nil {
		return nil
	}
	return n.Find(name)
}

// Enclosing returns the nearest ancestor of n called name, or nil.
func Enclosing(n *parser.Node, name string) *parser.Node {
	for p := n.Parent; p != nil && !p.IsRoot(); p = p.Parent {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// ArgValue returns the value of argument i of n, or "" when absent.
func ArgValue(n *parser.Node, i int) string {
	if n == nil || n.Directive == nil || i >= len(n.Args) {
		return ""
	}
	return n.Args[i].Value
}

// ArgsText returns n's arguments as written in the config (quotes and
// escapes kept), separated by single spaces: "~ ^/api/", for messages.
func ArgsText(n *parser.Node) string {
	if n == nil || n.Directive == nil {
		return ""
	}
	parts := make([]string, len(n.Args))
	for i, a := range n.Args {
		parts[i] = a.Raw
	}
	return strings.Join(parts, " ")
}

var balancers = map[string]bool{
	"hash": true, "ip_hash": true, "least_conn": true, "random": true,
	"least_time": true, "sticky": true, "ntlm": false,
}

func (in *Instance) collect(passes []*parser.Node) {
	in.upByName = map[string]*Upstream{}
	in.upByNode = map[*parser.Node]*Upstream{}
	for _, n := range in.byName["upstream"] {
		if n.Ctx&parser.CtxHTTP == 0 || n.Directive == nil || len(n.Args) == 0 {
			continue
		}
		u := &Upstream{Node: n, Name: n.Args[0].Value}
		u.only[0] = u
		if k := countNamed(n.Children, "server"); k > 0 {
			u.Servers = make([]*UpstreamServer, 0, k)
		}
		for _, c := range n.Children {
			switch {
			case c.Name == "server":
				u.Servers = append(u.Servers, parseUpstreamServer(c))
			case c.Name == "keepalive":
				if u.Keepalive == nil {
					u.Keepalive = c
				}
			case c.Name == "zone":
				u.Zone = c
			case balancers[c.Name]:
				u.Balancer = c
			}
		}
		u.readKeepalive()
		in.upstreams = append(in.upstreams, u)
		in.upByNode[n] = u
		key := strings.ToLower(u.Name)
		if _, dup := in.upByName[key]; !dup {
			in.upByName[key] = u
		}
	}
	// One array holds every Proxy (6,000 on the 2k tree).
	slab := make([]Proxy, 0, len(passes))
	in.proxies = make([]*Proxy, 0, len(passes))
	for _, n := range passes {
		if n.Ctx&(parser.CtxLocation|parser.CtxLocationIf|parser.CtxLimitExcept) == 0 {
			continue
		}
		slab = append(slab, Proxy{})
		p := &slab[len(slab)-1]
		in.initProxy(p, n, passModules[n.Name])
		p.readConn()
		in.proxies = append(in.proxies, p)
	}
	for _, p := range in.proxies {
		for _, u := range p.Route().Upstreams {
			u.Users = append(u.Users, p)
		}
	}
	for _, n := range in.byName["server"] {
		if n.Ctx == parser.CtxHTTP {
			in.servers = append(in.servers, newServer(n))
		}
	}
}

// countNamed counts the nodes called name.
func countNamed(nodes []*parser.Node, name string) int {
	k := 0
	for _, n := range nodes {
		if n.Name == name {
			k++
		}
	}
	return k
}

func parseUpstreamServer(n *parser.Node) *UpstreamServer {
	s := &UpstreamServer{Node: n, Params: map[string]string{}}
	if len(n.Args) == 0 {
		return s
	}
	s.Addr, _, s.AddrErr = ParseAddr(n.Args[0].Value, 80, false)
	for _, a := range n.Args[1:] {
		k, v, _ := strings.Cut(a.Value, "=")
		s.Params[k] = v
	}
	return s
}

// initProxy fills p for the *_pass directive n of module m.
func (in *Instance) initProxy(p *Proxy, n *parser.Node, m Module) {
	*p = Proxy{Node: n, Module: m}
	t := parser.ProxyTarget(n)
	p.URI = t.URI
	p.scheme = uint8(max(0, slices.Index(schemeNames[:], t.Scheme)))
	p.Host = strings.ToLower(t.Host)
	p.Variable = t.Kind == parser.TargetVariable
	var literal *Upstream
	switch {
	case t.Upstream != nil:
		if !p.Variable {
			literal = in.upByNode[t.Upstream]
		}
	case t.Err != "":
		p.addr = &proxyAddr{err: errors.New(t.Err)}
	case p.Variable:
	case t.Unix != "":
		p.addr = &proxyAddr{addr: Addr{Unix: t.Unix}}
	case t.Port == 0 && m != ModuleProxy && p.Scheme() == "":
		// fastcgi_pass host; without a port and without upstream{}:
		// nginx fails with "no port in upstream".
		p.addr = &proxyAddr{err: fmt.Errorf("no port in upstream %q", t.Host)}
	default:
		port := t.Port
		if port == 0 {
			port = 80
			switch p.Scheme() {
			case "https", "grpcs", "suwsgi":
				port = 443
			}
		}
		host := p.Host
		if host == "*" || host == "0.0.0.0" {
			host = "*"
		}
		p.addr = &proxyAddr{addr: Addr{Host: host, Port: port}}
	}
	r := routeOf(in, p, literal)
	if len(r.Upstreams) == 1 && r.Other == "" {
		p.Upstream = r.Upstreams[0]
	}
	if p.Upstream == nil || r.Via != nil {
		p.route = &r // not just Upstream (see Route)
	}
}

// Server is an http server{} block with its listen sockets and names.
type Server struct {
	Node *parser.Node
	// Listens are the server's listen directives; a server without one
	// listens on *:80 (nginx uses 8000 when not started as root; we assume
	// root), recorded with a nil Node.
	Listens []Listen
	// Names are the server_name values; empty means "" (no name).
	Names []string
	// Locations are every location of the server, nested ones included,
	// in tree order.
	Locations []*parser.Node
}

// Listen is one listen directive.
type Listen struct {
	Node          *parser.Node
	Addr          Addr
	AddrErr       error
	SSL           bool
	HTTP2         bool
	ProxyProtocol bool
	DefaultServer bool
	// DualStack is set for [::]:port with ipv6only=off: the socket also
	// accepts IPv4 connections.
	DualStack bool
}

func newServer(n *parser.Node) *Server {
	s := &Server{Node: n}
	for _, c := range n.Children {
		switch c.Name {
		case "listen":
			if len(c.Args) == 0 {
				continue
			}
			l := Listen{Node: c}
			l.Addr, _, l.AddrErr = ParseAddr(c.Args[0].Value, 80, true)
			for _, a := range c.Args[1:] {
				switch a.Value {
				case "ssl":
					l.SSL = true
				case "http2":
					l.HTTP2 = true
				case "proxy_protocol":
					l.ProxyProtocol = true
				case "default_server", "default":
					l.DefaultServer = true
				case "ipv6only=off":
					l.DualStack = l.Addr.Host == "::"
				}
			}
			s.Listens = append(s.Listens, l)
		case "server_name":
			if s.Names == nil {
				s.Names = make([]string, 0, len(c.Args))
			}
			for _, a := range c.Args {
				s.Names = append(s.Names, strings.ToLower(a.Value))
			}
		}
	}
	if len(s.Listens) == 0 {
		s.Listens = []Listen{{Addr: Addr{Host: "*", Port: 80}}}
	}
	// Counted, then filled: appending one by one left the smaller arrays
	// behind, for each of thousands of servers.
	var count func(n *parser.Node) int
	count = func(n *parser.Node) int {
		k := 0
		for _, c := range n.Children {
			if c.Name == "location" && c.Block != nil {
				k += 1 + count(c)
			}
		}
		return k
	}
	if k := count(n); k > 0 {
		s.Locations = make([]*parser.Node, 0, k)
	}
	var walk func(n *parser.Node)
	walk = func(n *parser.Node) {
		for _, c := range n.Children {
			if c.Name == "location" && c.Block != nil {
				s.Locations = append(s.Locations, c)
				walk(c)
			}
		}
	}
	walk(n)
	return s
}
