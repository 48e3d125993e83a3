package server

// This file evaluates nginx variables for a client request: the built-in
// ones ($host, $http_*, $arg_*, $uri, $remote_addr, ...), map results,
// set results and regular expression captures, and the values with
// variables that return, add_header, error_page, set, map and
// proxy_redirect use (nginx's complex values).
//
// As in nginx, a map is evaluated on first use and its result is kept
// for the rest of the request, internal redirects included (unless the
// map is volatile); set stores its value when its rewrite phase runs; the
// captures $1..$9 are those of the last regular expression with groups
// that matched (the location's, then any map or proxy_redirect regex
// evaluated later), and named groups become variables when they match.
// The per-request state lives on the connection and is reset when the
// next request starts.

import (
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ngxkeep/ngxkeep/runtime/config"
	"github.com/ngxkeep/ngxkeep/runtime/h1"
)

// varTable is the compiled variable configuration of one instance.
type varTable struct {
	// slots indexes the variables stored per request: map results, set
	// targets and named captures, by lower-case name.
	slots map[string]int
	info  []slotInfo
	// values holds every value with variables of the instance, compiled,
	// by its text.
	values map[string]*cvalue
	// sets are the set steps of each server and location.
	srvSets map[*config.Server][]setStep
	locSets map[*config.Location][]setStep
	// redirects are the proxy_redirect rules of each proxy.
	redirects map[*config.Proxy][]redirectRule
}

type slotInfo struct {
	name string
	m    *mapConf // nil for set targets and named captures
}

// cvalue is a compiled value with variables (ngx_http_complex_value_t).
type cvalue struct {
	static bool
	text   string // the value when static
	parts  []vpart
}

type vpart struct {
	lit     string
	name    string // variable name; "" for literal text and captures
	slot    int    // >= 0: a stored variable
	capture int    // 1..9
}

type setStep struct {
	slot  int
	value *cvalue
}

// mapConf is a compiled map block (ngx_http_map_ctx_t).
type mapConf struct {
	source    *cvalue
	def       *cvalue
	hostnames bool
	volatile  bool
	exact     map[string]*cvalue
	wildHead  map[string]*cvalue // "*.example.com" and ".example.com" as "example.com"
	wildTail  map[string]*cvalue // "www.example.*" as "www.example"
	regex     []mapRegex
}

type mapRegex struct {
	re    *regexp.Regexp
	names []int // slot of each named group, -1 for unnamed
	value *cvalue
}

type redirectRule struct {
	from  *cvalue        // prefix, when re is nil
	re    *regexp.Regexp // regular expression
	names []int
	to    *cvalue
}

