package reuse

import (
	"regexp"
	"strings"

	"github.com/ngxkeep/ngxkeep/lint"
	"github.com/ngxkeep/ngxkeep/parser"
)

// KA04 reports WebSocket Connection headers that also apply to ordinary
// requests to a pooled upstream.
var KA04 = &lint.Analyzer{
	ID:        "KA04",
	Name:      "websocket-map-closes-keepalive",
	Severity:  lint.SeverityWarning,
	Scope:     lint.Single,
	Versioned: true,
	Doc: `The WebSocket Connection header sends "close" (or a bogus "upgrade") on every ordinary request to a pooled upstream.

The WebSocket proxying example on nginx.org is

    map $http_upgrade $connection_upgrade {
        default upgrade;
        ''      close;
    }
    proxy_set_header Upgrade $http_upgrade;
    proxy_set_header Connection $connection_upgrade;

For every request that is not an upgrade ($http_upgrade empty) the map
yields "close", so nginx sends "Connection: close": the backend closes after
each response and the upstream's keep-alive cache is never used for normal
traffic (verified with nginx 1.22.1 and "keepalive 8": nine ordinary
requests, nine backend connections). Mapping '' to '' keeps it: an empty value means the header is not
sent, and HTTP/1.1 then keeps the connection.

A map without a '' entry (only "default upgrade") sends "Connection:
upgrade" on every request, WebSocket or not: a hop-by-hop token without an
Upgrade header that backends treat differently (some attempt or refuse an
upgrade); it never helps and is reported too. So is a literal
proxy_set_header Connection "upgrade" where ordinary requests pass: at the
server or http level, or in "location /". In any other location the literal
is nginx.org's idiom for a location that serves only WebSockets and is left
alone.

Only locations proxying to an upstream with a cache are checked (explicit
keepalive, or any explicit upstream from 1.29.7). The finding is at the
Connection header (once per directive), related to the map entry; the fix
maps '' to ''.`,
	Bad: `events {}
http {
    upstream app {
        server 127.0.0.1:8081;
        keepalive 16;
    }
    map $http_upgrade $connection_upgrade {
        default upgrade;
        ''      close;
    }
    server {
        listen 8080;
        location / {
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_pass http://app;
        }
    }
}
`,
	Good: `events {}
http {
    upstream app {
        server 127.0.0.1:8081;
        keepalive 16;
    }
    map $http_upgrade $connection_upgrade {
        default upgrade;
        ''      '';
    }
    server {
        listen 8080;
        location / {
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_pass http://app;
        }
    }
}
`,
	Run: runKA04,
}

// singleVar matches a value that is exactly one variable.
var singleVar = regexp.MustCompile(`^\$(?:\{([A-Za-z0-9_]+)\}|([A-Za-z0-9_]+))$`)

