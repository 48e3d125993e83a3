package parser

import "strings"

// valueCheck judges the arguments of a directive that passed the table
// checks, for mistakes nginx rejects while reading the value and that a
// parser can judge without the runtime (no DNS, no files, no variables).
// It returns nginx's message, or "".
type valueCheck func(d *Directive) string

// valueChecks are keyed by directive name and apply in the context given.
var valueChecks = map[string]struct {
	ctx   Context
	check valueCheck
}{
	"listen": {CtxServer, checkListen},
	"server": {CtxUpstream, checkUpstreamServer},
}

// listenParams are the parameters of the http "listen" directive
// (ngx_http_core_listen); a trailing "=" means the parameter takes a value.
var listenParams = []string{
	"default_server", "default", "bind", "setfib=", "fastopen=", "backlog=", "rcvbuf=", "sndbuf=",
	"accept_filter=", "deferred", "ipv6only=", "reuseport", "multipath", "ssl", "http2", "quic",
	"so_keepalive=", "proxy_protocol",
}

// checkListen reports an unknown listen parameter, typically the next
// directive swallowed by a missing ";" (ngx_http_core_listen: "invalid
// parameter").
func checkListen(d *Directive) string {
	for _, a := range d.Args[1:] {
		if !knownParam(listenParams, a.Value) {
			return `invalid parameter "` + a.Value + `"`
		}
	}
	return ""
}

// knownParam reports whether v is one of params ("name" or "name=value").
func knownParam(params []string, v string) bool {
	for _, p := range params {
		if name, ok := strings.CutSuffix(p, "="); ok {
			if strings.HasPrefix(v, name+"=") {
				return true
			}
		} else if v == p {
			return true
		}
	}
	return false
}

// upstreamServerParams are the parameters of the upstream "server"
// directive (ngx_http_upstream_server) in nginx 1.31; a trailing "=" means
// the parameter takes a value.
var upstreamServerParams = []string{
	"weight=", "max_conns=", "max_fails=", "fail_timeout=", "backup", "down", "drain", "route=",
	"resolve", "service=",
}

// checkUpstreamServer reports an unknown parameter of an upstream server,
// typically the next directive swallowed by a missing ";".
func checkUpstreamServer(d *Directive) string {
	for _, a := range d.Args[1:] {
		if !knownParam(upstreamServerParams, a.Value) {
			return `invalid parameter "` + a.Value + `"`
		}
	}
	return ""
}

// checkValue reads the argument of a directive with a generic nginx handler
// the way that handler does (ngx_conf_set_flag_slot, ngx_conf_set_msec_slot,
// ...) and returns nginx's message for a value it rejects, or "".
func checkValue(spec *Spec, d *Directive) string {
	if len(d.Args) == 0 {
		return ""
	}
	v := d.Args[0].Value
	var err error
	switch spec.Value {
	case ValueFlag:
		if _, err := ParseFlag(v); err != nil {
			return `invalid value "` + v + `" in "` + d.Name + `" directive, it must be "on" or "off"`
		}
		return ""
	case ValueTime:
		_, err = parseTime(v, false)
	case ValueTimeSec:
		_, err = parseTime(v, true)
	case ValueSize:
		_, err = ParseSize(v)
	case ValueOffset:
		_, err = ParseOffset(v)
	case ValueNumber:
		if !isNumber(v) {
			return `"` + d.Name + `" directive invalid number`
		}
		return ""
	default:
		return ""
	}
	if err != nil {
		return `"` + d.Name + `" directive invalid value`
	}
	return ""
}

// isNumber mirrors ngx_atoi: one or more decimal digits that fit an int.
func isNumber(s string) bool {
	if s == "" {
		return false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' || n > (1<<63-1-int(c-'0'))/10 {
			return false
		}
		n = n*10 + int(c-'0')
	}
	return true
}

// uniqueInBlock reports whether nginx rejects a second occurrence of the
// directive in one block ("is duplicate"): the generic handlers that store
// one value do, and so do a few own handlers.
func uniqueInBlock(spec *Spec) bool {
	switch spec.Value {
	case ValueFlag, ValueTime, ValueTimeSec, ValueSize, ValueOffset, ValueNumber, ValueEnum, ValueString:
		return true
	}
	switch spec.Name {
	case "events", "http", "stream", "mail":
		return spec.Contexts == CtxMain
	case "keepalive_timeout": // ngx_http_core_keepalive
		return spec.Module == "http_core"
	case "keepalive": // ngx_http_upstream_keepalive
		return spec.Contexts == CtxUpstream
	}
	return false
}

// checkDuplicates reports directives that appear twice among n's children
// although nginx keeps one value per block. Each pair of directives is
// reported once, however many times their files are included.
func (b *treeBuilder) checkDuplicates(n *Node) {
	if len(n.Children) < 2 {
		return
	}
	ctx := n.ChildContext()
	if ctx == CtxOpaque {
		return
	}
	// Most blocks are small: remember the first of each kind in a slice
	// on the stack, and only big blocks pay for a map.
	type seen struct {
		spec *Spec
		node *Node
	}
	var small [16]seen
	firsts := small[:0]
	var byspec map[*Spec]*Node
	for _, c := range n.Children {
		if b.l.malformed[c.Directive] {
			continue
		}
		spec, ok := Lookup(c.Name, ctx)
		if !ok || spec.Loose || !uniqueInBlock(spec) {
			continue
		}
		var prev *Node
		if byspec != nil {
			prev = byspec[spec]
		} else {
			for _, f := range firsts {
				if f.spec == spec {
					prev = f.node
					break
				}
			}
		}
		if prev == nil {
			if byspec == nil && len(firsts) < cap(firsts) {
				firsts = append(firsts, seen{spec, c})
				continue
			}
			if byspec == nil {
				byspec = make(map[*Spec]*Node, 2*len(firsts))
				for _, f := range firsts {
					byspec[f.spec] = f.node
				}
			}
			byspec[spec] = c
			continue
		}
		pair := [2]*Directive{prev.Directive, c.Directive}
		if b.dupSeen[pair] {
			continue
		}
		if b.dupSeen == nil {
			b.dupSeen = make(map[[2]*Directive]bool)
		}
		b.dupSeen[pair] = true
		b.error(c.Directive, c.Pos, `"`+c.Name+`" directive is duplicate`, c.Chain)
	}
}
