package translate

import (
	"fmt"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/ngxkeep/ngxkeep/parser"
	"github.com/ngxkeep/ngxkeep/runtime/config"
)

// server translates an http server{} block: listen sockets and server
// names (the facts server selection uses), the server-level settings, the
// settings before a location is chosen, and the location tree. It returns
// nil for a server the runtime cannot serve at all.
func (t *translator) server(n *parser.Node) *config.Server {
	s := &config.Server{}
	listens := n.Find("listen")
	for _, ln := range listens {
		if l := t.listen(ln); l != nil {
			s.Listens = append(s.Listens, l)
		}
	}
	if len(listens) == 0 {
		// ngx_http_core_merge_srv_conf: no listen means *:80 when nginx
		// runs as root, *:8000 otherwise.
		l := &config.Listen{Address: "*:80"}
		s.Listens = append(s.Listens, l)
		t.origin(l, "nginx default: listen *:80 (nginx uses *:8000 when not started as root)")
		t.set(n, Approximated, "no listen directive: the runtime listens on *:80 as nginx does when started as root (*:8000 otherwise)")
	}
	if len(s.Listens) == 0 {
		t.unsupportedTree(n, "no listen address the runtime can serve")
		return nil
	}
	t.use(n)
	t.origin(s, from(n))

	// Server names: lower-cased; regexes are matched case-insensitively
	// (ngx_http_server_names compiles them with NGX_REGEX_CASELESS).
	names := n.Find("server_name")
	for _, sn := range names {
		t.use(sn)
		for _, a := range sn.Args {
			if name, ok := t.serverName(sn, a.Value); ok {
				s.ServerNames = append(s.ServerNames, name)
			}
		}
	}
	if len(names) == 0 {
		s.ServerNames = []string{""} // nginx's default server_name ""
	}
	if s.ServerNames == nil {
		s.ServerNames = []string{""}
	}

	// Settings read while the request head is parsed.
	def := config.ServerDefaults()
	s.ClientHeaderTimeout = t.msec(t.eff(n, "client_header_timeout"), 0, def.ClientHeaderTimeout)
	s.ClientHeaderBufferSize = t.size(t.eff(n, "client_header_buffer_size"), 0, false, def.ClientHeaderBufferSize)
	if lb := t.eff(n, "large_client_header_buffers"); lb.IsSet() {
		s.LargeClientHeaderBuffersNumber = t.number(lb, 0, def.LargeClientHeaderBuffersNumber)
		s.LargeClientHeaderBuffersSize = t.size(lb, 1, false, def.LargeClientHeaderBuffersSize)
	} else {
		s.LargeClientHeaderBuffersNumber = def.LargeClientHeaderBuffersNumber
		s.LargeClientHeaderBuffersSize = def.LargeClientHeaderBuffersSize
	}
	s.IgnoreInvalidHeaders = t.flag(t.eff(n, "ignore_invalid_headers"), def.IgnoreInvalidHeaders)
	s.UnderscoresInHeaders = t.flag(t.eff(n, "underscores_in_headers"), def.UnderscoresInHeaders)
	s.MergeSlashes = t.flag(t.eff(n, "merge_slashes"), def.MergeSlashes)

	// The server's rewrite phase: set steps, then the first return
	// answers everything.
	s.Sets, s.Return = t.rewritePhase(n)

	s.Unmatched = t.settings(n)
	t.originFirst(s.Unmatched, fmt.Sprintf("settings before a location is chosen and when none matches (server at %s)", where(n)))

	for _, c := range n.Children {
		if c.Name == "location" && c.Block != nil {
			if l := t.location(c, true); l != nil {
				s.Locations = append(s.Locations, l)
			}
		}
	}
	return s
}

