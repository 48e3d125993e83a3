package timeouts

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ngxkeep/ngxkeep/lint"
	"github.com/ngxkeep/ngxkeep/parser"
)

// Versions this package's rules depend on, besides the parser's.
var (
	v1_19_2  = parser.Version{Major: 1, Minor: 19, Patch: 2} // drain when < 1/16 free
	v1_19_7  = parser.Version{Major: 1, Minor: 19, Patch: 7} // h2 uses keepalive_*
	v1_21_6  = parser.Version{Major: 1, Minor: 21, Patch: 6} // close during shutdown
	v1_27_3  = parser.Version{Major: 1, Minor: 27, Patch: 3} // upstream server resolve
	v1_29_4  = parser.Version{Major: 1, Minor: 29, Patch: 4} // proxy_http_version 2
	v1_25_0  = parser.Version{Major: 1, Minor: 25, Patch: 0} // listen quic
	v1_15_3  = parser.V1_15_3                                // upstream keepalive_timeout
	v1_19_10 = parser.V1_19_10                               // keepalive_time
)

// raceMargin is how close two idle timeouts must be to count as equal
// (TO03): nginx timers have millisecond resolution but the two sides start
// theirs at different moments (the backend when it finishes writing, the
// frontend when it finishes reading), so a difference within a second is a
// coin toss.
const raceMargin = time.Second

// value is the effective value of a directive at one place.
type value struct {
	args []string
	// node is the directive the value comes from; nil for nginx's default.
	node *parser.Node
}

func (v value) explicit() bool { return v.node != nil }

func (v value) first() string {
	if len(v.args) == 0 {
		return ""
	}
	return v.args[0]
}

// set reports whether the directive has a value at all (explicit or a
// default that exists in the target version).
func (v value) set() bool { return len(v.args) > 0 }

// effective returns the value nginx uses for name at n (a block, or a
// directive whose block is then used): Pass.Effective, with the target
// version's default when the config does not set it (none when the
// directive does not exist in that version).
func effective(pass *lint.Pass, n *parser.Node, name string) value {
	s := pass.Effective(n, name)
	return value{args: s.Args, node: s.Node}
}

// msec parses an nginx time in milliseconds resolution (ngx_parse_time
// with is_sec = 0, as keepalive_timeout's first argument).
func msec(s string) (time.Duration, bool) {
	d, err := parser.ParseTime(s)
	return d, err == nil
}

// secs parses an nginx time in seconds resolution (ngx_parse_time with
// is_sec = 1, as keepalive_timeout's second argument).
func secs(s string) (time.Duration, bool) {
	d, err := parser.ParseTimeSec(s)
	return d, err == nil
}

// count parses a non-negative integer argument.
func count(s string) (int64, bool) {
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n >= 0
}

// human formats a duration the way an nginx config would write it:
// seconds below an hour ("60s", "90s"), hours or days when exact.
func human(d time.Duration) string {
	switch {
	case d == 0:
		return "0"
	case d%(24*time.Hour) == 0:
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	case d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d%time.Second == 0:
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	}
	return strconv.FormatInt(int64(d/time.Millisecond), 10) + "ms"
}

// describe names a value for a message: `keepalive_timeout 30s` when the
// config sets it, `keepalive_timeout 75s (default)` otherwise.
func describe(name string, v value) string {
	s := name + " " + strings.Join(v.args, " ")
	if !v.explicit() {
		s += " (default)"
	}
	return s
}

// where is "file:line" of a node, with the instance's display name.
func where(pass *lint.Pass, n *parser.Node) string {
	if n == nil || n.Directive == nil {
		return ""
	}
	in := pass.InstanceOf(n)
	name := n.Directive.File.Name
	if in != nil {
		name = in.DisplayName(n.Directive.File)
	}
	return fmt.Sprintf("%s:%d", name, n.Pos.Line)
}

// who labels a related position at n, a directive of instance in, with
// in's role ("backend", "frontend" or ""): the related line already shows
// the file, so the config is named only when n is in one of its included
// files ("backend b.conf: "); role "" with n in the main file gives "".
func who(in *lint.Instance, n *parser.Node, role string) string {
	inMain := in != nil && n != nil && n.Directive != nil && in.Config != nil && n.Directive.File == in.Config.Main
	switch {
	case inMain && role == "":
		return ""
	case inMain:
		return role + ": "
	case role == "":
		return instName(in) + ": "
	}
	return role + " " + instName(in) + ": "
}

// instName is the config name of an instance for messages.
func instName(in *lint.Instance) string {
	if in == nil {
		return "?"
	}
	return in.Path
}

// ---- client side ---------------------------------------------------------