// compileVars compiles the maps, set steps and values with variables of
// inst. It returns nil when the instance uses none.
func compileVars(inst *config.Instance) (*varTable, error) {
	t := &varTable{
		slots:     map[string]int{},
		values:    map[string]*cvalue{},
		srvSets:   map[*config.Server][]setStep{},
		locSets:   map[*config.Location][]setStep{},
		redirects: map[*config.Proxy][]redirectRule{},
	}
	slot := func(name string) int {
		name = strings.ToLower(name)
		if i, ok := t.slots[name]; ok {
			return i
		}
		t.slots[name] = len(t.info)
		t.info = append(t.info, slotInfo{name: name})
		return len(t.info) - 1
	}
	names := func(re *regexp.Regexp) []int {
		var out []int
		any := false
		for i, n := range re.SubexpNames() {
			if i == 0 {
				continue
			}
			if n == "" {
				out = append(out, -1)
				continue
			}
			out = append(out, slot(n))
			any = true
		}
		if !any {
			return nil
		}
		return out
	}
	// Slots first, so that values resolve their variables to them.
	for _, m := range inst.Maps {
		i := slot(m.Variable)
		t.info[i].m = &mapConf{hostnames: m.Hostnames, volatile: m.Volatile}
	}
	var walkSets func(locs []*config.Location)
	walkSets = func(locs []*config.Location) {
		for _, l := range locs {
			for _, s := range l.Sets {
				slot(s.Variable)
			}
			walkSets(l.Locations)
		}
	}
	for _, s := range inst.Servers {
		for _, st := range s.Sets {
			slot(st.Variable)
		}
		if s.Unmatched != nil {
			walkSets([]*config.Location{s.Unmatched})
		}
		walkSets(s.Locations)
	}
	var err error
	value := func(s string) *cvalue {
		if v, ok := t.values[s]; ok || err != nil {
			return v
		}
		parts, e := config.ParseValue(s)
		if e != nil {
			err = e
			return nil
		}
		v := &cvalue{}
		if !config.HasVariables(s) {
			v.static, v.text = true, s
		}
		for _, p := range parts {
			vp := vpart{lit: p.Text, capture: p.Capture, slot: -1}
			if p.Var != "" {
				vp.name = p.Var
				if i, ok := t.slots[p.Var]; ok {
					vp.slot = i
				}
			}
			v.parts = append(v.parts, vp)
		}
		t.values[s] = v
		return v
	}

	for _, m := range inst.Maps {
		mc := t.info[t.slots[strings.ToLower(m.Variable)]].m
		mc.source = value(m.Source)
		mc.def = value(m.Default)
		for _, e := range m.Entries {
			v := value(e.Value)
			if e.Regex {
				re, rerr := config.CompileRegex(e.Key, e.CaseInsensitive)
				if rerr != nil {
					return nil, rerr
				}
				mc.regex = append(mc.regex, mapRegex{re: re, names: names(re), value: v})
				continue
			}
			k := strings.ToLower(e.Key)
			if mc.hostnames {
				switch {
				case strings.HasPrefix(k, "*."):
					setOnce(&mc.wildHead, k[2:], v)
					continue
				case strings.HasPrefix(k, "."):
					setOnce(&mc.wildHead, k[1:], v)
					k = k[1:]
				case strings.HasSuffix(k, ".*"):
					setOnce(&mc.wildTail, k[:len(k)-2], v)
					continue
				}
			}
			setOnce(&mc.exact, k, v)
		}
	}
	addRewrite := func(sets []*config.Set) []setStep {
		var out []setStep
		for _, s := range sets {
			out = append(out, setStep{slot: t.slots[strings.ToLower(s.Variable)], value: value(s.Value)})
		}
		return out
	}
	var walk func(locs []*config.Location) error
	walk = func(locs []*config.Location) error {
		for _, l := range locs {
			if len(l.Sets) > 0 {
				t.locSets[l] = addRewrite(l.Sets)
			}
			if l.Return != nil {
				value(l.Return.Text)
			}
			for _, h := range l.AddHeaders {
				value(h.Value)
			}
			for _, e := range l.ErrorPages {
				value(e.URI)
			}
			if l.Match == config.MatchRegex || l.Match == config.MatchIRegex {
				// Named groups of a location become variables
				// (looked up by name when the location matches).
				if re, rerr := config.CompileRegex(l.Path, l.Match == config.MatchIRegex); rerr == nil {
					names(re)
				}
			}
			if p := l.Proxy; p != nil {
				for _, r := range p.Redirects {
					rr := redirectRule{to: value(r.To)}
					if r.Regex {
						re, rerr := config.CompileRegex(r.From, r.CaseInsensitive)
						if rerr != nil {
							return rerr
						}
						rr.re = re
						rr.names = names(re)
					} else {
						rr.from = value(r.From)
					}
					t.redirects[p] = append(t.redirects[p], rr)
				}
			}
			if err := walk(l.Locations); err != nil {
				return err
			}
		}
		return nil
	}
	for _, s := range inst.Servers {
		if len(s.Sets) > 0 {
			t.srvSets[s] = addRewrite(s.Sets)
		}
		if s.Return != nil {
			value(s.Return.Text)
		}
		if s.Unmatched != nil {
			if e := walk([]*config.Location{s.Unmatched}); e != nil {
				return nil, e
			}
		}
		if e := walk(s.Locations); e != nil {
			return nil, e
		}
	}
	// Values compiled before a named group's slot existed are resolved
	// again.
	for _, v := range t.values {
		for i := range v.parts {
			if v.parts[i].name != "" && v.parts[i].slot < 0 {
				if s, ok := t.slots[v.parts[i].name]; ok {
					v.parts[i].slot = s
				}
			}
		}
	}
	if err != nil {
		return nil, err
	}
	if len(t.info) == 0 && len(t.redirects) == 0 {
		dynamic := false
		for _, v := range t.values {
			dynamic = dynamic || !v.static
		}
		if !dynamic {
			return nil, nil // nothing to evaluate: the data path skips it all
		}
	}
	return t, nil
}

