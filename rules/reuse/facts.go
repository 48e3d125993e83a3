package reuse

import (
	"iter"
	"strconv"
	"strings"

	"github.com/ngxkeep/ngxkeep/lint"
	"github.com/ngxkeep/ngxkeep/parser"
)

// This file holds what several reuse rules need to know about one place of
// use, on top of the engine's facts (Proxy.Route, Pass.Pool, Pass.Conn):
// the cache the config asks for, and the request headers and protocol
// version the proxy module sends there.

// facts answers "what does nginx use here" for one rule run, from the
// engine's shared facts: Pass.Effective (memoized by the parser),
// Pass.Pool, Pass.Conn and Proxy.Route.
type facts struct {
	pass *lint.Pass
}

func newFacts(pass *lint.Pass) *facts { return &facts{pass: pass} }

// declared returns the cache upstream u asks for at the target version:
// the reuse rules speak of it even when a balancer written after
// keepalive drops it before 1.29.7 (KA07 reports that), so that fixing
// one problem does not reveal the next.
func declared(pass *lint.Pass, u *lint.Upstream) (lint.Pool, bool) {
	pl, ok := pass.Pool(u)
	return pl, ok || pl.Lost != nil
}

// pooled returns the first upstream p can reach that has a cache at the
// target, with its cache.
func (fx *facts) pooled(p *lint.Proxy) (*lint.Upstream, lint.Pool, bool) {
	for _, u := range p.Route().Upstreams {
		if c, ok := declared(fx.pass, u); ok {
			return u, c, true
		}
	}
	return nil, lint.Pool{}, false
}

// pooledUse is a proxy_pass that can reach an upstream with a cache at
// the target, with that upstream and its cache (facts.pooled).
type pooledUse struct {
	p *lint.Proxy
	u *lint.Upstream
	c lint.Pool
}

// pooledProxies yields the proxy_pass directives of in that can reach a
// pooled upstream, in tree order: the places whose request headers and
// protocol version decide whether that cache is used.
func (fx *facts) pooledProxies(in *lint.Instance) iter.Seq[pooledUse] {
	return func(yield func(pooledUse) bool) {
		for _, p := range in.Proxies() {
			if p.Module != lint.ModuleProxy {
				continue
			}
			if u, c, ok := fx.pooled(p); ok && !yield(pooledUse{p, u, c}) {
				return
			}
		}
	}
}

// httpVersion returns the proxy_http_version nginx uses at p and the
// directive it comes from (nil for the default: 1.0 before 1.29.7, 1.1
// from then on, ngx_http_proxy_merge_loc_conf).
func (fx *facts) httpVersion(p *lint.Proxy) (string, *parser.Node) {
	c := fx.pass.Conn(p)
	return c.HTTPVersion, c.HTTPVersionNode
}

// headers returns the proxy_set_header list that applies at proxy p.
func (fx *facts) headers(p *lint.Proxy) headerList {
	return headerList{nodes: fx.pass.Conn(p).Headers}
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
// The result must not be modified; appending to it copies. One entry,
// the usual case, is a slice of the list itself, so asking allocates
// nothing.
func (h headerList) get(name string) []*parser.Node {
	var out []*parser.Node
	first := -1
	for i, n := range h.nodes {
		if len(n.Args) < 1 || !strings.EqualFold(n.Args[0].Value, name) {
			continue
		}
		switch {
		case first < 0:
			first = i
		case out == nil:
			out = append(out, h.nodes[first], n)
		default:
			out = append(out, n)
		}
	}
	if first >= 0 && out == nil {
		return h.nodes[first : first+1 : first+1]
	}
	return out
}

// headersAt returns the list that applies at n (a directive or a block).
func (fx *facts) headersAt(n *parser.Node, prefix string) headerList {
	if n == nil || n.IsRoot() {
		return headerList{}
	}
	return headerList{nodes: n.EffectiveNodes(prefix + "_set_header")}
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
	for t := range strings.SplitSeq(v, ",") {
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
	if p.Location() == nil {
		return n
	}
	for n.Parent != nil && n.Parent != p.Location() {
		n = n.Parent
	}
	if n.Parent == nil {
		return p.Node
	}
	return n
}

// where names a proxy's place for messages: `location /api/`.
func where(p *lint.Proxy) string {
	if p.Location() == nil {
		return "this location"
	}
	return "location " + lint.ArgsText(p.Location())
}

// alsoOthers returns " and every other location that inherits it" when
// level (the block declaring a setting) is not p's own location.
func alsoOthers(p *lint.Proxy, level *parser.Node) string {
	if level == nil || level == p.Location() {
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
