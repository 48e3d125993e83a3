package timeouts

import (
	"fmt"
	"strings"
	"time"

	"github.com/ngxkeep/ngxkeep/lint"
	"github.com/ngxkeep/ngxkeep/parser"
)

// TO04 reports frontends that give up on a backend sooner than the backend
// gives up on what is behind it.
var TO04 = &lint.Analyzer{
	ID:       "TO04",
	Name:     "read-timeout-chain",
	Severity: lint.SeverityWarning,
	Scope:    lint.Cross,
	Doc: `A frontend's proxy_read_timeout (or proxy_send_timeout) is shorter than the backend's own timeout towards its app.

proxy_read_timeout (default 60s) is the longest nginx waits between two
successive reads from the upstream, including the wait for the response
header. When a frontend nginx proxies to a backend nginx that itself waits
longer for its app (proxy_read_timeout 300s, fastcgi_read_timeout 10m, ...),
a slow request outlives the frontend's patience: the frontend closes the
upstream connection and answers 504 Gateway Timeout (the connection is not
reused), while the backend keeps waiting, then writes the late response to
a closed socket and logs 499. The app did all the work for nothing, and a
retrying client doubles it. The same holds for a declared app tier whose
request_timeout is longer than the frontend's read timeout.

proxy_send_timeout bounds the wait between two successive writes of the
request to the upstream. It matters along a chain when the backend streams
the request body to its app (proxy_request_buffering off): a slow app stops
reading, the backend stops reading from the frontend, and the frontend gives
up sending after its proxy_send_timeout (504) while the backend would still
wait. The rule checks the send side only for such backend locations.

The rule follows the topology: for every frontend location whose upstream
(or proxy_pass address) is served by a backend nginx server of the run, it
compares the frontend's effective timeout with the longest one of the
backend server's proxying locations.

Fix: make each tier wait at least as long as the tier behind it (frontend
timeout ≥ backend timeout, plus a little for the backend's own work), or
shorten the backend's timeout.`,
	Bad: `-- frontend.conf --
events {}
http {
    upstream app {
        server 127.0.0.1:9001;
    }
    server {
        listen 9000;
        location / {
            proxy_pass http://app;
        }
    }
}
-- backend.conf --
events {}
http {
    server {
        listen 9001;
        location / {
            proxy_read_timeout 300s;
            proxy_pass http://127.0.0.1:3000;
        }
    }
}
`,
	Good: `-- frontend.conf --
events {}
http {
    upstream app {
        server 127.0.0.1:9001;
    }
    server {
        listen 9000;
        location / {
            proxy_read_timeout 310s;
            proxy_pass http://app;
        }
    }
}
-- backend.conf --
events {}
http {
    server {
        listen 9001;
        location / {
            proxy_read_timeout 300s;
            proxy_pass http://127.0.0.1:3000;
        }
    }
}
`,
	Run: runTO04,
}

// waitKind is the timeout compared: reading the response or sending the
// request.
type waitKind uint8

const (
	waitRead waitKind = iota
	waitSend
)

func (k waitKind) suffix() string {
	if k == waitSend {
		return "_send_timeout"
	}
	return "_read_timeout"
}

// backendWait is the longest wait of a backend towards what it proxies to.
type backendWait struct {
	d    time.Duration
	v    value
	name string
	p    *lint.Proxy    // the backend's *_pass, nil for a tier
	in   *lint.Instance // the backend instance
	tier *lint.Tier
}

// chainHit is one frontend setting that is shorter than a backend's.
type chainHit struct {
	kind    waitKind
	anchor  *parser.Node
	front   value
	frontD  time.Duration
	name    string
	proxies []*lint.Proxy
	worst   backendWait
}

func runTO04(pass *lint.Pass) error {
	if pass.Topology == nil {
		return nil
	}
	byServer := map[*lint.Instance]map[*parser.Node][]*lint.Proxy{}
	proxiesOf := func(in *lint.Instance, srv *parser.Node) []*lint.Proxy {
		m := byServer[in]
		if m == nil {
			m = map[*parser.Node][]*lint.Proxy{}
			for _, p := range in.Proxies() {
				m[p.Server()] = append(m[p.Server()], p)
			}
			byServer[in] = m
		}
		return m[srv]
	}
	for _, in := range pass.Instances {
		var hits []*chainHit
		index := map[[2]any]*chainHit{}
		for _, l := range pass.Topology.LinksFrom(in) {
			if len(l.Proxies) == 0 {
				continue
			}
			for _, kind := range []waitKind{waitRead, waitSend} {
				w, ok := longestBackendWait(pass, l, kind, proxiesOf)
				if !ok {
					continue
				}
				for _, fp := range l.Proxies {
					if fp.Module != lint.ModuleProxy && fp.Module != lint.ModuleGRPC {
						continue
					}
					name := fp.Module.Prefix() + kind.suffix()
					fv := effective(pass, fp.Node, name)
					fd, ok := msec(fv.first())
					if !ok || fd >= w.d {
						continue
					}
					anchor := fv.node
					if anchor == nil {
						anchor = fp.Node
					}
					key := [2]any{anchor, kind}
					h := index[key]
					if h == nil {
						h = &chainHit{kind: kind, anchor: anchor, front: fv, frontD: fd, name: name, worst: w}
						index[key] = h
						hits = append(hits, h)
					}
					if w.d > h.worst.d {
						h.worst = w
					}
					h.proxies = appendProxy(h.proxies, fp)
				}
			}
		}
		for _, h := range hits {
			reportTO04(pass, h)
		}
	}
	return nil
}