func setOnce(m *map[string]*cvalue, k string, v *cvalue) {
	if *m == nil {
		*m = map[string]*cvalue{}
	}
	if _, dup := (*m)[k]; !dup {
		(*m)[k] = v
	}
}

// ---- per-request state ----

// reqVars is the variable state of the connection's current request
// (nginx r->variables and r->captures).
type reqVars struct {
	tbl  *varTable
	gen  int64 // c.requests of the request the state belongs to
	vals []slotVal

	// captures of the last regular expression with groups that matched
	capSubject string
	caps       []int
	// the location (and URI change count) whose regex captures were taken
	capLoc    *locConf
	capLocGen int
}

type slotVal struct {
	v     string
	state uint8
}

const (
	slotUnset uint8 = iota
	slotValid       // map result or set value
	slotBusy        // a map being evaluated (cycle guard)
	slotSet         // stored by set: kept even for a volatile map
)

// vars returns the variable state for r, reset when a new request started.
func (c *conn) vars(r *Request) *reqVars {
	rv := &c.reqVars
	tbl := c.ic.vars
	if rv.tbl != tbl || rv.gen != c.requests {
		rv.tbl, rv.gen = tbl, c.requests
		if tbl != nil {
			if cap(rv.vals) < len(tbl.info) {
				rv.vals = make([]slotVal, len(tbl.info))
			}
			rv.vals = rv.vals[:len(tbl.info)]
			clear(rv.vals)
		}
		rv.capSubject, rv.caps = "", rv.caps[:0]
		rv.capLoc, rv.capLocGen = nil, 0
	}
	// ngx_http_core_find_location runs the location's regex: its
	// captures replace the earlier ones.
	if r.loc != nil && (rv.capLoc != r.loc || rv.capLocGen != r.uriChanges) {
		rv.capLoc, rv.capLocGen = r.loc, r.uriChanges
		if re := r.loc.re; re != nil && re.NumSubexp() > 0 {
			path := string(r.Path)
			if m := re.FindStringSubmatchIndex(path); m != nil {
				rv.setCaptures(path, m)
				if tbl != nil {
					rv.storeNamed(tbl.namedOf(re), path, m)
				}
			}
		}
	}
	return rv
}

func (rv *reqVars) setCaptures(subject string, m []int) {
	rv.capSubject = subject
	rv.caps = append(rv.caps[:0], m...)
}

// storeNamed stores the named groups of a match in their slots.
func (rv *reqVars) storeNamed(names []int, subject string, m []int) {
	for i, s := range names {
		if s < 0 || s >= len(rv.vals) {
			continue
		}
		a, b := m[2*(i+1)], m[2*(i+1)+1]
		v := ""
		if a >= 0 {
			v = subject[a:b]
		}
		rv.vals[s] = slotVal{v: v, state: slotValid}
	}
}

// namedOf returns the slots of the named groups of a location regex.
func (t *varTable) namedOf(re *regexp.Regexp) []int {
	var out []int
	any := false
	for i, n := range re.SubexpNames() {
		if i == 0 {
			continue
		}
		s := -1
		if n != "" {
			if v, ok := t.slots[strings.ToLower(n)]; ok {
				s, any = v, true
			}
		}
		out = append(out, s)
	}
	if !any {
		return nil
	}
	return out
}

func (rv *reqVars) capture(n int) string {
	if 2*n+1 >= len(rv.caps) {
		return ""
	}
	a, b := rv.caps[2*n], rv.caps[2*n+1]
	if a < 0 {
		return ""
	}
	return rv.capSubject[a:b]
}

