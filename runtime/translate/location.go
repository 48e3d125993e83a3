package translate

import (
	"fmt"
	"strings"

	"github.com/ngxkeep/ngxkeep/parser"
	"github.com/ngxkeep/ngxkeep/runtime/config"
)

// settings returns the location-level settings in effect at level (a
// location, or a server for the settings before a location is chosen):
// every value nginx uses there, from the directives or the target's
// defaults (ngx_http_core_merge_loc_conf and the filters' merges).
func (t *translator) settings(level *parser.Node) *config.Location {
	d := config.Defaults(t.modelVersion())
	l := &config.Location{}
	var used []*parser.Node
	t.collect = &used
	defer func() {
		t.collect = nil
		t.origin(l, t.valuesFrom(used))
	}()

	ka := t.eff(level, "keepalive_timeout")
	l.KeepaliveTimeout = t.msec(ka, 0, d.KeepaliveTimeout)
	if ka.Node != nil && len(ka.Args) > 1 {
		l.KeepaliveHeaderTimeout = t.sec(ka, 1, "")
	}
	l.KeepaliveRequests = t.number(t.eff(level, "keepalive_requests"), 0, d.KeepaliveRequests)
	l.KeepaliveTime = t.msec(t.eff(level, "keepalive_time"), 0, "")
	l.KeepaliveMinTimeout = t.msec(t.eff(level, "keepalive_min_timeout"), 0, "")
	if kd := t.eff(level, "keepalive_disable"); kd.IsSet() {
		vals := values(kd)
		ok := true
		for _, v := range vals {
			if v != "none" && v != "msie6" && v != "safari" {
				ok = false
				t.set(kd.Node, Unsupported, "invalid value %q (nginx -t rejects it); the default is used", v)
			}
		}
		if ok {
			l.KeepaliveDisable = vals
		} else {
			l.KeepaliveDisable = d.KeepaliveDisable
		}
	} else {
		l.KeepaliveDisable = d.KeepaliveDisable
	}

	l.LingeringClose = t.oneOf(t.eff(level, "lingering_close"), "off", "on", "always")
	if l.LingeringClose == "" {
		l.LingeringClose = d.LingeringClose
	}
	l.LingeringTime = t.msec(t.eff(level, "lingering_time"), 0, d.LingeringTime)
	l.LingeringTimeout = t.msec(t.eff(level, "lingering_timeout"), 0, d.LingeringTimeout)
	l.ResetTimedoutConnection = t.flag(t.eff(level, "reset_timedout_connection"), d.ResetTimedoutConnection)
	l.ClientBodyTimeout = t.msec(t.eff(level, "client_body_timeout"), 0, d.ClientBodyTimeout)
	l.SendTimeout = t.msec(t.eff(level, "send_timeout"), 0, d.SendTimeout)
	l.ClientMaxBodySize = t.size(t.eff(level, "client_max_body_size"), 0, true, d.ClientMaxBodySize)
	l.ClientBodyBufferSize = t.size(t.eff(level, "client_body_buffer_size"), 0, false, d.ClientBodyBufferSize)
	l.ChunkedTransferEncoding = t.flag(t.eff(level, "chunked_transfer_encoding"), d.ChunkedTransferEncoding)

	l.ServerTokens = t.oneOf(t.eff(level, "server_tokens"), "on", "off", "build")
	if l.ServerTokens == "" {
		l.ServerTokens = d.ServerTokens
	}
	l.MSIEPadding = t.flag(t.eff(level, "msie_padding"), d.MSIEPadding)
	l.AbsoluteRedirect = t.flag(t.eff(level, "absolute_redirect"), d.AbsoluteRedirect)
	l.ServerNameInRedirect = t.flag(t.eff(level, "server_name_in_redirect"), d.ServerNameInRedirect)
	l.PortInRedirect = t.flag(t.eff(level, "port_in_redirect"), d.PortInRedirect)
	if dt := t.eff(level, "default_type"); dt.IsSet() {
		l.DefaultType = dt.Args[0]
	} else {
		l.DefaultType = d.DefaultType
	}
	l.Types = t.types(level)
	l.ETag = t.flag(t.eff(level, "etag"), d.ETag)

	l.AddHeaders = t.addHeaders(level)
	l.ErrorPages = t.errorPages(level)
	t.documentRoot(level, l)
	if ix := t.eff(level, "index"); ix.IsSet() {
		l.Index = values(ix)
		if len(ix.Nodes) > 0 {
			for i, v := range l.Index {
				if hasVariable(v) {
					t.set(ix.Nodes[0], Approximated, "variables are not expanded: index file %q is looked up as written", l.Index[i])
				}
			}
		}
	} else {
		l.Index = d.Index
	}
	return l
}

// valuesFrom says which settings of a location come from directives;
// the others are the target's defaults.
func (t *translator) valuesFrom(used []*parser.Node) string {
	var parts []string
	seen := map[*parser.Node]bool{}
	for _, n := range used {
		if seen[n] {
			continue
		}
		seen[n] = true
		parts = append(parts, n.Name+" "+where(n))
	}
	if len(parts) == 0 {
		return fmt.Sprintf("every setting is the nginx %s default", t.target)
	}
	return fmt.Sprintf("settings from %s; the others are nginx %s defaults", strings.Join(parts, ", "), t.target)
}