func appendProxy(ps []*lint.Proxy, p *lint.Proxy) []*lint.Proxy {
	for _, q := range ps {
		if q == p {
			return ps
		}
	}
	return append(ps, p)
}

// longestBackendWait returns the longest read (or send) timeout the
// backend behind link l uses towards its own upstreams, or a declared app
// tier's request_timeout (read only).
func longestBackendWait(pass *lint.Pass, l *lint.Link, kind waitKind,
	proxiesOf func(*lint.Instance, *parser.Node) []*lint.Proxy) (backendWait, bool) {
	best := backendWait{d: -1}
	if kind == waitRead && l.Tier != nil && l.Tier.RequestTimeout > 0 {
		best = backendWait{d: l.Tier.RequestTimeout, tier: l.Tier}
	}
	for _, s := range linkServers(l) {
		for _, bp := range proxiesOf(l.To, s.Node) {
			if bp.Module == lint.ModuleMemcached && kind == waitSend {
				continue
			}
			if kind == waitSend && !streamsBody(pass, bp) {
				continue
			}
			name := bp.Module.Prefix() + kind.suffix()
			v := effective(pass, bp.Node, name)
			d, ok := msec(v.first())
			if ok && d > best.d {
				best = backendWait{d: d, v: v, name: name, p: bp, in: l.To}
			}
		}
	}
	return best, best.d > 0
}

// streamsBody reports whether a backend location sends the request body to
// its upstream while still reading it from the client
// (*_request_buffering off).
func streamsBody(pass *lint.Pass, p *lint.Proxy) bool {
	switch p.Module {
	case lint.ModuleProxy, lint.ModuleFastCGI, lint.ModuleUWSGI, lint.ModuleSCGI, lint.ModuleGRPC:
	default:
		return false
	}
	if p.Module == lint.ModuleGRPC {
		// ngx_http_grpc_handler always sets request_body_no_buffering.
		return true
	}
	return strings.EqualFold(effective(pass, p.Node, p.Module.Prefix()+"_request_buffering").first(), "off")
}

func reportTO04(pass *lint.Pass, h *chainHit) {
	w := h.worst
	var backend string
	if w.tier != nil {
		backend = fmt.Sprintf("the app tier %q may take up to %s per request (request_timeout)", w.tier.Name, human(w.d))
	} else {
		loc := "its server"
		if w.p.Location() != nil {
			loc = "location " + lint.ArgsText(w.p.Location())
		}
		at := w.p.Node
		if w.v.node != nil {
			at = w.v.node
		}
		backend = fmt.Sprintf("the backend %s waits up to %s for its own upstream in %s (%s at %s)",
			instName(w.in), human(w.d), loc, describe(w.name, w.v), where(pass, at))
	}
	locs := proxyLocations(h.proxies)
	waits, gives := "waits", "gives"
	if len(h.proxies) > 1 {
		waits, gives = "wait", "give"
	}
	var b strings.Builder
	what := describe(h.name, h.front)
	if h.kind == waitRead {
		after := "while the backend keeps working and then logs 499 writing to the closed socket"
		if w.tier != nil {
			after = "while the app keeps working on a request nobody waits for"
		}
		fmt.Fprintf(&b, "%s: %s %s at most %s between two reads from the backend, but %s: "+
			"when the app takes between %s and %s, this nginx gives up first, answers 504 Gateway Timeout and drops the upstream connection, %s",
			what, locs, waits, human(h.frontD), backend, human(h.frontD), human(w.d), after)
	} else {
		fmt.Fprintf(&b, "%s: %s %s up after %s without progress sending the request, but %s and streams the request body "+
			"(request buffering off): a slow app stalls the backend's reads, this nginx answers 504 Gateway Timeout while the backend would still wait",
			what, locs, gives, human(h.frontD), backend)
	}
	fmt.Fprintf(&b, "; set %s to at least %s here, or shorten the backend's", h.name, human(w.d))
	f := reportAt(pass, h.anchor, "%s", b.String())
	if w.tier != nil {
		addTierRelated(f, w.tier, "tier %q: request_timeout %s", w.tier.Name, human(w.d))
	} else if w.v.node != nil {
		f.AddRelated(w.v.node, "%s%s %s", who(w.in, w.v.node, "backend"), w.name, w.v.first())
	} else {
		f.AddRelated(w.p.Node, "%s%s defaults to %s here", who(w.in, w.p.Node, "backend"), w.name, human(w.d))
	}
}

// proxyLocations names the locations of the proxies for a message.
func proxyLocations(ps []*lint.Proxy) string {
	var names []string
	for _, p := range ps {
		if p.Location() != nil {
			names = append(names, lint.ArgsText(p.Location()))
		}
	}
	switch {
	case len(names) == 0:
		return "this proxy"
	case len(names) == 1:
		return "location " + names[0]
	case len(names) <= 3:
		return "locations " + strings.Join(names, ", ")
	}
	return fmt.Sprintf("locations %s and %d more", strings.Join(names[:3], ", "), len(names)-3)
}