// ---- evaluation ----

// variable returns the value of the variable name (lower case, without
// '$') for r; ok is false for a name the server does not know.
func (c *conn) variable(r *Request, name string) (string, bool) {
	b, ok := c.appendVariable(nil, r, name)
	return string(b), ok
}

// appendVariable is variable appending to dst, without allocating for
// built-in variables.
func (c *conn) appendVariable(dst []byte, r *Request, name string) ([]byte, bool) {
	rv := c.vars(r)
	if t := rv.tbl; t != nil {
		if s, ok := t.slots[name]; ok {
			return append(dst, c.slotValue(r, rv, s)...), true
		}
	}
	if name != "" && name[0] >= '1' && name[0] <= '9' {
		// $1..$9; a longer "name" comes from a parser that reads "$1x"
		// as one variable: nginx reads the capture, then the text.
		dst = append(dst, rv.capture(int(name[0]-'0'))...)
		return append(dst, name[1:]...), true
	}
	return c.appendBuiltin(dst, r, name)
}

// appendValue evaluates v into dst (ngx_http_complex_value).
func (c *conn) appendValue(dst []byte, r *Request, v *cvalue) []byte {
	if v.static {
		return append(dst, v.text...)
	}
	rv := c.vars(r)
	for _, p := range v.parts {
		switch {
		case p.slot >= 0:
			dst = append(dst, c.slotValue(r, rv, p.slot)...)
		case p.name != "":
			dst, _ = c.appendBuiltin(dst, r, p.name)
		case p.capture > 0:
			dst = append(dst, rv.capture(p.capture)...)
		default:
			dst = append(dst, p.lit...)
		}
	}
	return dst
}

// evalString evaluates a value compiled from text (return, add_header,
// error_page); text without variables is returned as is.
func (c *conn) evalString(r *Request, text string) string {
	if !config.HasVariables(text) {
		return text
	}
	t := c.ic.vars
	if t == nil {
		return text
	}
	v := t.values[text]
	if v == nil {
		return text
	}
	return string(c.appendValue(nil, r, v))
}

// slotValue returns a stored variable, evaluating a map on first use
// (ngx_http_get_indexed_variable with ngx_http_map_variable).
func (c *conn) slotValue(r *Request, rv *reqVars, s int) string {
	sv := &rv.vals[s]
	m := rv.tbl.info[s].m
	switch sv.state {
	case slotSet:
		return sv.v
	case slotValid:
		if m == nil || !m.volatile {
			return sv.v
		}
	case slotBusy:
		return "" // a map that depends on itself
	}
	if m == nil {
		return "" // set nowhere on this request's path: uninitialized
	}
	sv.state = slotBusy
	v := c.evalMap(r, rv, m)
	rv.vals[s] = slotVal{v: v, state: slotValid}
	return v
}

// evalMap is ngx_http_map_variable: evaluate the source, find the entry
// (ngx_http_map_find), evaluate its value.
func (c *conn) evalMap(r *Request, rv *reqVars, m *mapConf) string {
	key := string(c.appendValue(nil, r, m.source))
	if m.hostnames && len(key) > 0 && key[len(key)-1] == '.' {
		key = key[:len(key)-1]
	}
	v := m.find(c, r, rv, key)
	if v == nil {
		v = m.def
	}
	if v == nil {
		return ""
	}
	return string(c.appendValue(nil, r, v))
}

func (m *mapConf) find(c *conn, r *Request, rv *reqVars, key string) *cvalue {
	low := strings.ToLower(key)
	if v, ok := m.exact[low]; ok {
		return v
	}
	if len(low) == 0 {
		return nil
	}
	if m.wildHead != nil {
		for i := 0; i < len(low); i++ {
			if low[i] == '.' {
				if v, ok := m.wildHead[low[i+1:]]; ok {
					return v
				}
			}
		}
	}
	if m.wildTail != nil {
		for i := len(low) - 1; i > 0; i-- {
			if low[i] == '.' {
				if v, ok := m.wildTail[low[:i]]; ok {
					return v
				}
			}
		}
	}
	for _, re := range m.regex {
		loc := re.re.FindStringSubmatchIndex(key)
		if loc == nil {
			continue
		}
		// ngx_http_regex_exec: captures only from expressions with groups.
		if re.re.NumSubexp() > 0 {
			rv.setCaptures(key, loc)
		}
		rv.storeNamed(re.names, key, loc)
		return re.value
	}
	return nil
}