// types returns the MIME table at level: the types{} blocks of the
// nearest level that has one (ngx_http_core_merge_loc_conf inherits the
// table as a whole), or nginx's built-in table. Within the blocks the
// first mapping of an extension wins (ngx_http_core_types warns about
// later ones).
func (t *translator) types(level *parser.Node) map[string]string {
	for m := level; m != nil && m.Directive != nil; m = m.Parent {
		blocks := m.Find("types")
		if len(blocks) == 0 {
			if m.Name == "http" {
				break
			}
			continue
		}
		out := map[string]string{}
		for _, b := range blocks {
			t.useSetting(b)
			for _, c := range b.Children {
				t.use(c)
				for _, a := range c.Args {
					ext := strings.ToLower(a.Value)
					if _, dup := out[ext]; !dup {
						out[ext] = c.Name
					}
				}
			}
		}
		if len(out) == 0 {
			for _, b := range blocks {
				t.set(b, Approximated, "an empty types{} is read as nginx's built-in table (html, gif, jpg)")
			}
			return builtinTypes()
		}
		return out
	}
	return builtinTypes()
}

func builtinTypes() map[string]string {
	out := make(map[string]string, len(config.BuiltinTypes))
	for k, v := range config.BuiltinTypes {
		out[k] = v
	}
	return out
}

// documentRoot sets Root or Alias: the nearest level with either wins, so
// a nested location inherits its parent's alias (ngx_http_core_merge_loc_conf
// copies root and the alias flag together).
func (t *translator) documentRoot(level *parser.Node, l *config.Location) {
	for m := level; m != nil && m.Directive != nil; m = m.Parent {
		var found *parser.Node
		for _, c := range m.Children {
			if c.Name == "root" || (c.Name == "alias" && m.Name == "location") {
				found = c
				break
			}
		}
		if found == nil {
			if m.Name == "http" {
				break
			}
			continue
		}
		t.useSetting(found)
		v := ""
		if len(found.Args) > 0 {
			v = found.Args[0].Value
		}
		if hasVariable(v) {
			t.set(found, Approximated, "variables are not expanded: the path is used as written")
		}
		if found.Name == "alias" {
			l.Alias = v
			if m != level {
				t.set(found, Approximated, "inherited by the nested location at %s: the runtime replaces that location's prefix, nginx the prefix of the location with the alias", where(level))
			}
			return
		}
		l.Root = v
		return
	}
	l.Root = config.Defaults(t.modelVersion()).Root
}

// addHeaders returns the add_header list at level (all-or-nothing
// inheritance, ngx_http_headers_merge_conf).
func (t *translator) addHeaders(level *parser.Node) []*config.AddHeader {
	s := t.eff(level, "add_header")
	var out []*config.AddHeader
	for i, v := range s.Values {
		n := s.Nodes[i]
		if len(v) < 2 || (len(v) == 3 && v[2] != "always") {
			t.set(n, Unsupported, "invalid add_header arguments (nginx -t rejects them)")
			continue
		}
		h := &config.AddHeader{Name: v[0], Value: v[1], Always: len(v) == 3}
		if !t.checkValue(n, h.Value, ctxServer) {
			continue
		}
		t.origin(h, from(n))
		out = append(out, h)
	}
	return out
}

// errorPages returns the error_page list at level (all-or-nothing
// inheritance), parsed as ngx_http_core_error_page does.
func (t *translator) errorPages(level *parser.Node) []*config.ErrorPage {
	s := t.eff(level, "error_page")
	var out []*config.ErrorPage
	for i, v := range s.Values {
		n := s.Nodes[i]
		ep, err := parseErrorPage(v)
		if err != "" {
			t.set(n, Unsupported, "%s (nginx -t rejects it)", err)
			continue
		}
		if !t.checkValue(n, ep.URI, ctxServer) {
			continue
		}
		t.origin(ep, from(n))
		out = append(out, ep)
	}
	return out
}

// parseErrorPage reads "error_page code ... [=[response]] uri".
func parseErrorPage(v []string) (*config.ErrorPage, string) {
	if len(v) < 2 {
		return nil, "invalid number of arguments in error_page"
	}
	ep := &config.ErrorPage{URI: v[len(v)-1]}
	codes := v[:len(v)-1]
	if last := codes[len(codes)-1]; strings.HasPrefix(last, "=") {
		if len(codes) == 1 {
			return nil, fmt.Sprintf("invalid value %q", last)
		}
		rc := 0
		if len(last) > 1 {
			n, err := atoi(last[1:])
			if err != nil {
				return nil, fmt.Sprintf("invalid value %q", last)
			}
			rc = n
		}
		ep.ResponseCode = &rc
		codes = codes[:len(codes)-1]
	}
	for _, c := range codes {
		n, err := atoi(c)
		if err != nil {
			return nil, fmt.Sprintf("invalid value %q", c)
		}
		if n < 300 || n > 599 {
			return nil, fmt.Sprintf("value %q must be between 300 and 599", c)
		}
		ep.Codes = append(ep.Codes, n)
	}
	return ep, ""
}
