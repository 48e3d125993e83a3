package translate

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/ngxkeep/ngxkeep/parser"
	"github.com/ngxkeep/ngxkeep/runtime/config"
)

// variables returns the variable names used in an nginx value ("$name",
// "${name}").
func variables(s string) []string {
	var out []string
	for {
		i := strings.IndexByte(s, '$')
		if i < 0 {
			return out
		}
		s = s[i+1:]
		if strings.HasPrefix(s, "{") {
			end := strings.IndexByte(s, '}')
			if end < 0 {
				return out
			}
			out = append(out, s[1:end])
			s = s[end+1:]
			continue
		}
		j := 0
		for j < len(s) && (s[j] == '_' || s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z' || s[j] >= '0' && s[j] <= '9') {
			j++
		}
		if j > 0 {
			out = append(out, s[:j])
		}
		s = s[j:]
	}
}

// proxy translates the proxy_* settings in effect at a location with
// proxy_pass (ngx_http_proxy_merge_loc_conf), or returns nil when the
// runtime cannot proxy that way (the location then serves static files).
func (t *translator) proxy(loc, pass *parser.Node) *config.Proxy {
	tg := parser.ProxyTarget(pass)
	if tg.Err != "" {
		t.set(pass, Unsupported, "proxy_pass %q: %s (nginx -t rejects it); the location serves static files instead", tg.Raw, tg.Err)
		return nil
	}
	if strings.EqualFold(tg.Scheme, "https") {
		t.set(pass, Unsupported, "TLS to upstreams is not implemented; the location serves static files instead")
		return nil
	}
	if tg.Unix != "" {
		t.set(pass, Unsupported, "unix-domain upstream sockets are not implemented; the location serves static files instead")
		return nil
	}
	p := &config.Proxy{Pass: tg.Raw}
	var used []*parser.Node
	t.collect = &used
	defer func() { t.collect = nil }()
	var approx, notes []string
	switch tg.Kind {
	case parser.TargetImplicit:
		notes = append(notes, "an address, not an upstream block: its connections are never kept, as in nginx")
	case parser.TargetVariable:
		if u := t.unknownIn(tg.Raw, ctxProxy); u != "" {
			approx = append(approx, u)
		} else {
			notes = append(notes, "evaluated per request: a value naming an upstream block uses it and its keep-alive cache, any other address gets a connection that is never kept, as in nginx")
		}
	}
	p.Redirects = t.redirects(loc)

	if hv := t.eff(loc, "proxy_http_version"); hv.IsSet() {
		switch v := hv.Args[0]; v {
		case "1.0", "1.1":
			p.HTTPVersion = v
		case "2":
			p.HTTPVersion = "1.1"
			t.set(hv.Node, Approximated, "HTTP/2 to upstreams is not implemented: HTTP/1.1 is used")
		default:
			p.HTTPVersion = t.invalid(hv, 0, "version")
		}
	}
	p.SetHeaders = t.setHeaders(loc)
	p.PassRequestHeaders = t.flag(t.eff(loc, "proxy_pass_request_headers"), ptr(true))
	p.PassRequestBody = t.flag(t.eff(loc, "proxy_pass_request_body"), ptr(true))
	p.NextUpstream = t.nextUpstream(loc)
	if n := t.number(t.eff(loc, "proxy_next_upstream_tries"), 0, nil); n != nil {
		p.NextUpstreamTries = *n
	}
	p.NextUpstreamTimeout = t.msec(t.eff(loc, "proxy_next_upstream_timeout"), 0, "0")
	p.ConnectTimeout = t.msec(t.eff(loc, "proxy_connect_timeout"), 0, "60s")
	p.ReadTimeout = t.msec(t.eff(loc, "proxy_read_timeout"), 0, "60s")
	p.SendTimeout = t.msec(t.eff(loc, "proxy_send_timeout"), 0, "60s")
	p.Buffering = t.flag(t.eff(loc, "proxy_buffering"), ptr(true))
	p.BufferSize = t.size(t.eff(loc, "proxy_buffer_size"), 0, false, "4k")
	p.MaxBuffered = t.maxBuffered(loc)
	p.RequestBuffering = t.flag(t.eff(loc, "proxy_request_buffering"), ptr(true))
	if b := t.flag(t.eff(loc, "proxy_intercept_errors"), nil); b != nil {
		p.InterceptErrors = *b
	}
	if b := t.flag(t.eff(loc, "proxy_ignore_client_abort"), nil); b != nil {
		p.IgnoreClientAbort = *b
	}
	if m := t.eff(loc, "proxy_method"); m.IsSet() {
		p.Method = m.Args[0]
		if hasVariable(p.Method) {
			t.set(m.Node, Approximated, "variables are not expanded: the method is sent as written")
		}
	}

	note := strings.Join(notes, "; ")
	if len(approx) > 0 {
		t.set(pass, Approximated, "%s", strings.Join(approx, "; "))
	} else {
		t.set(pass, Preserved, "%s", note)
	}
	t.origin(p, from(pass), t.valuesFrom(used))
	return p
}

