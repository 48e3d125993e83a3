package parser

import (
	"strconv"
	"strings"
)

// TargetKind says how a *_pass directive chooses its upstream.
type TargetKind uint8

const (
	// TargetUpstream: the address names an explicit upstream{} block.
	TargetUpstream TargetKind = iota + 1
	// TargetImplicit: a literal address (host:port, IP, unix socket); nginx
	// builds an implicit upstream that never caches connections.
	TargetImplicit
	// TargetVariable: the address contains variables and is evaluated per
	// request; Target.Upstream is set when the only value it can take
	// names an upstream{} block.
	TargetVariable
)

func (k TargetKind) String() string {
	switch k {
	case TargetUpstream:
		return "upstream"
	case TargetImplicit:
		return "implicit"
	case TargetVariable:
		return "variable"
	}
	return "invalid"
}

// Target describes the destination of a proxy_pass, fastcgi_pass,
// grpc_pass, uwsgi_pass, scgi_pass or memcached_pass directive.
type Target struct {
	Directive string // the directive's name
	Raw       string // the argument's value as written (unquoted)
	Kind      TargetKind
	// Scheme is "http" or "https" for proxy_pass, "grpc"/"grpcs" for
	// grpc_pass, "uwsgi"/"suwsgi" for uwsgi_pass; empty when the directive
	// has no scheme (fastcgi_pass, scgi_pass, memcached_pass, or grpc_pass
	// and uwsgi_pass without one).
	Scheme string
	Host   string // host name, IP address or upstream name; empty for unix sockets
	Port   int    // 0 when the address has no port
	Unix   string // socket path of a "unix:" address
	// URI is the part after the address (proxy_pass "http://b/api/" has
	// "/api/"); HasURI tells "http://b/" (replace the location prefix) from
	// "http://b" (pass the request URI unchanged).
	URI    string
	HasURI bool
	// Upstream is the upstream{} block requests go to, when known.
	Upstream *Node
	// Via is the "set" directive whose constant value turned a variable
	// address into Upstream (set $backend app; proxy_pass http://$backend).
	Via *Node
	// Err describes an address nginx would reject ("invalid URL prefix");
	// empty when the address is well-formed.
	Err string
}

// IsPass reports whether name is a directive ProxyTarget understands.
func IsPass(name string) bool {
	switch name {
	case "proxy_pass", "fastcgi_pass", "grpc_pass", "uwsgi_pass", "scgi_pass", "memcached_pass":
		return true
	}
	return false
}

// ProxyTarget describes the destination of the *_pass directive n
// (see IsPass). For a variable address it resolves a variable that is
// only ever "set" to one constant in the scopes that run before n.
func ProxyTarget(n *Node) Target {
	t := Target{}
	if n == nil || n.Directive == nil || !IsPass(n.Name) {
		t.Err = "not a *_pass directive"
		return t
	}
	t.Directive = n.Name
	if len(n.Args) != 1 {
		t.Err = "invalid number of arguments"
		return t
	}
	t.Raw = n.Args[0].Value
	addr, err := stripScheme(&t, t.Raw)
	if err != "" {
		t.Err = err
		return t
	}
	if i := strings.Index(addr, "://"); i >= 0 && strings.IndexByte(addr[:i], '$') >= 0 {
		addr = addr[i+3:] // the scheme is a variable ("$scheme://app")
	}
	parseAddress(&t, addr)
	t.Kind = TargetImplicit
	if strings.IndexByte(t.Raw, '$') >= 0 {
		t.Kind = TargetVariable
		if strings.IndexByte(t.Host, '$') >= 0 || strings.IndexByte(t.Unix, '$') >= 0 {
			resolved, via := substituteSet(n, addr)
			if via == nil {
				t.Host, t.Port, t.Unix = "", 0, ""
				return t
			}
			t.Via = via
			t.URI, t.HasURI, t.Err = "", false, ""
			parseAddress(&t, resolved)
		}
	}
	// ngx_http_upstream_add: an address without a port names the
	// upstream{} block of that name (case-insensitive), if there is one.
	if t.Unix == "" && t.Port == 0 && t.Err == "" {
		if up := n.Config().Upstream(t.Host); up != nil {
			t.Upstream = up
			if t.Kind == TargetImplicit {
				t.Kind = TargetUpstream
			}
		}
	}
	return t
}

