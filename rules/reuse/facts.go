package reuse

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/ngxkeep/ngxkeep/lint"
	"github.com/ngxkeep/ngxkeep/parser"
)

// This file holds what several reuse rules need to know about one place of
// use: which upstream{} blocks a *_pass can reach, whether nginx gives them
// a keep-alive cache at the target version, and which request headers and
// protocol version the proxy module sends there.

// facts answers "what does nginx use here" for one rule run. It walks the
// levels itself over a shared per-block index of directives (ownDirectives)
// and asks Pass.Effective only for defaults; the answers rules need at
// every proxy are shared between the reuse rules as lint Facts (proxyView).
type facts struct {
	pass     *lint.Pass
	defaults map[string]parser.Setting
}

func newFacts(pass *lint.Pass) *facts { return &facts{pass: pass} }

type declKey struct {
	b    *parser.Node
	name string
}

// bigBlock is the number of children above which a block's directives are
// indexed once per run (the http block of a large config has thousands);
// smaller blocks are scanned directly.
const bigBlock = 32

// ownOf returns block b's own directives called name.
func (fx *facts) ownOf(b *parser.Node, name string) []*parser.Node {
	if len(b.Children) > bigBlock {
		return ownDirectives.Get(fx.pass, declKey{b, name})
	}
	var ds []*parser.Node
	for _, c := range b.Children {
		if c.Name == name {
			ds = append(ds, c)
		}
	}
	return ds
}

// ownDirectives is block b's own directives called name.
var ownDirectives = lint.NewFact(func(_ *lint.Pass, k declKey) []*parser.Node {
	var ds []*parser.Node
	for _, c := range k.b.Children {
		if c.Name == k.name {
			ds = append(ds, c)
		}
	}
	return ds
})

// setting returns the explicit setting of name in effect at n (a
// directive or a block): the directives of the nearest level that declares
// it (for array directives such as proxy_set_header, the whole list of that
// level: ngx_conf_merge inherits arrays all-or-nothing), or a Setting
// without Node when no level does (the default applies; see
// settingOrDefault).
func (fx *facts) setting(n *parser.Node, name string) parser.Setting {
	for b := blockOf(n); b != nil && !b.IsRoot(); b = b.Parent {
		if ds := fx.ownOf(b, name); len(ds) > 0 {
			last := ds[len(ds)-1]
			s := parser.Setting{Name: name, Node: last, Nodes: ds, Version: fx.pass.Target}
			for _, a := range last.Args {
				s.Args = append(s.Args, a.Value)
			}
			return s
		}
		if b.Name == "upstream" {
			break
		}
	}
	return parser.Setting{Name: name, Version: fx.pass.Target}
}

// settingOrDefault is setting with the target's default (from
// Pass.Effective) when no level declares name.
func (fx *facts) settingOrDefault(n *parser.Node, name string) parser.Setting {
	s := fx.setting(n, name)
	if s.Node != nil {
		return s
	}
	d, ok := fx.defaults[name]
	if !ok {
		d = fx.pass.Effective(n, name)
		if fx.defaults == nil {
			fx.defaults = map[string]parser.Setting{}
		}
		fx.defaults[name] = d
	}
	return d
}

// proxyView is what the reuse rules ask about every proxy_pass: the
// upstreams with a cache it reaches, its proxy_set_header list and its
// protocol version.
type proxyView struct {
	ups     []*lint.Upstream
	caches  []cache
	headers headerList
	version string
	vnode   *parser.Node
}

var proxyViews = lint.NewFact(func(pass *lint.Pass, p *lint.Proxy) *proxyView {
	fx := newFacts(pass)
	v := &proxyView{}
	v.ups, v.caches = fx.reachCaches(pass.InstanceOf(p.Node), p)
	v.headers = fx.headersAt(p.Node, "proxy")
	v.version, v.vnode = fx.versionAt(p)
	return v
})

// view returns the shared proxyView of p.
func (fx *facts) view(p *lint.Proxy) *proxyView { return proxyViews.Get(fx.pass, p) }

// cache is the keep-alive cache nginx gives an upstream{} block.
type cache struct {
	size  int
	local bool
	// node is the keepalive directive; nil for the implicit 1.29.7+ cache.
	node *parser.Node
}

// explicit reports whether the cache was asked for with a keepalive
// directive.
func (c cache) explicit() bool { return c.node != nil }

// describe says where the cache comes from, for messages:
// "keepalive 16" or "the implicit keepalive 32 local of nginx >= 1.29.7".
func (c cache) describe() string {
	if c.node == nil {
		return "the implicit \"keepalive 32 local\" of nginx >= 1.29.7"
	}
	s := "keepalive " + strconv.Itoa(c.size)
	if c.local {
		s += " local"
	}
	return s
}

