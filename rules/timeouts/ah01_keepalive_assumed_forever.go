package timeouts

import (
	"fmt"
	"strings"
	"time"

	"github.com/ngxkeep/ngxkeep/lint"
	"github.com/ngxkeep/ngxkeep/parser"
)

// AH01 reports keep-alive settings that try to make connections permanent.
var AH01 = &lint.Analyzer{
	ID:        "AH01",
	Name:      "keepalive-assumed-forever",
	Severity:  lint.SeverityWarning,
	Scope:     lint.Both,
	Versioned: true, // the list of closes depends on the version
	Doc: `keepalive_timeout of an hour or more, or keepalive_requests of a million or more: settings that try to make connections permanent.

Keep-alive is an optimisation, not a guarantee. However long keepalive_timeout
is and however high keepalive_requests is, nginx still closes client
connections:

  - after error responses it generates itself: 400, 414 and 494 for
    malformed or oversized request lines and headers, 413 for bodies over
    client_max_body_size, 500 and 501, and 495-497 on TLS listeners
    ("Connection: close", ngx_http_special_response_handler);
  - when a request body it does not need cannot be discarded within
    lingering_timeout / lingering_time;
  - after keepalive_time (default 1h, 1.19.10+): the first request on an
    older connection is answered with "Connection: close", so a timeout of a
    day never governs how long a connection is used;
  - after keepalive_requests requests;
  - on every reload and graceful shutdown: idle connections are closed at
    once and responses in flight carry "Connection: close" (1.21.6+);
  - under connection pressure: when fewer than 1/16 of worker_connections
    are free (1.19.2+), the oldest idle connections are closed; with a
    "forever" timeout idle connections pile up and each holds a
    worker_connections slot for the whole timeout;
  - for POST requests from old MSIE user agents (keepalive_disable msie6,
    the default) and, if configured, for Safari;
  - when client_header_timeout, client_body_timeout or send_timeout expire
    (no response is sent).

A peer that assumes the connection stays open breaks on each of these: a
frontend nginx pool reuses cached connections without checking them, so a
request written on a connection this server closed while idle (reload,
connection pressure) reads EOF; nginx retries a GET but answers a POST with
502. The same holds for the upstream side: a pool with an hour-long
keepalive_timeout still loses its connections to keepalive_time,
keepalive_requests, any response that is not cleanly delimited, reloads,
and the backend's own closes.

The message lists the closes that apply for the target version, with the
values in effect at that place (client_max_body_size, lingering timers,
worker_connections, keepalive_disable), points at the locations that force
closes (a small client_max_body_size, "return 500;") and, when the topology
links a frontend pool to this server, at that pool.

Fix: keep finite, realistic timeouts (the defaults, 75s and 1000 requests,
are fine; behind a frontend pool keep keepalive_timeout above the pool's
keepalive_timeout) and make every peer ready to reconnect and to retry
safely.`,
	Bad: `events {}
http {
    keepalive_timeout 86400s;
    server {
        listen 8080;
        location / {
            return 200 "ok\n";
        }
    }
}
`,
	Good: `events {}
http {
    keepalive_timeout 75s;
    server {
        listen 8080;
        location / {
            return 200 "ok\n";
        }
    }
}
`,
	Options: []lint.Option{
		{Name: "min_timeout", Doc: "smallest keepalive_timeout reported as \"forever\"", Kind: lint.OptionDuration, Default: "1h"},
		{Name: "min_requests", Doc: "smallest keepalive_requests reported as \"forever\"", Kind: lint.OptionInt, Default: "1000000"},
	},
	Run: runAH01,
}

func runAH01(pass *lint.Pass) error {
	minT := pass.OptionDuration("min_timeout")
	minR := int64(pass.OptionInt("min_requests"))
	for _, in := range pass.Instances {
		for _, name := range []string{"keepalive_timeout", "keepalive_requests"} {
			for _, n := range in.Nodes(name) {
				if len(n.Args) == 0 || !forever(n, minT, minR) {
					continue
				}
				switch {
				case n.Ctx&clientCtx != 0:
					reportAH01Client(pass, in, n)
				case n.Ctx&parser.CtxUpstream != 0:
					reportAH01Upstream(pass, in, n)
				}
			}
		}
	}
	return nil
}

// forever reports whether a keepalive_timeout or keepalive_requests value
// reaches the "forever" thresholds.
func forever(n *parser.Node, minT time.Duration, minR int64) bool {
	if n.Name == "keepalive_timeout" {
		d, ok := msec(n.Args[0].Value)
		return ok && d >= minT
	}
	c, ok := count(n.Args[0].Value)
	return ok && c >= minR
}