func runKA04(pass *lint.Pass) error {
	fx := newFacts(pass)
	for _, in := range pass.Instances {
		once := onceNodes{}
		for x := range fx.pooledProxies(in) {
			p, pu, pc := x.p, x.u, x.c
			for _, n := range fx.headers(p).get("Connection") {
				// Whether a node is reported depends on the node alone.
				// A constant value is marked only when reported: most
				// (the "" of every pooled location) are not, and checking
				// one again is cheaper than a set of thousands.
				if len(n.Args) < 2 || once[n] {
					continue
				}
				v := n.Args[1].Value
				if !isConstant(v) {
					once[n] = true
				}
				if isConstant(v) {
					// The literal form is nginx.org's idiom for a location that
					// serves only WebSockets; it hurts where ordinary requests
					// pass too: a server or http level, or the catch-all "/".
					if hasToken(v, "upgrade") && !dedicatedLocation(n.Parent) {
						once[n] = true
						f := pass.ReportArg(n, 1,
							"nginx sends \"Connection: upgrade\" on every request to pooled upstream %q from %s%s, "+
								"WebSocket or not: ordinary requests carry an upgrade token without an Upgrade header, "+
								"which backends treat differently. Use the map $http_upgrade idiom with '' mapped to '' "+
								"so that ordinary requests send no Connection header and keep the pooled connection",
							pu.Name, where(p), alsoOthers(p, n.Parent))
						relateCache(f, pu, pc)
					}
					continue
				}
				m := singleVar.FindStringSubmatch(v)
				if m == nil {
					continue
				}
				name := m[1] + m[2]
				mp := mapDefining(in, name)
				if mp == nil || len(mp.Args) < 2 || !strings.EqualFold(mp.Args[0].Value, "$http_upgrade") {
					continue
				}
				out, entry := mapValueForEmpty(mp)
				if !isConstant(out) {
					continue
				}
				switch {
				case hasToken(out, "close"):
					f := pass.ReportArg(n, 1,
						"%s yields \"close\" for every request that is not a WebSocket upgrade ($http_upgrade "+
							"empty), so nginx sends \"Connection: close\" to pooled upstream %q and the backend closes "+
							"after each ordinary response: the cache (%s) is never reused for normal traffic. "+
							"Map '' to '' instead: an empty value sends no Connection header",
						v, pu.Name, pc.Describe())
					f.AddRelated(entry, "'' (no Upgrade header) is mapped to close here")
					relateCache(f, pu, pc)
					if entry != nil && entry.Name == "" && len(entry.Args) == 1 {
						f.SetFix("map '' to ''", lint.ReplaceArg(entry, 0, "''"))
					}
				case hasToken(out, "upgrade"):
					f := pass.ReportArg(n, 1,
						"%s yields \"upgrade\" for every request that is not a WebSocket upgrade (the map has no "+
							"'' entry, so the default applies): nginx sends \"Connection: upgrade\" without an Upgrade "+
							"header to pooled upstream %q on ordinary requests, which backends treat differently. "+
							"Add a '' entry mapped to ''",
						v, pu.Name)
					if entry != nil {
						f.AddRelated(entry, "requests without an Upgrade header get this value")
						if entry.Name == "default" {
							f.SetFix("map '' to ''", lint.InsertAfter(entry, "''      '';"))
						}
					} else {
						f.AddRelated(mp, "map defining %s", v)
					}
					relateCache(f, pu, pc)
				}
			}
		}
	}
	return nil
}

// dedicatedLocation reports whether level is a location other than the
// catch-all "location /", i.e. one that may well serve WebSockets only.
func dedicatedLocation(level *parser.Node) bool {
	if level == nil || level.Name != "location" {
		return false
	}
	return !(len(level.Args) == 1 && level.Args[0].Value == "/")
}

// mapDefining returns the http map block that defines variable name.
func mapDefining(in *lint.Instance, name string) *parser.Node {
	for _, m := range in.Nodes("map") {
		if m.Ctx&parser.CtxHTTP != 0 && len(m.Args) == 2 &&
			strings.EqualFold(strings.TrimPrefix(m.Args[1].Value, "$"), name) {
			return m
		}
	}
	return nil
}

// mapValueForEmpty returns the value map m gives an empty source value and
// the entry that gives it (nil when none does: the value is then ""). It
// follows ngx_http_map_find: an exact match, then regular expressions in
// order, then the default.
func mapValueForEmpty(m *parser.Node) (string, *parser.Node) {
	var def *parser.Node
	for _, e := range m.Children {
		if len(e.Args) != 1 {
			continue
		}
		switch {
		case e.Name == "":
			return e.Args[0].Value, e
		case e.Name == "default":
			def = e
		}
	}
	for _, e := range m.Children {
		if len(e.Args) != 1 || !strings.HasPrefix(e.Name, "~") {
			continue
		}
		pat := strings.TrimPrefix(e.Name, "~")
		if strings.HasPrefix(pat, "*") {
			pat = "(?i)" + pat[1:]
		}
		if re, err := regexp.Compile(pat); err == nil && re.MatchString("") {
			return e.Args[0].Value, e
		}
	}
	if def != nil {
		return def.Args[0].Value, def
	}
	return "", nil
}
