package translate

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/ngxkeep/ngxkeep/parser"
	"github.com/ngxkeep/ngxkeep/runtime/config"
)

// serverVariables are the built-in variables the runtime's server
// evaluates everywhere (runtime/server vars.go); "http_", "arg_" and
// "cookie_" are families.
var serverVariables = map[string]bool{
	"host": true, "hostname": true, "server_name": true, "request_method": true,
	"request_uri": true, "uri": true, "document_uri": true, "args": true, "query_string": true,
	"is_args": true, "request": true, "scheme": true, "https": true, "server_protocol": true,
	"remote_addr": true, "remote_port": true, "binary_remote_addr": true, "server_addr": true,
	"server_port": true, "connection": true, "connection_requests": true, "content_length": true,
	"content_type": true, "nginx_version": true, "pid": true, "msec": true, "time_iso8601": true,
	"time_local": true,
}

// proxyVariables are evaluated by the proxy (runtime/upstream vars.go)
// in proxy_pass and proxy_set_header values; elsewhere they are empty, as
// in nginx outside a proxied request.
var proxyVariables = map[string]bool{
	"proxy_host": true, "proxy_port": true, "proxy_add_x_forwarded_for": true,
	"proxy_internal_body_length": true,
}

// changeableBuiltins are the built-in variables nginx lets "set" change
// through a handler; the runtime does not.
var changeableBuiltins = map[string]bool{"args": true, "query_string": true, "limit_rate": true}

func isFamily(name string) bool {
	return strings.HasPrefix(name, "http_") || strings.HasPrefix(name, "arg_") || strings.HasPrefix(name, "cookie_")
}

// varContext says where a value is evaluated.
type varContext uint8

const (
	ctxServer varContext = iota // return, add_header, error_page, set, map, proxy_redirect
	ctxProxy                    // proxy_pass, proxy_set_header
)

// knows reports whether the runtime evaluates the variable name in ctx.
func (t *translator) knows(name string, ctx varContext) bool {
	name = strings.ToLower(name)
	if t.runtimeDefined[name] || serverVariables[name] || isFamily(name) {
		return true
	}
	return ctx == ctxProxy && proxyVariables[name]
}

