package lint

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/ngxkeep/ngxkeep/parser"
)

// Route is what a *_pass directive can reach: the explicit upstream{}
// blocks its target names, and whether some value of the target names
// none (an implicit upstream, which nginx never pools). It is computed once
// per instance (NewInstance) and used by the topology, Upstream.Users and
// every rule that asks where requests go.
type Route struct {
	// Upstreams are the upstream{} blocks the target's values name, each
	// once, in the order the values are written.
	Upstreams []*Upstream
	// Other, when not empty, describes a value of the target that names no
	// upstream{} block: "the address 127.0.0.1:8080", "$arg_host (taken
	// from the request)", `the value "10.0.0.1:81" of $b, which names no
	// upstream{} block`.
	Other string
	// Via is the set, map, geo or split_clients entry that produced Other,
	// when one did.
	Via *parser.Node
}

// routeOf resolves the target of p. A literal target names an upstream{}
// block or an address (ngx_http_upstream_add). A target with variables is
// evaluated per request and matched against the upstream{} names
// (ngx_http_upstream_init_request): we follow "set" and "map" (also geo
// and split_clients) to the constant values the variables can take.
func routeOf(in *Instance, p *Proxy, literal *Upstream) Route {
	if !p.Variable {
		if literal != nil {
			return Route{Upstreams: []*Upstream{literal}}
		}
		return Route{Other: "the address " + literalAddr(p)}
	}
	tmpl := hostTemplate(p)
	if strings.HasPrefix(tmpl, "unix:") {
		return Route{Other: "the unix socket " + tmpl}
	}
	vals, ok := expandVars(in, p.Node, tmpl, 0)
	if !ok {
		return Route{Other: vals.unknown, Via: vals.via}
	}
	r := Route{}
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
			if !containsUpstream(r.Upstreams, u) {
				r.Upstreams = append(r.Upstreams, u)
			}
			continue
		}
		if r.Other == "" {
			r.Other = fmt.Sprintf("the value %q of %s, which names no upstream{} block", v, tmpl)
			r.Via = vals.from[i]
		}
	}
	return r
}

func containsUpstream(us []*Upstream, u *Upstream) bool {
	for _, x := range us {
		if x == u {
			return true
		}
	}
	return false
}

// hostTemplate returns the address part of p's target as written, with
// its variables: "$backend" for "http://$backend/api$request_uri", the
// whole target when a variable holds the scheme too ("$target").
func hostTemplate(p *Proxy) string {
	t := p.Target()
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

func literalAddr(p *Proxy) string {
	if p.AddrErr() == nil && (p.Addr().Host != "" || p.Addr().Unix != "") {
		return p.Addr().String()
	}
	return p.Target()
}

// varValues are the constant strings a template can evaluate to.
type varValues struct {
	values []string
	from   []*parser.Node // the set/map entry each value came from
	// unknown describes why the values are not all known.
	unknown string
	via     *parser.Node
}

// maxValues bounds the expansion of templates with several variables.
const maxValues = 64

var varRef = regexp.MustCompile(`\$(?:\{([A-Za-z0-9_]+)\}|([A-Za-z0-9_]+))`)

// Variables returns the names of the variables value refers to ($name or
// ${name}), in order of use.
func Variables(value string) []string {
	var out []string
	for _, m := range varRef.FindAllStringSubmatch(value, -1) {
		out = append(out, m[1]+m[2])
	}
	return out
}

// expandVars returns the constant values template (text with $var
// references) can take at node at. ok is false when a variable's value is
// not known statically (it comes from the request, a regex capture, a
// builtin).
func expandVars(in *Instance, at *parser.Node, template string, depth int) (varValues, bool) {
	locs := varRef.FindAllStringSubmatchIndex(template, -1)
	if len(locs) == 0 {
		return varValues{values: []string{template}, from: []*parser.Node{nil}}, true
	}
	if depth > 4 {
		return varValues{unknown: template + " (defined through too many variables to follow)"}, false
	}
	out := varValues{values: []string{""}, from: []*parser.Node{nil}}
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
		var next varValues
		for i, prefix := range out.values {
			for j, v := range defs.values {
				if len(next.values) >= maxValues {
					return varValues{unknown: template + " (too many possible values to follow)"}, false
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
func variableValues(in *Instance, at *parser.Node, name string, depth int) varValues {
	var out varValues
	found := false
	add := func(n *parser.Node, v string) bool {
		sub, ok := expandVars(in, n, v, depth+1)
		if !ok {
			out = varValues{unknown: fmt.Sprintf("$%s (set to %q)", name, v), via: n}
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
	// before the proxy (an outer location's do not run for a nested one:
	// ngx_http_rewrite_merge_loc_conf does not inherit codes); sets
	// inside their if blocks may run too.
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
	return varValues{unknown: "$" + name + " (taken from the request)"}
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
			out = append(out, c.Find("set")...)
		}
	}
	return out
}