// ---- rewrite phase: set ----

// serverRewrite runs the set steps of the server
// (NGX_HTTP_SERVER_REWRITE_PHASE).
func (c *conn) serverRewrite(r *Request) {
	t := c.ic.vars
	if t == nil || len(t.srvSets) == 0 {
		return
	}
	c.runSets(r, t.srvSets[r.srv.src])
}

// locationRewrite runs the set steps of the location
// (NGX_HTTP_REWRITE_PHASE); nginx skips it for the server's own
// settings when no location matched.
func (c *conn) locationRewrite(r *Request) {
	t := c.ic.vars
	if t == nil || len(t.locSets) == 0 || r.loc == nil || r.loc == r.srv.unmatched {
		return
	}
	c.runSets(r, t.locSets[r.loc.src])
}

// runSets is ngx_http_script_set_var_code for each step.
func (c *conn) runSets(r *Request, steps []setStep) {
	for _, st := range steps {
		v := string(c.appendValue(nil, r, st.value))
		// ngx_http_script_set_var_code: valid and cacheable.
		c.vars(r).vals[st.slot] = slotVal{v: v, state: slotSet}
	}
}

// ---- response headers: add_header, proxy_redirect ----

// appendAddHeaders writes the location's add_header lines
// (ngx_http_headers_filter): for "safe" statuses unless always; a value
// that evaluates to "" adds nothing.
func (c *conn) appendAddHeaders(b []byte, r *Request, safe bool) []byte {
	for _, h := range r.loc.addHeaders {
		if !safe && !h.Always {
			continue
		}
		v := h.Value
		if config.HasVariables(v) {
			v = c.evalString(r, v)
			if v == "" {
				continue
			}
		}
		b = append(b, h.Name...)
		b = append(b, ": "...)
		b = append(b, v...)
		b = append(b, "\r\n"...)
	}
	return b
}

// rewriteRedirect applies the proxy_redirect rules of r's location to a
// Location header value, or to a Refresh value from offset prefix
// (ngx_http_proxy_rewrite_redirect). ok is false when no rule applies, or
// the location has none (proxy_redirect off).
func (c *conn) rewriteRedirect(r *Request, value string, prefix int) (string, bool) {
	t := c.ic.vars
	if t == nil || r.loc == nil || r.loc.src.Proxy == nil {
		return value, false
	}
	rules := t.redirects[r.loc.src.Proxy]
	if len(rules) == 0 {
		return value, false
	}
	rest := value[prefix:]
	for _, rr := range rules {
		var n int
		if rr.re != nil {
			// ngx_http_proxy_rewrite_regex_handler: the whole rest is
			// replaced when the expression matches anywhere in it.
			m := rr.re.FindStringSubmatchIndex(rest)
			if m == nil {
				continue
			}
			rv := c.vars(r)
			if rr.re.NumSubexp() > 0 {
				rv.setCaptures(rest, m)
			}
			rv.storeNamed(rr.names, rest, m)
			n = len(rest)
		} else {
			// ngx_http_proxy_rewrite_complex_handler: a case-sensitive
			// prefix.
			from := string(c.appendValue(nil, r, rr.from))
			if len(from) > len(rest) || rest[:len(from)] != from {
				continue
			}
			n = len(from)
		}
		to := c.appendValue(nil, r, rr.to)
		out := make([]byte, 0, len(value)-n+len(to))
		out = append(out, value[:prefix]...)
		out = append(out, to...)
		out = append(out, rest[n:]...)
		return string(out), true
	}
	return value, false
}