// cacheOf returns the cache of upstream u at target, and false when u has
// none. It mirrors ngx_http_upstream_keepalive (the directive) and, from
// 1.29.7, ngx_http_upstream_keepalive_init_main_conf, which gives every
// explicit upstream without the directive "keepalive 32 local" and treats
// "keepalive 0" as off. Implicit upstreams (proxy_pass to an address) are
// never passed here: they have no cache on any version.
func cacheOf(u *lint.Upstream, target parser.Version) (cache, bool) {
	if u == nil {
		return cache{}, false
	}
	if k := u.Keepalive; k != nil {
		n, err := strconv.Atoi(lint.ArgValue(k, 0))
		if err != nil || n <= 0 {
			// "keepalive 0": off from 1.29.7, a config error before.
			return cache{}, false
		}
		return cache{size: n, local: lint.ArgValue(k, 1) == "local", node: k}, true
	}
	if target.AtLeast(parser.V1_29_7) {
		return cache{size: 32, local: true}, true
	}
	return cache{}, false
}

// route is what a *_pass directive can reach: the explicit upstream{}
// blocks its target names, and whether some value of the target names
// none (an implicit upstream, never pooled).
type route struct {
	ups []*lint.Upstream
	// other, when not empty, describes a value of the target that names no
	// upstream{} block: "the address 127.0.0.1:8080", "$arg_host (taken
	// from the request)".
	other string
	// via is the set/map directive that produced other, when one did.
	via *parser.Node
}

// routeOf resolves the target of p. A literal target names an upstream{}
// block or an address (ngx_http_upstream_add). A target with variables is
// evaluated per request and matched against the upstream{} names
// (ngx_http_upstream_init_request): we follow "set" and "map" (also geo and
// split_clients) to the constant values the variables can take.
func routeOf(in *lint.Instance, p *lint.Proxy) route {
	if !p.Variable {
		if p.Upstream != nil {
			return route{ups: []*lint.Upstream{p.Upstream}}
		}
		return route{other: "the address " + literalAddr(p)}
	}
	r := route{}
	tmpl := hostTemplate(p)
	if strings.HasPrefix(tmpl, "unix:") {
		return route{other: "the unix socket " + tmpl}
	}
	vals, ok := expand(in, p.Node, tmpl, 0)
	if !ok {
		r.other = vals.unknown
		r.via = vals.via
		return r
	}
	seen := map[*lint.Upstream]bool{}
	for i, v := range vals.values {
		host := strings.ToLower(v)
		if j := strings.Index(host, "://"); j >= 0 {
			host = host[j+3:] // the variable held the scheme too
		}
		if j := strings.IndexByte(host, '/'); j >= 0 {
			host = host[:j]
		}
		// An explicit upstream has no port: a value with a port goes to
		// the resolver (uscf->port == 0 && no_port in
		// ngx_http_upstream_init_request).
		if u := in.Upstream(host); u != nil && !strings.Contains(host, ":") {
			if !seen[u] {
				seen[u] = true
				r.ups = append(r.ups, u)
			}
			continue
		}
		if r.other == "" {
			r.other = fmt.Sprintf("the value %q of %s, which names no upstream{} block", v, tmpl)
			r.via = vals.from[i]
		}
	}
	return r
}

// hostTemplate returns the address part of p's target as written, with
// its variables: "$backend" for "http://$backend/api$request_uri", the
// whole target when a variable holds the scheme too ("$target").
func hostTemplate(p *lint.Proxy) string {
	t := p.Target
	if len(p.Node.Args) > 0 {
		t = p.Node.Args[0].Value
	}
	if i := strings.Index(t, "://"); i >= 0 {
		t = t[i+3:]
	}
	if strings.HasPrefix(t, "unix:") {
		if i := strings.IndexByte(t[5:], ':'); i >= 0 {
			return t[:5+i]
		}
		return t
	}
	if i := strings.IndexByte(t, '/'); i >= 0 {
		t = t[:i]
	}
	return t
}

func literalAddr(p *lint.Proxy) string {
	if p.AddrErr == nil && (p.Addr.Host != "" || p.Addr.Unix != "") {
		return p.Addr.String()
	}
	return p.Target
}

// values are the constant strings a template can evaluate to.
type values struct {
	values []string
	from   []*parser.Node // the set/map entry each value came from
	// unknown describes why the values are not all known.
	unknown string
	via     *parser.Node
}

// maxValues bounds the expansion of templates with several variables.
const maxValues = 64

var varRef = regexp.MustCompile(`\$(?:\{([A-Za-z0-9_]+)\}|([A-Za-z0-9_]+))`)