// clientCtx are the contexts of the core (client-side) keepalive_*
// directives.
const clientCtx = parser.CtxHTTP | parser.CtxServer | parser.CtxLocation

// idleTimer is a client keepalive_timeout that can govern idle connections
// of a server: the server's own value or that of one of its locations (the
// idle timer nginx arms after a response is the one of the location that
// served it, ngx_http_set_keepalive).
type idleTimer struct {
	d      time.Duration
	v      value
	server *parser.Node // the server block
	level  *parser.Node // the server or location the value applies to
}

// anchor is where a finding about this timer goes: the directive, or,
// when the default applies, the http block (where one keepalive_timeout
// fixes every server that has none), else the server block.
func (t idleTimer) anchor() *parser.Node {
	if t.v.node != nil {
		return t.v.node
	}
	if h := lint.Enclosing(t.server, "http"); h != nil {
		return h
	}
	return t.server
}

// safeAbove suggests an idle timeout safely above a peer's: a tenth more,
// at least 5s more, rounded up to 5s.
func safeAbove(peer time.Duration) time.Duration {
	m := peer / 10
	if m < 5*time.Second {
		m = 5 * time.Second
	}
	d := peer + m
	if r := d % (5 * time.Second); r != 0 {
		d += 5*time.Second - r
	}
	return d
}

// serverIdle returns the shortest non-zero idle timeout among server srv
// and its locations; ok is false when keep-alive is off everywhere.
func serverIdle(pass *lint.Pass, srv *lint.Server) (idleTimer, bool) {
	best := idleTimer{d: -1}
	consider := func(level *parser.Node) {
		v := effective(pass, level, "keepalive_timeout")
		d, ok := msec(v.first())
		if !ok || d == 0 {
			return
		}
		if best.d < 0 || d < best.d {
			best = idleTimer{d: d, v: v, server: srv.Node, level: level}
		}
	}
	consider(srv.Node)
	for _, l := range srv.Locations {
		consider(l)
	}
	return best, best.d > 0
}

// ---- upstream pools ------------------------------------------------------

// poolIdle is the idle timeout of a pool's cached connections.
type poolIdle struct {
	d time.Duration
	// unlimited is true before 1.15.3: cached connections had no idle
	// timer on nginx's side.
	unlimited bool
	v         value
}

// poolTimeout returns the idle timeout of u's cached connections
// (upstream keepalive_timeout, default 60s, 1.15.3+).
func poolTimeout(pass *lint.Pass, u *lint.Upstream) poolIdle {
	if pass.Target.Before(v1_15_3) {
		return poolIdle{unlimited: true}
	}
	v := effective(pass, u.Node, "keepalive_timeout")
	d, ok := msec(v.first())
	if !ok {
		d = 60 * time.Second
	}
	return poolIdle{d: d, v: v}
}

func (pi poolIdle) String() string {
	if pi.unlimited {
		return "without an idle limit (upstream keepalive_timeout appeared in 1.15.3)"
	}
	if pi.v.explicit() {
		return "for up to " + pi.v.first() + " (keepalive_timeout " + pi.v.first() + ")"
	}
	return "for up to " + human(pi.d) + " (upstream keepalive_timeout default)"
}

// poolAnchor is the node a finding about u's idle timeout goes on: its
// keepalive_timeout, else its keepalive directive, else the block.
func poolAnchor(pass *lint.Pass, u *lint.Upstream) *parser.Node {
	if pass.Target.AtLeast(v1_15_3) {
		if v := effective(pass, u.Node, "keepalive_timeout"); v.explicit() {
			return v.node
		}
	}
	if u.Keepalive != nil {
		return u.Keepalive
	}
	return u.Node
}

// reportAt reports at n: at its first argument when n is a value
// directive (a time or a count, the argument at fault), else at the whole
// directive or the block's head.
func reportAt(pass *lint.Pass, n *parser.Node, format string, args ...any) *lint.Finding {
	if n.Block == nil && len(n.Args) > 0 && valueDirective(n.Name) {
		return pass.ReportArg(n, 0, format, args...)
	}
	return pass.Reportf(n, format, args...)
}

// valueDirective reports whether the first argument of name is the value
// a finding is about.
func valueDirective(name string) bool {
	switch name {
	case "keepalive_timeout", "keepalive_requests", "keepalive_time":
		return true
	}
	return strings.HasSuffix(name, "_timeout")
}

// poolDesc describes a pool for related positions and messages.
func poolDesc(pl lint.Pool) string {
	if pl.Implicit() {
		return fmt.Sprintf("upstream %s caches up to 32 idle connections per worker (keepalive 32 local, the default since 1.29.7)", pl.Upstream.Name)
	}
	return fmt.Sprintf("upstream %s caches up to %d idle connections per worker (keepalive %d)", pl.Upstream.Name, pl.Size, pl.Size)
}