// refreshURL returns the offset of the URL in a Refresh header value
// (after "url=", case-insensitive), or -1.
func refreshURL(v string) int {
	i := strings.Index(strings.ToLower(v), "url=")
	if i < 0 {
		return -1
	}
	return i + 4
}

// ---- built-in variables ----

var hostname = sync.OnceValue(func() string {
	h, _ := os.Hostname()
	return strings.ToLower(h)
})

// builtin returns the value of a built-in variable; ok is false for a
// name the server does not know.
func (c *conn) builtin(r *Request, name string) (string, bool) {
	b, ok := c.appendBuiltin(nil, r, name)
	return string(b), ok
}

// appendBuiltin appends the value of a built-in variable
// (ngx_http_core_variables and the prefix variables).
func (c *conn) appendBuiltin(dst []byte, r *Request, name string) ([]byte, bool) {
	h := &c.head
	switch name {
	case "host":
		// ngx_http_variable_host: the validated host, else the server name.
		if len(h.Server) > 0 {
			return append(dst, h.Server...), true
		}
		return append(dst, r.srv.name...), true
	case "hostname":
		return append(dst, hostname()...), true
	case "server_name":
		return append(dst, r.srv.name...), true
	case "request_method":
		return append(dst, methodName(r)...), true
	case "request_uri":
		return append(dst, h.Line.URI...), true
	case "uri", "document_uri":
		return append(dst, r.Path...), true
	case "args", "query_string":
		return append(dst, r.Args...), true
	case "is_args":
		if len(r.Args) > 0 {
			return append(dst, '?'), true
		}
		return dst, true
	case "request":
		// ngx_http_variable_request_line: the line as received.
		dst = append(dst, h.Line.MethodName...)
		dst = append(dst, ' ')
		dst = append(dst, h.Line.URI...)
		return appendProtocol(append(dst, ' '), r.Version, true), true
	case "scheme":
		return append(dst, "http"...), true
	case "https":
		return dst, true
	case "server_protocol":
		return appendProtocol(dst, r.Version, false), true
	case "remote_addr", "remote_port", "binary_remote_addr":
		ta, ok := c.nc.RemoteAddr().(*net.TCPAddr)
		if !ok {
			return dst, true
		}
		ap := ta.AddrPort()
		switch name {
		case "remote_port":
			return strconv.AppendUint(dst, uint64(ap.Port()), 10), true
		case "binary_remote_addr":
			return append(dst, ap.Addr().Unmap().AsSlice()...), true
		}
		return ap.Addr().Unmap().AppendTo(dst), true
	case "server_addr", "server_port":
		ta, ok := c.nc.LocalAddr().(*net.TCPAddr)
		if !ok {
			return dst, true
		}
		if name == "server_port" {
			return strconv.AppendInt(dst, int64(ta.Port), 10), true
		}
		return ta.AddrPort().Addr().Unmap().AppendTo(dst), true
	case "connection":
		return strconv.AppendUint(dst, c.id, 10), true
	case "connection_requests":
		return strconv.AppendInt(dst, c.requests, 10), true
	case "content_length":
		return c.appendHeader(dst, "content_length", "", false), true
	case "content_type":
		return c.appendHeader(dst, "content_type", "", false), true
	case "nginx_version":
		return append(dst, c.ic.src.Version...), true
	case "pid":
		return strconv.AppendInt(dst, int64(os.Getpid()), 10), true
	case "msec":
		now := time.Now()
		dst = strconv.AppendInt(dst, now.Unix(), 10)
		ms := now.Nanosecond() / 1e6
		return append(dst, '.', byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10)), true
	case "time_iso8601":
		return time.Now().AppendFormat(dst, "2006-01-02T15:04:05-07:00"), true
	case "time_local":
		return time.Now().AppendFormat(dst, "02/Jan/2006:15:04:05 -0700"), true
	}
	switch {
	case strings.HasPrefix(name, "http_"):
		return c.appendHTTPVariable(dst, name[5:]), true
	case strings.HasPrefix(name, "arg_"):
		return append(dst, argValue(r.Args, name[4:])...), true
	case strings.HasPrefix(name, "cookie_"):
		return append(dst, c.cookieValue(name[7:])...), true
	}
	return dst, false
}