// expand returns the constant values template (text with $var references)
// can take at node at. ok is false when a variable's value is not known
// statically (it comes from the request, a regex capture, a builtin).
func expand(in *lint.Instance, at *parser.Node, template string, depth int) (values, bool) {
	locs := varRef.FindAllStringSubmatchIndex(template, -1)
	if len(locs) == 0 {
		return values{values: []string{template}, from: []*parser.Node{nil}}, true
	}
	if depth > 4 {
		return values{unknown: template + " (defined through too many variables to follow)"}, false
	}
	out := values{values: []string{""}, from: []*parser.Node{nil}}
	last := 0
	for _, l := range locs {
		lit := template[last:l[0]]
		var name string
		if l[2] >= 0 {
			name = template[l[2]:l[3]]
		} else {
			name = template[l[4]:l[5]]
		}
		last = l[1]
		defs := variableValues(in, at, strings.ToLower(name), depth)
		if defs.unknown != "" {
			return defs, false
		}
		var next values
		for i, prefix := range out.values {
			for j, v := range defs.values {
				if len(next.values) >= maxValues {
					return values{unknown: template + " (too many possible values to follow)"}, false
				}
				from := out.from[i]
				if defs.from[j] != nil {
					from = defs.from[j]
				}
				next.values = append(next.values, prefix+lit+v)
				next.from = append(next.from, from)
			}
		}
		out.values, out.from = next.values, next.from
	}
	for i := range out.values {
		out.values[i] += template[last:]
	}
	return out, true
}

// variableValues returns the constant values variable name can have at
// node at: from "set $name ..." in the enclosing server, location and if
// blocks, or from a map/geo/split_clients block that defines it.
func variableValues(in *lint.Instance, at *parser.Node, name string, depth int) values {
	var out values
	found := false
	add := func(n *parser.Node, v string) bool {
		sub, ok := expand(in, n, v, depth+1)
		if !ok {
			out = values{unknown: fmt.Sprintf("$%s (set to %q)", name, v), via: n}
			if sub.via != nil {
				out.via = sub.via
			}
			return false
		}
		for i, s := range sub.values {
			out.values = append(out.values, s)
			if sub.from[i] != nil {
				out.from = append(out.from, sub.from[i])
			} else {
				out.from = append(out.from, n)
			}
		}
		return true
	}
	// set: the location's own rewrite directives and the server's run
	// before the proxy (an outer location's do not run for a nested one);
	// sets inside their if blocks may run too.
	for _, b := range rewriteBlocks(at) {
		for _, c := range setsIn(b) {
			if len(c.Args) >= 2 && strings.EqualFold(strings.TrimPrefix(c.Args[0].Value, "$"), name) {
				found = true
				if !add(c, c.Args[1].Value) {
					return out
				}
			}
		}
	}
	if found {
		return out
	}
	for _, kind := range []string{"map", "geo", "split_clients"} {
		for _, m := range in.Nodes(kind) {
			if m.Ctx&parser.CtxHTTP == 0 || len(m.Args) == 0 {
				continue
			}
			if !strings.EqualFold(strings.TrimPrefix(m.Args[len(m.Args)-1].Value, "$"), name) {
				continue
			}
			for _, e := range m.Children {
				if len(e.Args) == 0 || mapKeywords[e.Name] {
					continue
				}
				if !add(e, e.Args[len(e.Args)-1].Value) {
					return out
				}
			}
			return out
		}
	}
	return values{unknown: "$" + name + " (taken from the request)"}
}

// mapKeywords are the parameters of map/geo blocks that are not entries.
var mapKeywords = map[string]bool{
	"hostnames": true, "volatile": true, "ranges": true, "delete": true,
	"proxy": true, "proxy_recursive": true, "include": true,
}

// blockOf returns the block holding directive n (n itself for a block).
func blockOf(n *parser.Node) *parser.Node {
	if n.Directive != nil && n.Block == nil {
		return n.Parent
	}
	return n
}

// rewriteBlocks returns the blocks whose rewrite directives run for a
// request handled at n: the nearest location and the server.
func rewriteBlocks(n *parser.Node) []*parser.Node {
	var out []*parser.Node
	for b := blockOf(n); b != nil && !b.IsRoot(); b = b.Parent {
		switch b.Name {
		case "location":
			if len(out) == 0 {
				out = append(out, b)
			}
		case "server":
			return append(out, b)
		}
	}
	return out
}

// setsIn returns the set directives of block b and of the if blocks
// directly inside it.
func setsIn(b *parser.Node) []*parser.Node {
	var out []*parser.Node
	for _, c := range b.Children {
		switch c.Name {
		case "set":
			out = append(out, c)
		case "if":
			out = append(out, lint.Children(c, "set")...)
		}
	}
	return out
}

// pooled returns the upstreams p can reach that have a cache at target,
// with their caches.
func (fx *facts) pooled(_ *lint.Instance, p *lint.Proxy) ([]*lint.Upstream, []cache) {
	v := fx.view(p)
	return v.ups, v.caches
}