// unknownIn explains the variables of v the runtime does not evaluate in
// ctx (they are empty there), or returns "".
func (t *translator) unknownIn(v string, ctx varContext) string {
	var parts []string
	seen := map[string]bool{}
	for _, name := range variables(v) {
		lname := strings.ToLower(name)
		if t.knows(lname, ctx) || seen[lname] || lname == "" || lname[0] >= '1' && lname[0] <= '9' {
			continue
		}
		seen[lname] = true
		switch def, ok := t.defined[lname]; {
		case ok:
			parts = append(parts, fmt.Sprintf("$%s (%s at %s)", name, def.Name, where(def)))
		case proxyVariables[lname]:
			parts = append(parts, "$"+name+" (a proxy variable, empty here)")
		default:
			parts = append(parts, "$"+name)
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "the runtime does not evaluate " + strings.Join(parts, ", ") + ": it is empty there"
}

// checkValue marks n approximated when the value v (evaluated in ctx) has
// variables the runtime leaves empty, or unsupported when nginx would
// reject its syntax; it returns false in the latter case.
func (t *translator) checkValue(n *parser.Node, v string, ctx varContext) bool {
	if _, err := config.ParseValue(v); err != nil {
		t.set(n, Unsupported, "%v (nginx -t rejects it)", err)
		return false
	}
	if u := t.unknownIn(v, ctx); u != "" {
		t.set(n, Approximated, "%s", u)
	}
	return true
}

// collectRuntimeDefined finds the variables the runtime defines: map and
// set targets and the named groups of map and location regexes.
func (t *translator) collectRuntimeDefined(root *parser.Node) {
	t.runtimeDefined = map[string]bool{}
	named := func(re string) {
		if !strings.Contains(re, "(?P<") && !strings.Contains(re, "(?<") {
			return // no named group: nothing to compile
		}
		if r, err := regexp.Compile(re); err == nil {
			for _, n := range r.SubexpNames() {
				if n != "" {
					t.runtimeDefined[strings.ToLower(n)] = true
				}
			}
		}
	}
	root.Walk(func(n *parser.Node) bool {
		if n.Directive == nil {
			return true
		}
		switch {
		case n.Name == "map" && n.Ctx == parser.CtxHTTP && len(n.Args) == 2:
			t.runtimeDefined[strings.ToLower(strings.TrimPrefix(n.Args[1].Value, "$"))] = true
			for _, c := range n.Children {
				if strings.HasPrefix(c.Name, "~") {
					named(strings.TrimPrefix(strings.TrimPrefix(c.Name, "~"), "*"))
				}
			}
			return false
		case n.Name == "set" && len(n.Args) == 2 && (n.Ctx == parser.CtxServer || n.Ctx == parser.CtxLocation):
			t.runtimeDefined[strings.ToLower(strings.TrimPrefix(n.Args[0].Value, "$"))] = true
		case n.Name == "location":
			if m, p, err := locationMatch(n); err == "" && (m == config.MatchRegex || m == config.MatchIRegex) {
				named(p)
			}
		}
		return true
	})
}

// maps translates the map blocks of an http block
// (ngx_http_map_block). A later map of the same variable replaces an
// earlier one, as in nginx.
func (t *translator) maps(http *parser.Node) []*config.Map {
	var out []*config.Map
	byVar := map[string]int{}
	for _, n := range http.Children {
		if n.Name != "map" || n.Block == nil {
			continue
		}
		m := t.mapBlock(n)
		if m == nil {
			continue
		}
		key := strings.ToLower(m.Variable)
		if i, dup := byVar[key]; dup {
			prev := out[i]
			t.set(t.mapNodes[prev], Preserved, "replaced by the map of $%s at %s (the last one wins, as in nginx)", m.Variable, where(n))
			out[i] = m
			continue
		}
		byVar[key] = len(out)
		out = append(out, m)
	}
	return out
}

func (t *translator) mapBlock(n *parser.Node) *config.Map {
	if len(n.Args) != 2 {
		t.unsupportedTree(n, "invalid number of arguments in map (nginx -t rejects it)")
		return nil
	}
	name := n.Args[1].Value
	if !strings.HasPrefix(name, "$") || !config.ValidVariableName(name[1:]) {
		t.unsupportedTree(n, "invalid variable name %q (nginx -t rejects it)", name)
		return nil
	}
	name = name[1:]
	if serverVariables[strings.ToLower(name)] || proxyVariables[strings.ToLower(name)] {
		t.unsupportedTree(n, "the duplicate %q variable (nginx -t rejects it)", name)
		return nil
	}
	m := &config.Map{Variable: name, Source: n.Args[0].Value}
	if _, err := config.ParseValue(m.Source); err != nil {
		t.unsupportedTree(n, "%v (nginx -t rejects it)", err)
		return nil
	}
	if t.mapNodes == nil {
		t.mapNodes = map[*config.Map]*parser.Node{}
	}
	t.mapNodes[m] = n
	var approx []string
	if u := t.unknownIn(m.Source, ctxServer); u != "" {
		approx = append(approx, u)
	}
	var hasDefault *parser.Node
	exact := map[string]*parser.Node{}
	for _, c := range n.Children {
		key := c.Name
		if len(c.Args) == 0 {
			switch key {
			case "hostnames":
				m.Hostnames = true
				t.use(c)
				continue
			case "volatile":
				m.Volatile = true
				t.use(c)
				continue
			}
		}
		if len(c.Args) != 1 {
			t.set(c, Unsupported, "invalid number of the map parameters (nginx -t rejects it); the line is left out")
			approx = append(approx, fmt.Sprintf("the line at %s is left out", where(c)))
			continue
		}
		value := c.Args[0].Value
		if !t.checkValue(c, value, ctxServer) {
			approx = append(approx, fmt.Sprintf("the line at %s is left out", where(c)))
			continue
		}
		if u := t.unknownIn(value, ctxServer); u != "" {
			approx = append(approx, u)
		}
		if key == "default" {
			if hasDefault != nil {
				t.set(c, Unsupported, "duplicate default map parameter (first at %s; nginx -t rejects it)", where(hasDefault))
				continue
			}
			hasDefault = c
			m.Default = value
			t.use(c)
			continue
		}
		e := &config.MapEntry{Key: key, Value: value}
		switch {
		case strings.HasPrefix(key, "~"):
			e.Regex = true
			e.Key = key[1:]
			if strings.HasPrefix(e.Key, "*") {
				e.Key, e.CaseInsensitive = e.Key[1:], true
			}
			if _, err := config.CompileRegex(e.Key, e.CaseInsensitive); err != nil {
				t.set(c, Unsupported, "regex %q is not valid for Go's RE2 (%v); the entry is left out", e.Key, err)
				approx = append(approx, fmt.Sprintf("the regex at %s is left out (not valid for Go's RE2)", where(c)))
				continue
			}
		default:
			if strings.HasPrefix(key, `\`) {
				e.Key = key[1:]
			}
			k := strings.ToLower(e.Key)
			if m.Hostnames {
				if strings.HasPrefix(k, ".") {
					k = k[1:]
				}
				if strings.Count(k, "*") > 1 || strings.Contains(k, "*") && !strings.HasPrefix(k, "*.") && !strings.HasSuffix(k, ".*") {
					t.set(c, Unsupported, "invalid hostname or wildcard %q (nginx -t rejects it); the entry is left out", e.Key)
					continue
				}
			}
			if prev, dup := exact[k]; dup {
				t.set(c, Unsupported, "conflicting parameter %q (first at %s; nginx -t rejects it)", e.Key, where(prev))
				continue
			}
			exact[k] = c
		}
		t.set(c, Preserved, "")
		t.origin(e, from(c))
		m.Entries = append(m.Entries, e)
	}
	if len(approx) > 0 {
		t.set(n, Approximated, "%s", strings.Join(dedupe(approx), "; "))
	} else {
		t.use(n)
	}
	t.origin(m, from(n))
	return m
}

func dedupe(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

// rewritePhase translates the rewrite-module directives of a server or
// location in order (ngx_http_rewrite_handler): set steps run until the
// first return, which answers, or break, which stops them; what follows
// is never reached.
func (t *translator) rewritePhase(level *parser.Node) ([]*config.Set, *config.Return) {
	var sets []*config.Set
	var ret *config.Return
	var stop *parser.Node
	for _, c := range level.Children {
		switch c.Name {
		case "set", "return", "break":
		default:
			continue
		}
		if stop != nil {
			t.set(c, Preserved, "never reached: the %s at %s ends the rewrite directives", stop.Name, where(stop))
			continue
		}
		switch c.Name {
		case "set":
			if s := t.setStep(c); s != nil {
				sets = append(sets, s)
			}
		case "return":
			if r, ok := t.returnOf(c); ok {
				ret, stop = r, c
			}
		case "break":
			if len(c.Args) != 0 {
				t.set(c, Unsupported, "invalid number of arguments in break (nginx -t rejects it)")
				continue
			}
			t.set(c, Preserved, "the rewrite directives after it are not run")
			stop = c
		}
	}
	return sets, ret
}

// setStep translates one set directive (ngx_http_rewrite_set).
func (t *translator) setStep(n *parser.Node) *config.Set {
	if len(n.Args) != 2 {
		t.set(n, Unsupported, "invalid number of arguments in set (nginx -t rejects it)")
		return nil
	}
	name := n.Args[0].Value
	if !strings.HasPrefix(name, "$") || !config.ValidVariableName(name[1:]) {
		t.set(n, Unsupported, "invalid variable name %q (nginx -t rejects it)", name)
		return nil
	}
	name = name[1:]
	lname := strings.ToLower(name)
	switch {
	case changeableBuiltins[lname]:
		t.set(n, Unsupported, "setting $%s is not implemented: the request keeps its own", name)
		return nil
	case serverVariables[lname] || proxyVariables[lname]:
		t.set(n, Unsupported, "the duplicate %q variable (nginx -t rejects it)", name)
		return nil
	}
	s := &config.Set{Variable: name, Value: n.Args[1].Value}
	if !t.checkValue(n, s.Value, ctxServer) {
		return nil
	}
	t.set(n, Preserved, "")
	t.origin(s, from(n))
	return s
}

// redirectState is the proxy_redirect configuration of one level after
// ngx_http_proxy_merge_loc_conf.
type redirectState struct {
	on    bool
	rules []*config.ProxyRedirect
}

// redirects returns the proxy_redirect rules in effect at loc
// (ngx_http_proxy_merge_loc_conf): the nearest level's own rules, or
// "off"; without any, the default rule of the nearest location that has
// a proxy_pass without variables, the location itself first (nginx makes
// the default where the proxy_pass is, and nested locations inherit it).
func (t *translator) redirects(loc *parser.Node) []*config.ProxyRedirect {
	var chain []*parser.Node
	for l := loc; l != nil && l.Directive != nil; l = l.Parent {
		chain = append(chain, l)
		if l.Name == "http" {
			break
		}
	}
	st := redirectState{on: true}
	for i := len(chain) - 1; i >= 0; i-- {
		st = t.redirectLevel(chain[i], st)
	}
	if !st.on {
		return nil
	}
	return st.rules
}

func (t *translator) redirectLevel(level *parser.Node, prev redirectState) redirectState {
	own := level.Find("proxy_redirect")
	var pass *parser.Node
	if level.Name == "location" {
		pass = level.First("proxy_pass")
	}
	st := redirectState{on: prev.on}
	explicit := false
	for _, n := range own {
		t.use(n)
		t.collectNode(n)
		switch {
		case len(n.Args) == 1 && n.Args[0].Value == "off":
			st.on = false
			st.rules = nil
			explicit = true
		case len(n.Args) == 1 && n.Args[0].Value == "default":
			explicit = true
			st.on = true
			switch {
			case pass == nil || n.Pos.Line < pass.Pos.Line || n.Pos.Line == pass.Pos.Line && n.Pos.Col < pass.Pos.Col:
				t.set(n, Unsupported, "\"proxy_redirect default\" should be placed after the \"proxy_pass\" directive (nginx -t rejects it)")
			case hasVariable(pass.Args[0].Value):
				t.set(n, Unsupported, "\"proxy_redirect default\" cannot be used with \"proxy_pass\" directive with variables (nginx -t rejects it)")
			default:
				if r := t.defaultRedirect(level, pass); r != nil {
					t.origin(r, "from proxy_redirect default at "+where(n))
					st.rules = append(st.rules, r)
				}
			}
		case len(n.Args) == 2:
			explicit = true
			st.on = true
			r := &config.ProxyRedirect{From: n.Args[0].Value, To: n.Args[1].Value}
			if strings.HasPrefix(r.From, "~") {
				r.Regex = true
				r.From = r.From[1:]
				if strings.HasPrefix(r.From, "*") {
					r.From, r.CaseInsensitive = r.From[1:], true
				}
				if _, err := config.CompileRegex(r.From, r.CaseInsensitive); err != nil {
					t.set(n, Unsupported, "regex %q is not valid for Go's RE2 (%v); the rule is left out", r.From, err)
					continue
				}
			} else if !t.checkValue(n, r.From, ctxServer) {
				continue
			}
			if !t.checkValue(n, r.To, ctxServer) {
				continue
			}
			t.origin(r, from(n))
			st.rules = append(st.rules, r)
		default:
			t.set(n, Unsupported, "invalid parameter in proxy_redirect (nginx -t rejects it)")
		}
	}
	if !explicit && prev.on {
		st.rules = prev.rules
	}
	if st.on && st.rules == nil && pass != nil && len(pass.Args) == 1 && !hasVariable(pass.Args[0].Value) {
		if r := t.defaultRedirect(level, pass); r != nil {
			t.origin(r, fmt.Sprintf("nginx default: proxy_redirect default for the proxy_pass at %s", where(pass)))
			st.rules = []*config.ProxyRedirect{r}
		}
	}
	return st
}

// defaultRedirect is the rule "proxy_redirect default" stands for: the
// proxy_pass URL (with "/" added when it has no URI part) is replaced by
// the location's prefix (by "/" when proxy_pass has no URI part).
func (t *translator) defaultRedirect(loc, pass *parser.Node) *config.ProxyRedirect {
	tg := parser.ProxyTarget(pass)
	if tg.Err != "" {
		return nil
	}
	if tg.HasURI {
		// plcf->location: the location's name; empty for regex and named
		// locations (where nginx -t rejects a URI part anyway).
		m, path, _ := locationMatch(loc)
		if m != config.MatchPrefix && m != config.MatchPrefixNoRegex && m != config.MatchExact {
			path = ""
		}
		return &config.ProxyRedirect{From: tg.Raw, To: path}
	}
	return &config.ProxyRedirect{From: tg.Raw + "/", To: "/"}
}