// appendProtocol appends "HTTP/1.1" or "HTTP/1.0"; HTTP/0.9 has none
// (with line set, the space before it is removed).
func appendProtocol(dst []byte, version int, line bool) []byte {
	switch {
	case version >= 1001:
		return append(dst, "HTTP/1.1"...)
	case version == 1000:
		return append(dst, "HTTP/1.0"...)
	}
	if line && len(dst) > 0 {
		return dst[:len(dst)-1]
	}
	return dst
}

// v1_23_0 (proxy.go) is also the first version whose $http_NAME joins
// every header line of that name.

// appendHTTPVariable is $http_NAME: the request header NAME, '_' standing
// for '-'. nginx before 1.23.0 gives the first line, except for
// X-Forwarded-For (joined with ", ") and Cookie (joined with "; ");
// 1.23.0 and later join every line.
func (c *conn) appendHTTPVariable(dst []byte, name string) []byte {
	sep := ", "
	if name == "cookie" {
		sep = "; "
	}
	all := c.ic.version.AtLeast(v1_23_0) || name == "cookie" || name == "x_forwarded_for"
	return c.appendHeader(dst, name, sep, all)
}

// appendHeader appends the value of the request header named name (lower
// case, '_' for '-'): the first one, or all joined by sep.
func (c *conn) appendHeader(dst []byte, name, sep string, all bool) []byte {
	found := false
	for _, f := range c.head.Headers {
		if !headerNameIs(f.Name, name) {
			continue
		}
		if !all {
			return append(dst, f.Value...)
		}
		if found {
			dst = append(dst, sep...)
		}
		dst = append(dst, f.Value...)
		found = true
	}
	return dst
}

// headerNameIs compares a header name with a variable's name part, as
// ngx_http_variable_unknown_header does: case-insensitive, '-' as '_'.
func headerNameIs(h []byte, name string) bool {
	if len(h) != len(name) {
		return false
	}
	for i, ch := range h {
		switch {
		case ch >= 'A' && ch <= 'Z':
			ch |= 0x20
		case ch == '-':
			ch = '_'
		}
		if ch != name[i] {
			return false
		}
	}
	return true
}

// argValue is ngx_http_arg: the value of the first NAME=value in the
// query string, the name compared case-insensitively.
func argValue(args []byte, name string) string {
	s := string(args)
	for len(s) > 0 {
		var kv string
		kv, s, _ = strings.Cut(s, "&")
		k, v, ok := strings.Cut(kv, "=")
		if ok && strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// cookieValue is $cookie_NAME (ngx_http_parse_multi_header_lines): the
// value of the first cookie NAME in the Cookie headers.
func (c *conn) cookieValue(name string) string {
	for _, f := range c.head.Headers {
		if !h1.EqualFold(f.Name, "cookie") {
			continue
		}
		for _, part := range strings.Split(string(f.Value), ";") {
			part = strings.TrimLeft(part, " ")
			k, v, ok := strings.Cut(part, "=")
			if ok && strings.EqualFold(k, name) {
				return v
			}
		}
	}
	return ""
}

// passRedirect passes a Location or Refresh header of a proxied response
// to the client (ngx_http_upstream_rewrite_location and _refresh): a
// value a proxy_redirect rule rewrote becomes the response's Location (a
// relative one is then made absolute, as nginx's header filter does);
// any other value is passed as it came, in its place among the headers.
func (c *conn) passRedirect(r *Request, w *ResponseWriter, name, value string) {
	location := len(name) == len("location")
	prefix := 0
	if !location {
		if prefix = refreshURL(value); prefix < 0 {
			w.AddHeader(name, value)
			return
		}
	}
	if v, ok := c.rewriteRedirect(r, value, prefix); ok {
		if location {
			w.SetLocation(v)
		} else {
			w.AddHeader(name, v)
		}
		return
	}
	w.AddHeader(name, value)
}