// setHeaders returns the proxy_set_header list nginx sends at loc: the
// directives of the nearest level that has any (all-or-nothing), then the
// target's default headers that list does not name
// (ngx_http_proxy_init_headers: Host $proxy_host, and Connection close
// before 1.29.7).
func (t *translator) setHeaders(loc *parser.Node) []config.ProxyHeader {
	s := t.eff(loc, "proxy_set_header")
	var out []config.ProxyHeader
	var origins []string
	named := map[string]bool{}
	if len(s.Nodes) > 0 {
		for i, v := range s.Values {
			n := s.Nodes[i]
			if len(v) != 2 {
				continue
			}
			out = append(out, config.ProxyHeader{Name: v[0], Value: v[1]})
			origins = append(origins, from(n))
			named[strings.ToLower(v[0])] = true
			t.checkValue(n, v[1], ctxProxy)
		}
	}
	if s.Spec != nil {
		for _, v := range s.Spec.Default(t.target) {
			if len(v) == 2 && !named[strings.ToLower(v[0])] {
				out = append(out, config.ProxyHeader{Name: v[0], Value: v[1]})
				origins = append(origins, fmt.Sprintf("nginx %s default", t.target))
			}
		}
	}
	for i := range out {
		t.origin(&out[i], origins[i])
	}
	return out
}

// nextUpstreamConditions are the proxy_next_upstream values the runtime
// implements.
var nextUpstreamConditions = map[string]bool{
	"error": true, "timeout": true, "invalid_header": true, "http_500": true, "http_502": true,
	"http_503": true, "http_504": true, "http_403": true, "http_404": true, "http_429": true,
	"non_idempotent": true, "off": true,
}

// nextUpstream returns the proxy_next_upstream conditions; "off" anywhere
// wins (ngx_http_proxy_merge_loc_conf).
func (t *translator) nextUpstream(loc *parser.Node) []string {
	s := t.eff(loc, "proxy_next_upstream")
	if !s.IsSet() {
		return []string{"error", "timeout"}
	}
	var out []string
	for i, v := range s.Values {
		var n *parser.Node
		if i < len(s.Nodes) {
			n = s.Nodes[i]
		}
		for _, c := range v {
			if c == "off" {
				return []string{"off"}
			}
			if !nextUpstreamConditions[c] {
				t.set(n, Approximated, "condition %q is not implemented by the runtime; it is left out", c)
				continue
			}
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		return []string{"off"}
	}
	return out
}

// maxBuffered chooses how much of a buffered response the runtime holds
// in memory before writing to the client while still reading: nginx's
// proxy_buffers when temporary files are off, else the runtime's 1m (nginx
// would spill to a temporary file of up to proxy_max_temp_file_size).
func (t *translator) maxBuffered(loc *parser.Node) string {
	bufs := t.eff(loc, "proxy_buffers")
	mtf := t.eff(loc, "proxy_max_temp_file_size")
	busy := t.eff(loc, "proxy_busy_buffers_size")
	out := "1m"
	if v := t.size(mtf, 0, true, "1024m"); v == "0" {
		num := t.number(bufs, 0, ptr(8))
		sz := t.size(bufs, 1, false, "4k")
		if n, err := parser.ParseSize(sz); err == nil && num != nil {
			out = strconv.FormatInt(int64(*num)*n, 10)
			if (int64(*num)*n)%1024 == 0 {
				out = strconv.FormatInt(int64(*num)*n/1024, 10) + "k"
			}
		}
		t.set(mtf.Node, Approximated, "no temporary file: the runtime holds up to proxy_buffers (%s) of a response in memory", out)
		t.set(bufs.Node, Approximated, "the runtime holds up to %s of a response in memory before writing to the client", out)
	} else {
		t.set(bufs.Node, Approximated, "the runtime buffers up to 1m in memory instead of proxy_buffers plus a temporary file")
		t.set(mtf.Node, Approximated, "the runtime buffers up to 1m in memory instead of a temporary file")
	}
	t.set(busy.Node, Approximated, "the runtime has no busy-buffer limit")
	return out
}

// collectDefined finds the variables defined by directives the runtime
// does not run (geo, split_clients, perl_set, ..., and set inside if), and
// reports those directives; map and set are run (vars.go).
func (t *translator) collectDefined(root *parser.Node) {
	t.defined = map[string]*parser.Node{}
	t.collectRuntimeDefined(root)
	root.Walk(func(n *parser.Node) bool {
		if n.Directive == nil || n.Ctx == parser.CtxOpaque {
			return true
		}
		var v string
		switch n.Name {
		case "map":
			return false
		case "split_clients":
			if len(n.Args) == 2 {
				v = n.Args[1].Value
			}
		case "geo":
			if len(n.Args) > 0 {
				v = n.Args[len(n.Args)-1].Value
			}
		case "set", "perl_set", "js_set", "auth_request_set":
			if len(n.Args) > 0 {
				v = n.Args[0].Value
			}
		default:
			return true
		}
		name := strings.TrimPrefix(v, "$")
		name = strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(name, "{"), "}"))
		if name == "" {
			return true
		}
		if n.Name == "set" && (n.Ctx == parser.CtxServer || n.Ctx == parser.CtxLocation) {
			return true // run by the runtime
		}
		if _, dup := t.defined[name]; !dup {
			t.defined[name] = n
		}
		switch {
		case n.Name == "set":
			// inside if: the if block reports it as not run
		case n.Block != nil:
			t.unsupportedTree(n, "the runtime has no %s variables: $%s is empty wherever it is used", n.Name, name)
		default:
			t.set(n, Unsupported, "the runtime has no %s: $%s is empty wherever it is used", n.Name, name)
		}
		return n.Block == nil
	})
}