// listen translates one listen directive (ngx_http_core_listen) or
// returns nil when the runtime cannot listen that way.
func (t *translator) listen(n *parser.Node) *config.Listen {
	if len(n.Args) == 0 {
		return nil
	}
	addr := n.Args[0].Value
	if strings.HasPrefix(addr, "unix:") {
		t.set(n, Unsupported, "unix-domain sockets are not implemented; the address is not served")
		return nil
	}
	host, port, err := splitListen(addr)
	if err != nil {
		t.set(n, Unsupported, "%v (nginx -t rejects it)", err)
		return nil
	}
	l := &config.Listen{Address: net.JoinHostPort(host, port)}
	var approx []string
	switch {
	case host == "*":
	case host == "localhost":
		approx = append(approx, "localhost is bound to the first address it resolves to (nginx binds each)")
	case net.ParseIP(host) == nil:
		t.set(n, Unsupported, "host name %q: only IP addresses, localhost and * are supported; the address is not served", host)
		return nil
	}
	for _, a := range n.Args[1:] {
		p := a.Value
		name, val, _ := strings.Cut(p, "=")
		switch name {
		case "default_server", "default":
			l.DefaultServer = true
		case "backlog":
			b, err := strconv.Atoi(val)
			if err != nil || b == 0 {
				t.set(n, Unsupported, "invalid backlog %q (nginx -t rejects it)", val)
				return nil
			}
			if b > 0 {
				l.Backlog = b
			}
		case "ssl", "quic":
			t.set(n, Unsupported, "TLS (%s) is not implemented; the address is not served", p)
			return nil
		case "proxy_protocol":
			t.set(n, Unsupported, "the PROXY protocol is not implemented; the address is not served")
			return nil
		case "http2":
			approx = append(approx, "HTTP/2 is not implemented: the runtime speaks HTTP/1.x on this address")
		default:
			approx = append(approx, fmt.Sprintf("socket option %s is not applied", p))
		}
	}
	if l.Backlog == 0 {
		l.Backlog = config.DefaultBacklog
	}
	if l.DefaultServer {
		key := config.NormalizeListenAddress(l.Address)
		if prev, dup := t.defaultListen[key]; dup {
			t.set(n, Unsupported, "a duplicate default server for %s (first at %s; nginx -t rejects it)", l.Address, where(prev))
			l.DefaultServer = false
		} else {
			t.defaultListen[key] = n
		}
	}
	if len(approx) > 0 {
		t.set(n, Approximated, "%s", strings.Join(approx, "; "))
	} else {
		t.use(n)
	}
	t.origin(l, from(n))
	return l
}

// splitListen splits a listen address the way ngx_parse_url does for
// listen: "8080" (port only), "127.0.0.1" (port 80), "*:80", "[::1]:80".
// The wildcard comes back as "*".
func splitListen(a string) (host, port string, err error) {
	if _, err := strconv.Atoi(a); err == nil {
		host, port = "*", a
	} else if strings.HasPrefix(a, "[") {
		end := strings.IndexByte(a, ']')
		if end < 0 {
			return "", "", fmt.Errorf("invalid IPv6 address in %q", a)
		}
		host, port = a[1:end], "80"
		if rest := a[end+1:]; rest != "" {
			if !strings.HasPrefix(rest, ":") {
				return "", "", fmt.Errorf("invalid port in %q", a)
			}
			port = rest[1:]
		}
		if net.ParseIP(host) == nil {
			return "", "", fmt.Errorf("invalid IPv6 address in %q", a)
		}
	} else if i := strings.LastIndexByte(a, ':'); i >= 0 {
		host, port = a[:i], a[i+1:]
	} else {
		host, port = a, "80"
	}
	n, perr := strconv.Atoi(port)
	if perr != nil || n < 1 || n > 65535 {
		return "", "", fmt.Errorf("invalid port in %q", a)
	}
	if host == "" || host == "0.0.0.0" {
		host = "*"
	}
	return host, port, nil
}

// serverName converts one server_name argument.
func (t *translator) serverName(n *parser.Node, v string) (string, bool) {
	switch {
	case strings.HasPrefix(v, "~"):
		re := "(?i)" + v[1:]
		if _, err := regexp.Compile(re); err != nil {
			t.set(n, Unsupported, "regex %q is not valid for Go's RE2 (%v); the name is left out", v, err)
			return "", false
		}
		return "~" + re, true
	case v == "$hostname":
		h, err := os.Hostname()
		if err != nil {
			t.set(n, Unsupported, "$hostname: %v; the name is left out", err)
			return "", false
		}
		t.set(n, Approximated, "$hostname is %q, this machine's name at translation time", h)
		return strings.ToLower(h), true
	case strings.Count(v, "*") > 1 || strings.Contains(v, "*") && !strings.HasPrefix(v, "*.") && !strings.HasSuffix(v, ".*"):
		t.set(n, Unsupported, "invalid server name %q (nginx -t rejects it); the name is left out", v)
		return "", false
	}
	return strings.ToLower(v), true
}