// poolNode is the directive that creates a pool (keepalive, or the block).
func poolNode(pl lint.Pool) *parser.Node {
	if pl.Node != nil {
		return pl.Node
	}
	return pl.Upstream.Node
}

// ---- topology ------------------------------------------------------------

// linkServers returns the backend server blocks a link's requests can
// reach: the one nginx picks for the Host header, or every candidate on
// the socket when the Host is not known (rules looking from the frontend
// then consider each of them).
func linkServers(l *lint.Link) []*lint.Server {
	if l.To == nil || l.Server == nil {
		return nil
	}
	if l.Resolved || len(l.Candidates) <= 1 {
		return []*lint.Server{l.Server}
	}
	return l.Candidates
}

// definiteServer returns the backend server block a link's requests surely
// reach, nil when the Host header is unknown and several server blocks
// share the socket (rules looking from the backend report only what is
// certain).
func definiteServer(l *lint.Link) *lint.Server {
	if l.To == nil || l.Server == nil || !(l.Resolved || len(l.Candidates) <= 1) {
		return nil
	}
	return l.Server
}

// ambiguous is the number of server blocks a link may reach, when more
// than one.
func ambiguous(l *lint.Link) int {
	if n := len(linkServers(l)); n > 1 {
		return n
	}
	return 0
}

// linkIndex returns the links of in's upstreams that reach something known
// (a backend instance of the run or a declared tier), by upstream. It is
// built once per rule run instead of scanning every link per upstream; a
// server address without an entry reaches nothing known.
func linkIndex(pass *lint.Pass, in *lint.Instance) map[*lint.Upstream][]*lint.Link {
	m := map[*lint.Upstream][]*lint.Link{}
	if pass.Topology == nil {
		return m
	}
	for _, l := range pass.Topology.LinksFrom(in) {
		if l.Upstream != nil && (l.To != nil || l.Tier != nil) {
			m[l.Upstream] = append(m[l.Upstream], l)
		}
	}
	return m
}

// frontPool is a pooling frontend upstream whose connections reach a
// backend server block.
type frontPool struct {
	pool lint.Pool
	link *lint.Link
}

// poolsInto returns the active pools of other (or the same) instances
// whose connections reach server srv of in, one per upstream.
func poolsInto(pass *lint.Pass, in *lint.Instance, srv *parser.Node) []frontPool {
	if pass.Topology == nil {
		return nil
	}
	var out []frontPool
	seen := map[*lint.Upstream]bool{}
	for _, l := range pass.Topology.LinksTo(in) {
		if l.Upstream == nil || seen[l.Upstream] {
			continue
		}
		if s := definiteServer(l); s == nil || s.Node != srv {
			continue
		}
		pl, ok := pass.ActivePool(l.Upstream)
		if !ok {
			continue
		}
		seen[l.Upstream] = true
		out = append(out, frontPool{pool: pl, link: l})
	}
	return out
}

// serversUsing returns the server blocks of in whose effective value of
// name (at server level) comes from node n: n's own server, or every
// server that inherits an http-level directive.
func serversUsing(pass *lint.Pass, in *lint.Instance, n *parser.Node) []*lint.Server {
	if n.Ctx&parser.CtxHTTP == 0 {
		if s := in.ServerOf(lint.Enclosing(n, "server")); s != nil {
			return []*lint.Server{s}
		}
		return nil
	}
	var out []*lint.Server
	for _, s := range in.Servers() {
		if effective(pass, s.Node, n.Name).node == n {
			out = append(out, s)
		}
	}
	return out
}

// addTierRelated adds a declared tier's position to a finding.
func addTierRelated(f *lint.Finding, t *lint.Tier, format string, args ...any) {
	if t == nil || t.File == "" {
		return
	}
	f.Related = append(f.Related, lint.Related{File: t.File, Pos: t.Pos, End: t.Pos, Message: fmt.Sprintf(format, args...)})
}

// safeTimeout suggests a pool idle timeout clearly below a peer's, outside
// the raceMargin band TO03 reports: a fifth less and at least two seconds
// less, in whole seconds (half the peer's for timeouts of 3s and less).
func safeTimeout(peer time.Duration) time.Duration {
	if peer <= 3*time.Second {
		return (peer / 2).Truncate(100 * time.Millisecond)
	}
	d := peer - peer/5
	if alt := peer - 2*time.Second; alt < d {
		d = alt
	}
	return d.Truncate(time.Second)
}
