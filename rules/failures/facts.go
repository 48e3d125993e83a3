package failures

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ngxkeep/ngxkeep/lint"
	"github.com/ngxkeep/ngxkeep/parser"
)

// value is the effective value of one directive at one place: the
// directives of the nearest level that sets it, or nginx's default.
type value struct {
	// node is the directive the value comes from (nil for the default);
	// nodes are all directives of that level (several for list and
	// bitmask directives such as proxy_set_header, proxy_next_upstream).
	node  *parser.Node
	nodes []*parser.Node
	def   []string // the default's arguments when node is nil
}

func (v value) explicit() bool { return v.node != nil }

// first returns the first argument of the value.
func (v value) first() string {
	if v.node != nil {
		return lint.ArgValue(v.node, 0)
	}
	if len(v.def) > 0 {
		return v.def[0]
	}
	return ""
}

// each calls fn for every argument of every directive of the value.
func (v value) each(fn func(string)) {
	if v.node == nil {
		for _, a := range v.def {
			fn(a)
		}
		return
	}
	for _, n := range v.nodes {
		for _, a := range n.Args {
			fn(a.Value)
		}
	}
}

// effective returns the value nginx uses for name at n (Pass.Effective),
// with the target version's default when the config does not set it.
func effective(pass *lint.Pass, n *parser.Node, name string) value {
	s := pass.Effective(n, name)
	if s.Node == nil {
		return value{def: s.Args}
	}
	nodes := s.Nodes
	if len(nodes) == 0 {
		nodes = []*parser.Node{s.Node}
	}
	return value{node: s.Node, nodes: nodes}
}

// msec parses an nginx time argument; ok is false when it does not parse.
func msec(s string) (time.Duration, bool) {
	d, err := parser.ParseTime(s)
	return d, err == nil
}

// flags is a parsed *_next_upstream value.
type flags map[string]bool

func nextUpstream(v value) flags {
	f := flags{}
	v.each(func(a string) { f[strings.ToLower(a)] = true })
	return f
}

// retries reports whether the value lets nginx try another server at all.
func (f flags) retries() bool { return !f["off"] && len(f) > 0 }

// locLabel names the location of a proxy for messages: "location /api/".
func locLabel(p *lint.Proxy) string {
	if p.Location() == nil {
		return "server"
	}
	var parts []string
	for _, a := range p.Location().Args {
		parts = append(parts, a.Value)
	}
	return "location " + strings.Join(parts, " ")
}

// locList renders up to three location labels and a count of the rest.
func locList(ps []*lint.Proxy) string {
	seen := map[string]bool{}
	var labels []string
	for _, p := range ps {
		l := locLabel(p)
		if !seen[l] {
			seen[l] = true
			labels = append(labels, l)
		}
	}
	if len(labels) <= 3 {
		return strings.Join(labels, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(labels[:3], ", "), len(labels)-3)
}

// plural returns "1 location" or "3 locations".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

// groupByNode groups proxies by the directive whose value applies to them,
// keeping first-seen order.
type group struct {
	node    *parser.Node
	proxies []*lint.Proxy
}

func groupBy(items []*lint.Proxy, key func(*lint.Proxy) *parser.Node) []*group {
	idx := map[*parser.Node]*group{}
	var out []*group
	for _, p := range items {
		k := key(p)
		if k == nil {
			continue
		}
		g := idx[k]
		if g == nil {
			g = &group{node: k}
			idx[k] = g
			out = append(out, g)
		}
		g.proxies = append(g.proxies, p)
	}
	return out
}

// upstreamNames lists the distinct upstream names of proxies, quoted.
func upstreamNames(ps []*lint.Proxy) string {
	seen := map[string]bool{}
	var names []string
	for _, p := range ps {
		if p.Upstream != nil && !seen[p.Upstream.Name] {
			seen[p.Upstream.Name] = true
			names = append(names, strconv.Quote(p.Upstream.Name))
		}
	}
	return strings.Join(names, ", ")
}

// argValues returns the values of n's arguments.
func argValues(n *parser.Node) []string {
	out := make([]string, len(n.Args))
	for i, a := range n.Args {
		out[i] = a.Value
	}
	return out
}

// relateCaches adds the keep-alive cache of each upstream of ps (its
// keepalive directive, or the block for the implicit cache of 1.29.7) to
// f, once per upstream.
func relateCaches(f *lint.Finding, ps []*lint.Proxy) {
	seen := map[*lint.Upstream]bool{}
	for _, p := range ps {
		u := p.Upstream
		if seen[u] {
			continue
		}
		seen[u] = true
		if u.Keepalive != nil {
			f.AddRelated(u.Keepalive, "keep-alive cache of upstream %s", u.Name)
		} else {
			f.AddRelated(u.Node, "upstream %s: keepalive 32 local by default since 1.29.7", u.Name)
		}
	}
}

// upstreamLabel is "upstream "a"" or "upstreams "a", "b"".
func upstreamLabel(ps []*lint.Proxy) string {
	names := upstreamNames(ps)
	if strings.Contains(names, ", ") {
		return "upstreams " + names
	}
	return "upstream " + names
}

// frontOf returns a directive of another config that proxies to in (an
// upstream server or a literal proxy_pass), or nil.
func frontOf(pass *lint.Pass, in *lint.Instance) *parser.Node {
	if pass.Topology == nil {
		return nil
	}
	for _, l := range pass.Topology.LinksTo(in) {
		if l.From == in {
			continue
		}
		if n := l.TargetNode(); n != nil {
			return n
		}
	}
	return nil
}

// anyArg reports whether some directive called one of names in in has an
// argument for which pred holds. Rules use it to skip an instance before
// looking up settings for each of its proxies.
func anyArg(in *lint.Instance, names []string, pred func(i int, arg string) bool) bool {
	for _, name := range names {
		for _, n := range in.Nodes(name) {
			for i, a := range n.Args {
				if pred(i, a.Value) {
					return true
				}
			}
		}
	}
	return false
}

// moduleNames returns prefix_suffix for every module with retries.
func moduleNames(suffix string) []string {
	out := make([]string, 0, len(retryModules)+1)
	for _, m := range retryModules {
		out = append(out, m.Prefix()+suffix)
	}
	return out
}

// anyNodeWithout reports whether some directive called one of names lacks
// the argument want or says off.
func anyNodeWithout(in *lint.Instance, names []string, want string) bool {
	for _, name := range names {
		for _, n := range in.Nodes(name) {
			has := false
			for _, a := range n.Args {
				switch strings.ToLower(a.Value) {
				case want:
					has = true
				case "off":
					return true
				}
			}
			if !has {
				return true
			}
		}
	}
	return false
}