// reachCaches computes what pooled returns (uncached).
func (fx *facts) reachCaches(in *lint.Instance, p *lint.Proxy) ([]*lint.Upstream, []cache) {
	r := routeOf(in, p)
	var ups []*lint.Upstream
	var cs []cache
	for _, u := range r.ups {
		if c, ok := cacheOf(u, fx.pass.Target); ok {
			ups = append(ups, u)
			cs = append(cs, c)
		}
	}
	return ups, cs
}

// httpVersion returns the proxy_http_version nginx uses at p and the
// directive it comes from (nil for the default: 1.0 before 1.29.7, 1.1
// from then on, ngx_http_proxy_merge_loc_conf).
func (fx *facts) httpVersion(p *lint.Proxy) (string, *parser.Node) {
	v := fx.view(p)
	return v.version, v.vnode
}

// versionAt computes what httpVersion returns (uncached).
func (fx *facts) versionAt(p *lint.Proxy) (string, *parser.Node) {
	s := fx.setting(p.Node, "proxy_http_version")
	if s.Node != nil && len(s.Node.Args) > 0 {
		return s.Node.Args[0].Value, s.Node
	}
	return defaultHTTPVersion(fx.pass.Target), nil
}

// headerList is the proxy_set_header list that applies at a place: the
// directives of the nearest level that declares any (all-or-nothing
// inheritance, ngx_http_proxy_merge_loc_conf / ngx_http_proxy_init_headers).
type headerList struct {
	nodes []*parser.Node // nil when no level declares any
}

// level returns the block that declares the list, nil for none.
func (h headerList) level() *parser.Node {
	if len(h.nodes) == 0 {
		return nil
	}
	return h.nodes[0].Parent
}

// get returns the entries for header name (case-insensitive).
func (h headerList) get(name string) []*parser.Node {
	var out []*parser.Node
	for _, n := range h.nodes {
		if len(n.Args) >= 1 && strings.EqualFold(n.Args[0].Value, name) {
			out = append(out, n)
		}
	}
	return out
}

// headersAt returns the list that applies at n (a directive or a block).
func (fx *facts) headersAt(n *parser.Node, prefix string) headerList {
	if n == nil || n.IsRoot() {
		return headerList{}
	}
	return headerList{nodes: fx.setting(n, prefix+"_set_header").Nodes}
}

// inheritedHeaders returns the list a level would inherit if it declared
// none: the list in effect at its parent.
func (fx *facts) inheritedHeaders(level *parser.Node, prefix string) headerList {
	if level == nil || level.Parent == nil || level.Parent.IsRoot() {
		return headerList{}
	}
	return fx.headersAt(level.Parent, prefix)
}

// hasToken reports whether the comma-separated header value v holds token
// (case-insensitive), as nginx and HTTP read Connection.
func hasToken(v, token string) bool {
	for _, t := range strings.Split(v, ",") {
		if strings.EqualFold(strings.TrimSpace(t), token) {
			return true
		}
	}
	return false
}

// isConstant reports whether v has no variable references.
func isConstant(v string) bool { return !strings.Contains(v, "$") }

// insertAnchor returns the directive before which a location-level
// directive can be inserted for p: p itself when it sits directly in the
// location, else the if/limit_except block that holds it.
func insertAnchor(p *lint.Proxy) *parser.Node {
	n := p.Node
	if p.Location == nil {
		return n
	}
	for n.Parent != nil && n.Parent != p.Location {
		n = n.Parent
	}
	if n.Parent == nil {
		return p.Node
	}
	return n
}

// where names a proxy's place for messages: `location /api/`.
func where(p *lint.Proxy) string {
	if p.Location == nil {
		return "this location"
	}
	args := make([]string, len(p.Location.Args))
	for i, a := range p.Location.Args {
		args[i] = a.Raw
	}
	return "location " + strings.Join(args, " ")
}

// alsoOthers returns " and every other location that inherits it" when
// level (the block declaring a setting) is not p's own location.
func alsoOthers(p *lint.Proxy, level *parser.Node) string {
	if level == nil || level == p.Location {
		return ""
	}
	return " and every other location that inherits it"
}

// plural formats n with a singular or plural noun.
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// nginxAt names the target for messages: "nginx 1.22".
func nginxAt(v parser.Version) string { return "nginx " + v.String() }

// onceNodes remembers reported directives so that a directive inherited by
// several locations is reported once.
type onceNodes map[*parser.Node]bool

func (o onceNodes) first(n *parser.Node) bool {
	if o[n] {
		return false
	}
	o[n] = true
	return true
}

// equalFold compares header names case-insensitively.
func equalFold(a, b string) bool { return strings.EqualFold(a, b) }