// stripScheme removes and records the scheme of addr as the directive
// requires it (ngx_http_proxy_pass: "invalid URL prefix").
func stripScheme(t *Target, addr string) (string, string) {
	var schemes []string
	required := false
	switch t.Directive {
	case "proxy_pass":
		schemes, required = []string{"http", "https"}, true
	case "grpc_pass":
		schemes = []string{"grpc", "grpcs"}
	case "uwsgi_pass":
		schemes = []string{"uwsgi", "suwsgi"}
	}
	for _, s := range schemes {
		if len(addr) > len(s)+3 && strings.EqualFold(addr[:len(s)+3], s+"://") {
			t.Scheme = s
			return addr[len(s)+3:], ""
		}
	}
	if required && strings.IndexByte(addr, '$') < 0 {
		return "", "invalid URL prefix"
	}
	if required {
		// A variable may hold the scheme ("proxy_pass $target").
		return addr, ""
	}
	return addr, ""
}

// parseAddress splits host[:port][/uri] or unix:path[:uri].
func parseAddress(t *Target, addr string) {
	if rest, ok := strings.CutPrefix(addr, "unix:"); ok {
		path, uri, hasURI := strings.Cut(rest, ":")
		t.Unix = path
		if hasURI {
			t.URI, t.HasURI = uri, true
		}
		return
	}
	hostport := addr
	if i := uriStart(addr); i >= 0 {
		hostport, t.URI, t.HasURI = addr[:i], addr[i:], true
	}
	host, port := hostport, ""
	if strings.HasPrefix(hostport, "[") {
		if end := strings.IndexByte(hostport, ']'); end >= 0 {
			host = hostport[:end+1]
			port = strings.TrimPrefix(hostport[end+1:], ":")
		}
	} else if i := strings.LastIndexByte(hostport, ':'); i >= 0 {
		host, port = hostport[:i], hostport[i+1:]
	}
	t.Host = host
	if port == "" {
		return // no port: Atoi would allocate an error to say so
	}
	if p, err := strconv.Atoi(port); err == nil && p > 0 && p < 65536 {
		t.Port = p
	} else {
		t.Err = "invalid port in \"" + addr + "\""
	}
}

// uriStart returns where the URI part of addr begins: at the first "/", or
// at a variable whose value always starts with one ($request_uri, $uri,
// $document_uri), or -1.
func uriStart(addr string) int {
	end := strings.IndexByte(addr, '/')
	for _, v := range []string{"$request_uri", "$uri", "$document_uri"} {
		i := strings.Index(addr, v)
		if i < 0 || (end >= 0 && i > end) {
			continue
		}
		if name, _ := varName(addr[i+1:]); name == v[1:] {
			end = i
		}
	}
	return end
}

// substituteSet replaces the one variable of addr ("$name" or "${name}")
// by the constant value every "set" of it that runs for requests reaching n
// gives it (in n's location, its enclosing locations and server, and their
// "if" blocks). It returns the new address and one of those "set" nodes, or
// nil when the value is not a single constant.
func substituteSet(n *Node, addr string) (string, *Node) {
	i := strings.IndexByte(addr, '$')
	if i < 0 || strings.IndexByte(addr[i+1:], '$') >= 0 {
		return "", nil
	}
	name, rest := varName(addr[i+1:])
	if name == "" {
		return "", nil
	}
	var value string
	var via *Node
	consistent := true
	visit := func(m *Node) {
		if m.Name != "set" || len(m.Args) != 2 || m.Args[0].Value != "$"+name {
			return
		}
		v := m.Args[1].Value
		if strings.IndexByte(v, '$') >= 0 || (via != nil && v != value) {
			consistent = false
			return
		}
		value, via = v, m
	}
	for level := n.Parent; level != nil && level.Directive != nil; level = level.Parent {
		ctx := level.ChildContext()
		if ctx != CtxLocation && ctx != CtxServer && ctx != CtxLocationIf && ctx != CtxServerIf {
			break
		}
		for _, c := range level.Children {
			visit(c)
			if c.Name == "if" {
				for _, ic := range c.Children {
					visit(ic)
				}
			}
		}
	}
	if !consistent || via == nil {
		return "", nil
	}
	return addr[:i] + value + rest, via
}

// varName splits "name..." or "{name}..." after a "$".
func varName(s string) (name, rest string) {
	if strings.HasPrefix(s, "{") {
		end := strings.IndexByte(s, '}')
		if end < 0 {
			return "", ""
		}
		return s[1:end], s[end+1:]
	}
	i := 0
	for i < len(s) && (s[i] == '_' || s[i] >= 'a' && s[i] <= 'z' || s[i] >= 'A' && s[i] <= 'Z' || s[i] >= '0' && s[i] <= '9') {
		i++
	}
	return s[:i], s[i:]
}

// Upstream returns the http upstream{} block named name (nginx compares
// upstream names case-insensitively), or nil.
func (c *Config) Upstream(name string) *Node {
	if c == nil || c.tree == nil {
		return nil
	}
	t := c.tree.tree()
	if t == nil {
		return nil
	}
	return t.upstreams[strings.ToLower(name)]
}