// closeList accumulates the numbered closes of a message.
type closeList struct{ items []string }

func (c *closeList) add(format string, args ...any) {
	c.items = append(c.items, fmt.Sprintf(format, args...))
}

func (c *closeList) String() string {
	var b strings.Builder
	for i, s := range c.items {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "(%d) %s", i+1, s)
	}
	return b.String()
}

// closingStatuses are the statuses ngx_http_special_response_handler
// answers with "Connection: close" (plus 408 and 444, which close without
// a response).
var closingStatuses = map[string]string{
	"400": "400", "413": "413", "414": "414", "495": "495", "496": "496", "497": "497",
	"500": "500", "501": "501", "408": "408 (closes without any response)", "444": "444 (closes without any response)",
}

func reportAH01Client(pass *lint.Pass, in *lint.Instance, n *parser.Node) {
	t := pass.Target
	level := n.Parent
	servers := serversUsing(pass, in, n)
	if n.Ctx&parser.CtxHTTP != 0 && len(servers) == 0 && len(in.Servers()) > 0 {
		return // every server sets its own: no effect
	}
	if n.Ctx&parser.CtxLocation != 0 {
		servers = nil
		if s := in.ServerOf(lint.Enclosing(n, "server")); s != nil {
			servers = append(servers, s)
		}
	}
	timeout := effective(pass, level, "keepalive_timeout")
	requests := effective(pass, level, "keepalive_requests")

	var head string
	if n.Name == "keepalive_timeout" {
		d, _ := msec(n.Args[0].Value)
		head = fmt.Sprintf("keepalive_timeout %s asks nginx to keep idle client connections open for %s", n.Args[0].Value, human(d))
	} else {
		head = fmt.Sprintf("keepalive_requests %s asks nginx to serve practically unlimited requests per client connection", n.Args[0].Value)
	}

	var c closeList
	// ngx_http_special_response_handler: keep-alive off for these statuses.
	body := effective(pass, level, "client_max_body_size")
	tls := false
	for _, s := range servers {
		for _, l := range s.Listens {
			tls = tls || l.SSL
		}
	}
	errs := fmt.Sprintf("after every error response nginx generates itself (\"Connection: close\"): 400, 414 and 494 for malformed or oversized request lines and headers, "+
		"413 for request bodies larger than %s, 500 and 501", describe("client_max_body_size", body))
	if tls {
		errs += ", 495-497 for TLS client-certificate errors and plain HTTP sent to the TLS port"
	}
	forced := forcedCloses(servers)
	if len(forced) > 0 {
		var names []string
		for i, fc := range forced {
			if i == 3 {
				names = append(names, fmt.Sprintf("%d more", len(forced)-3))
				break
			}
			names = append(names, fc.short)
		}
		errs += "; here: " + strings.Join(names, ", ")
	}
	c.add("%s", errs)
	linger := effective(pass, level, "lingering_timeout")
	ltime := effective(pass, level, "lingering_time")
	c.add("when a request body nginx does not need cannot be discarded within %s per read and %s in total",
		describe("lingering_timeout", linger), describe("lingering_time", ltime))
	if t.AtLeast(v1_19_10) {
		kt := effective(pass, level, "keepalive_time")
		if d, ok := msec(kt.first()); ok && d > 0 {
			s := fmt.Sprintf("when the connection is older than %s: the first request after that is answered with \"Connection: close\"", describe("keepalive_time", kt))
			if td, ok := msec(timeout.first()); ok && td > d {
				s += fmt.Sprintf(", so the %s idle timeout never governs how long a connection is used", human(td))
			}
			c.add("%s", s)
		}
	}
	if n.Name == "keepalive_timeout" {
		if r, ok := count(requests.first()); ok && r > 0 {
			c.add("after %s requests on one connection (%s; that response says \"Connection: close\")", requests.first(), describe("keepalive_requests", requests))
		}
	} else if d, ok := msec(timeout.first()); ok && d > 0 {
		c.add("after %s without a request (%s)", human(d), describe("keepalive_timeout", timeout))
	}
	reload := "on every reload and graceful shutdown: idle connections are closed at once"
	if t.AtLeast(v1_21_6) {
		reload += " and responses in flight carry \"Connection: close\""
	} else {
		reload += " and connections with a response in flight are closed after it"
	}
	if mt := effective(pass, level, "keepalive_min_timeout"); t.AtLeast(parser.V1_27_4) && mt.explicit() {
		if d, ok := msec(mt.first()); ok && d > 0 {
			reload += fmt.Sprintf(" (keepalive_min_timeout %s only delays that)", mt.first())
		}
	}
	if st := effective(pass, n, "worker_shutdown_timeout"); st.explicit() {
		reload += fmt.Sprintf("; worker_shutdown_timeout %s then closes everything", st.first())
	}
	c.add("%s", reload)
	wc := effective(pass, n, "worker_connections")
	if w, ok := count(wc.first()); ok && w > 0 {
		what := "idle connections"
		if n.Name == "keepalive_timeout" {
			what = "idle connections, which pile up with this timeout and each hold a slot,"
		}
		if t.AtLeast(v1_19_2) {
			c.add("under connection pressure: when fewer than %d of the %d worker_connections%s are free, the oldest %s are closed",
				w/16, w, defaultNote(wc), what)
		} else {
			c.add("under connection pressure: when none of the %d worker_connections%s is free, the oldest %s are closed",
				w, defaultNote(wc), what)
		}
	}
	kd := effective(pass, level, "keepalive_disable")
	var ua []string
	for _, a := range kd.args {
		switch a {
		case "msie6":
			ua = append(ua, "POST requests from MSIE 4-6 user agents")
		case "safari":
			ua = append(ua, "every request from Safari")
		}
	}
	if len(ua) > 0 {
		c.add("for %s (%s)", strings.Join(ua, " and "), describe("keepalive_disable", kd))
	}
	c.add("when client_header_timeout, client_body_timeout or send_timeout expire (no response is sent)")

	pools := map[*lint.Upstream]frontPool{}
	var order []*lint.Upstream
	for _, s := range servers {
		for _, fp := range poolsInto(pass, in, s.Node) {
			if _, ok := pools[fp.pool.Upstream]; !ok {
				pools[fp.pool.Upstream] = fp
				order = append(order, fp.pool.Upstream)
			}
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s, but keep-alive is not a guarantee: nginx %s still closes these connections: %s", head, t, c.String())
	if len(order) > 0 {
		fp := pools[order[0]]
		fmt.Fprintf(&b, ". Upstream %s of %s pools connections to this server and reuses them without checking: a request written on a connection "+
			"this server closed while idle (reload, connection pressure) reads EOF, a GET is retried, a POST gets 502", fp.pool.Upstream.Name, instName(fp.link.From))
	}
	if n.Name == "keepalive_timeout" {
		b.WriteString(". Keep a finite timeout (the default 75s")
		if len(order) > 0 {
			b.WriteString(", above the frontend pool's keepalive_timeout")
		}
		b.WriteString(")")
	} else {
		b.WriteString(". Keep a finite limit (the default 1000)")
	}
	b.WriteString(" and let every client and proxy reconnect and retry safely")
	f := pass.ReportArg(n, 0, "%s", b.String())

	for _, u := range order {
		fp := pools[u]
		f.AddRelated(poolNode(fp.pool), "%s%s and assumes they stay open", who(fp.link.From, poolNode(fp.pool), ""), poolDesc(fp.pool))
	}
	if n.Name == "keepalive_timeout" && t.AtLeast(v1_19_10) {
		if kt := effective(pass, level, "keepalive_time"); kt.explicit() {
			f.AddRelated(kt.node, "keepalive_time %s ends connections regardless", kt.first())
		}
	}
	for i, fc := range forced {
		if i == maxForcedCloses {
			f.Related[len(f.Related)-1].Message += fmt.Sprintf(" (and %d more places that force a close)", len(forced)-maxForcedCloses)
			break
		}
		f.AddRelated(fc.node, "%s", fc.long)
	}
}

func defaultNote(v value) string {
	if v.explicit() {
		return ""
	}
	return " (default)"
}

// maxForcedCloses bounds the related positions listing places that force
// closes.
const maxForcedCloses = 8

// forcedClose is a place that makes nginx close client connections on
// purpose.
type forcedClose struct {
	node        *parser.Node
	short, long string
}

// forcedCloses returns the places in servers that make nginx close
// connections: an explicit client_max_body_size (bodies over it get 413 +
// close), "return" of a closing status without text, and error_page for a
// closing status (ngx_http_special_response_handler still closes).
func forcedCloses(servers []*lint.Server) []forcedClose {
	var out []forcedClose
	seen := map[*parser.Node]bool{}
	check := func(c, lv *parser.Node) {
		if seen[c] {
			return
		}
		seen[c] = true
		where := scopeText(lv)
		switch c.Name {
		case "client_max_body_size":
			if len(c.Args) == 1 && c.Args[0].Value != "0" {
				out = append(out, forcedClose{c,
					fmt.Sprintf("client_max_body_size %s %s(413 + close for larger bodies)", c.Args[0].Value, where),
					fmt.Sprintf("requests with a body over %s %sget 413 Request Entity Too Large and \"Connection: close\"", c.Args[0].Value, where)})
			}
		case "return":
			if len(c.Args) == 1 {
				if st, ok := closingStatuses[c.Args[0].Value]; ok {
					out = append(out, forcedClose{c,
						strings.TrimSpace(fmt.Sprintf("return %s %s", c.Args[0].Value, where)),
						fmt.Sprintf("return %s %sends the connection", st, where)})
				}
			}
		case "error_page":
			for _, a := range c.Args {
				if st, ok := closingStatuses[a.Value]; ok && a.Value != "408" && a.Value != "444" {
					out = append(out, forcedClose{c,
						strings.TrimSpace(fmt.Sprintf("error_page %s %s", a.Value, where)),
						fmt.Sprintf("error_page %s: nginx still sends \"Connection: close\" with the %s page", st, st)})
					break
				}
			}
		}
	}
	for _, s := range servers {
		levels := append([]*parser.Node{s.Node}, s.Locations...)
		for _, lv := range levels {
			for _, c := range lv.Children {
				check(c, lv)
				if c.Name == "if" {
					for _, r := range c.Children {
						check(r, lv)
					}
				}
			}
		}
	}
	return out
}

// scopeText is "in location X " for a location, "" for a server.
func scopeText(lv *parser.Node) string {
	if lv.Name == "location" {
		return "in location " + lint.ArgsText(lv) + " "
	}
	return ""
}

func reportAH01Upstream(pass *lint.Pass, in *lint.Instance, n *parser.Node) {
	t := pass.Target
	u := in.Upstream(lint.ArgValue(n.Parent, 0))
	if u == nil || u.Node != n.Parent {
		return
	}
	pl, ok := pass.Pool(u)
	if !ok {
		return
	}
	var head string
	if n.Name == "keepalive_timeout" {
		d, _ := msec(n.Args[0].Value)
		head = fmt.Sprintf("keepalive_timeout %s asks upstream %s to keep idle cached connections for %s", n.Args[0].Value, u.Name, human(d))
	} else {
		head = fmt.Sprintf("keepalive_requests %s asks upstream %s to reuse each cached connection for practically unlimited requests", n.Args[0].Value, u.Name)
	}
	var c closeList
	if t.AtLeast(v1_19_10) {
		kt := effective(pass, u.Node, "keepalive_time")
		if d, ok := msec(kt.first()); ok && d > 0 {
			s := fmt.Sprintf("this nginx closes a connection older than %s when it is released", describe("keepalive_time", kt))
			if n.Name == "keepalive_timeout" {
				if td, ok := msec(n.Args[0].Value); ok && td > d {
					s += fmt.Sprintf(", so the %s timeout never governs how long a connection is used", human(td))
				}
			}
			c.add("%s", s)
		}
	}
	if n.Name == "keepalive_timeout" {
		if r := effective(pass, u.Node, "keepalive_requests"); r.set() {
			c.add("after %s requests (%s)", r.first(), describe("keepalive_requests", r))
		}
	} else if pi := poolTimeout(pass, u); !pi.unlimited {
		c.add("after %s idle in the cache (%s)", human(pi.d), describe("keepalive_timeout", pi.v))
	}
	c.add("after any response that is not a complete HTTP/1.1 response without \"Connection: close\" (close-delimited or truncated bodies, " +
		"HEAD or aborted requests, errors and timeouts)")
	c.add("when more than %d connections per worker are idle (the least recently used is closed)", pl.Size)
	c.add("on every reload and graceful shutdown (all cached connections are closed at once)")

	closers := poolClosers(pass, u, linkIndex(pass, in)[u], 0)
	backend := "the backend closes them on its own idle timeout (75s for a default nginx, 5-60s for most app servers), on restarts and under connection pressure"
	if len(closers) > 0 {
		backend = closers[0].what(pass) + ", and on restarts and under connection pressure"
	}
	c.add("%s", backend)
	msg := fmt.Sprintf("%s, but cached connections do not last: %s. nginx reuses a cached connection without checking it, so one the backend closed "+
		"is noticed only when a request is written on it (\"upstream prematurely closed connection\"): a GET is retried, a POST gets 502. "+
		"Keep the pool's keepalive_timeout below the backend's idle timeout (default 60s) and keep proxy_next_upstream error",
		head, c.String())
	f := pass.ReportArg(n, 0, "%s", msg)
	for _, cl := range closers {
		cl.relate(f)
	}
}