// location translates one location block and its nested locations, or
// returns nil (with the whole subtree reported) for one the runtime cannot
// match.
func (t *translator) location(n *parser.Node, top bool) *config.Location {
	match, path, err := locationMatch(n)
	if err != "" {
		t.unsupportedTree(n, "%s", err)
		return nil
	}
	switch match {
	case config.MatchRegex, config.MatchIRegex:
		re := path
		if match == config.MatchIRegex {
			re = "(?i)" + re
		}
		if _, err := regexp.Compile(re); err != nil {
			t.unsupportedTree(n, "regex %q is not valid for Go's RE2 (%v); the location is left out", path, err)
			return nil
		}
	case config.MatchNamed:
		if !top {
			t.unsupportedTree(n, "named location %q must be at server level (nginx -t rejects it)", path)
			return nil
		}
	}
	if p := n.Parent; !top && p != nil {
		pm, pp, _ := locationMatch(p)
		if pm == config.MatchExact || pm == config.MatchNamed {
			t.unsupportedTree(n, "location inside an exact or named location (nginx -t rejects it)")
			return nil
		}
		// ngx_http_core_location: a nested prefix must extend its parent's.
		if (pm == config.MatchPrefix || pm == config.MatchPrefixNoRegex) &&
			(match == config.MatchPrefix || match == config.MatchPrefixNoRegex || match == config.MatchExact) &&
			!strings.HasPrefix(path, pp) {
			t.unsupportedTree(n, "location %q is outside location %q (nginx -t rejects it)", path, pp)
			return nil
		}
	}
	l := t.settings(n)
	l.Match, l.Path = match, path
	t.use(n)
	t.originFirst(l, from(n))
	if in := n.First("internal"); in != nil {
		t.use(in)
		l.Internal = true
	}
	l.Sets, l.Return = t.rewritePhase(n)
	if pass := n.First("proxy_pass"); pass != nil {
		if p := t.proxy(n, pass); p != nil {
			if l.Return != nil {
				t.set(pass, Preserved, "never reached: the return in this location answers first")
			}
			l.Proxy = p
		}
	}
	for _, c := range n.Children {
		if c.Name == "location" && c.Block != nil {
			if sub := t.location(c, false); sub != nil {
				l.Locations = append(l.Locations, sub)
			}
		}
	}
	return l
}

// locationMatch reads a location's modifier and path
// (ngx_http_core_location), including the forms with the modifier
// attached ("=/x", "~*\.php$", "^~/static/").
func locationMatch(n *parser.Node) (match, path, err string) {
	if n == nil || n.Name != "location" {
		return "", "", "not a location"
	}
	args := n.Args
	switch len(args) {
	case 2:
		switch args[0].Value {
		case "=":
			return config.MatchExact, args[1].Value, ""
		case "^~":
			return config.MatchPrefixNoRegex, args[1].Value, ""
		case "~":
			return config.MatchRegex, args[1].Value, ""
		case "~*":
			return config.MatchIRegex, args[1].Value, ""
		}
		return "", "", fmt.Sprintf("invalid location modifier %q (nginx -t rejects it)", args[0].Value)
	case 1:
		v := args[0].Value
		switch {
		case strings.HasPrefix(v, "="):
			return config.MatchExact, v[1:], ""
		case strings.HasPrefix(v, "^~"):
			return config.MatchPrefixNoRegex, v[2:], ""
		case strings.HasPrefix(v, "~*"):
			return config.MatchIRegex, v[2:], ""
		case strings.HasPrefix(v, "~"):
			return config.MatchRegex, v[1:], ""
		case strings.HasPrefix(v, "@"):
			return config.MatchNamed, v, ""
		}
		return config.MatchPrefix, v, ""
	}
	return "", "", "invalid number of arguments in location"
}

// returnOf translates one return directive (ngx_http_rewrite_return).
func (t *translator) returnOf(n *parser.Node) (*config.Return, bool) {
	if len(n.Args) == 0 || len(n.Args) > 2 {
		t.set(n, Unsupported, "invalid number of arguments in return")
		return nil, false
	}
	v := n.Args[0].Value
	r := &config.Return{}
	if code, err := atoi(v); err == nil {
		if code > 999 {
			t.set(n, Unsupported, "invalid return code %q (nginx -t rejects it)", v)
			return nil, false
		}
		r.Code = code
		if len(n.Args) == 2 {
			r.Text = n.Args[1].Value
		}
	} else if len(n.Args) == 1 && (strings.HasPrefix(v, "http://") || strings.HasPrefix(v, "https://") || strings.HasPrefix(v, "$scheme")) {
		r.Code, r.Text = 302, v
	} else {
		t.set(n, Unsupported, "invalid return code %q (nginx -t rejects it)", v)
		return nil, false
	}
	if !t.checkValue(n, r.Text, ctxServer) {
		return nil, false
	}
	t.use(n)
	t.origin(r, from(n))
	return r, true
}
