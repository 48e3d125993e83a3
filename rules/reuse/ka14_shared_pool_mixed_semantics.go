package reuse

import (
	"strings"

	"github.com/ngxkeep/ngxkeep/lint"
	"github.com/ngxkeep/ngxkeep/parser"
)

// KA14 reports shared (non-local) caches used by locations whose
// connections differ in protocol, TLS or source address.
var KA14 = &lint.Analyzer{
	ID:         "KA14",
	Name:       "shared-pool-mixed-semantics",
	Severity:   lint.SeverityWarning,
	Scope:      lint.Single,
	MinVersion: parser.V1_29_7,
	Doc: `An explicit "keepalive N" without "local" is shared by locations whose connections are not interchangeable.

When nginx reuses a cached connection it compares only the peer's socket
address (ngx_http_upstream_get_keepalive_peer); with "local" it also
requires the connection to come from the same location
(kp->conf->local && item->tag != ...). An explicit "keepalive N" keeps the
pre-1.29.7 shared cache, so a connection opened by one location serves the
next request of any other location using the upstream: a TLS connection
set up with one SNI name, client certificate or verification setting
serves a location configured for another; one bound to a proxy_bind
address serves a location without it; a plain connection meets a location
that proxies over https; an HTTP/1.0, HTTP/1.1 or HTTP/2 connection carries
another version's requests; grpc_pass and proxy_pass share connections.
Verified with nginx 1.30.4 and "keepalive 4": requests of a location without
proxy_bind reached the backend from the other location's proxy_bind address
127.0.0.2 over its cached connection; with "keepalive 4 local" each location
kept its own connection and address.
This is the "keepalive aliasing" raised when local mode was designed
(nginx PR #1080) and why the 1.29.7 default is "keepalive 32 local".

Only targets >= 1.29.7 are checked, where "local" exists (older nginx
shares the same way; there, use separate upstream blocks). Upstreams
without keepalive (implicitly local) and "keepalive N local" are fine.
Compared per location: the module, TLS or not, proxy_http_version,
*_ssl_name, *_ssl_server_name, *_ssl_certificate(_key), *_ssl_protocols,
*_ssl_ciphers, *_ssl_verify, *_ssl_trusted_certificate and *_bind.
Connection-based authentication (NTLM, Negotiate) is not detectable from the
config; mark such backends for KA15 instead. Fix: add "local".`,
	Bad: `# target: 1.30
events {}
http {
    upstream app {
        server 127.0.0.1:8443;
        keepalive 16;
    }
    server {
        listen 8080;
        proxy_ssl_server_name on;
        location /a/ {
            proxy_ssl_name a.example;
            proxy_pass https://app;
        }
        location /b/ {
            proxy_ssl_name b.example;
            proxy_pass https://app;
        }
    }
}
`,
	Good: `# target: 1.30
events {}
http {
    upstream app {
        server 127.0.0.1:8443;
        keepalive 16 local;
    }
    server {
        listen 8080;
        proxy_ssl_server_name on;
        location /a/ {
            proxy_ssl_name a.example;
            proxy_pass https://app;
        }
        location /b/ {
            proxy_ssl_name b.example;
            proxy_pass https://app;
        }
    }
}
`,
	Run: runKA14,
}

// sslSettings are the per-module TLS directives that shape a connection.
var sslSettings = []string{"_ssl_name", "_ssl_server_name", "_ssl_certificate", "_ssl_certificate_key",
	"_ssl_protocols", "_ssl_ciphers", "_ssl_verify", "_ssl_trusted_certificate"}

// connField is one property of the connections a location opens.
type connField struct {
	name, value string
	node        *parser.Node // where the value is set, nil for a default
}

func runKA14(pass *lint.Pass) error {
	fx := newFacts(pass)
	for _, in := range pass.Instances {
		uses := usesByUpstream(in)
		for _, u := range in.Upstreams() {
			c, ok := declared(pass, u)
			if !ok || !!c.Implicit() || c.Local {
				continue
			}
			var first *lint.Proxy
			var firstSig, scratch []connField
			for _, p := range uses[u] {
				sig, ok := fx.connSignature(p, scratch[:0])
				if !ok {
					continue
				}
				if first == nil {
					first, firstSig = p, sig
					continue
				}
				scratch = sig // the others are compared, not kept: reuse the room
				i := differs(firstSig, sig)
				if i < 0 {
					continue
				}
				a, b := firstSig[i], sig[i]
				f := pass.Reportf(c.Node,
					"upstream %q shares one cache between all its locations (%s without local), and nginx picks a "+
						"cached connection by server address alone: %s (%s) and %s (%s) get each other's "+
						"connections. %s. Add local (keepalive %d local) so each location reuses only its own",
					u.Name, c.Describe(), where(first), a, where(p), b,
					consequence(a.name), c.Size)
				f.AddRelated(first.Node, "uses %s", a)
				f.AddRelated(p.Node, "uses %s", b)
				for _, x := range []connField{a, b} {
					if x.node != nil {
						f.AddRelated(x.node, "%s set here", x.name)
					}
				}
				f.SetFix("make the cache local", lint.ReplaceArg(c.Node, 0, c.Node.Args[0].Raw+" local"))
				break
			}
		}
	}
	return nil
}

// connSignature lists what distinguishes the connections p opens,
// appended to dst (whose room it reuses); ok is false for modules that
// never cache their connections.
func (fx *facts) connSignature(p *lint.Proxy, dst []connField) ([]connField, bool) {
	switch p.Module {
	case lint.ModuleUWSGI, lint.ModuleSCGI:
		return nil, false
	case lint.ModuleFastCGI:
		s := fx.pass.Effective(p.Node, "fastcgi_keep_conn")
		if len(s.Args) == 0 || s.Args[0] != "on" {
			return nil, false
		}
	}
	tls := p.Scheme() == "https" || p.Scheme() == "grpcs" || p.Scheme() == "suwsgi"
	// Sized for the fields below: the signature of every location of
	// every shared pool is built, and growing it step by step was the
	// rule's main cost in memory.
	size := 4
	if tls {
		size += len(sslSettings)
	}
	sig := dst
	if cap(sig) < size {
		sig = make([]connField, 0, size)
	}
	sig = append(sig, connField{name: "the module", value: p.Node.Name})
	scheme := p.Scheme()
	if scheme == "" {
		scheme = "(none)"
	}
	sig = append(sig, connField{name: "the scheme", value: schemePrefix(scheme)})
	if p.Module == lint.ModuleProxy {
		v, n := fx.httpVersion(p)
		sig = append(sig, connField{name: "proxy_http_version", value: v, node: n})
	}
	prefix := p.Module.Prefix()
	if tls {
		for _, suffix := range sslSettings {
			sig = append(sig, fx.effectiveField(p, directiveName(prefix, suffix)))
		}
	}
	sig = append(sig, fx.effectiveField(p, directiveName(prefix, "_bind")))
	return sig, true
}

// schemePrefix returns scheme + "://", without allocating for the schemes
// of *_pass targets (a signature is built for every pooled location).
func schemePrefix(scheme string) string {
	switch scheme {
	case "http":
		return "http://"
	case "https":
		return "https://"
	case "grpc":
		return "grpc://"
	case "grpcs":
		return "grpcs://"
	case "uwsgi":
		return "uwsgi://"
	case "suwsgi":
		return "suwsgi://"
	}
	return scheme + "://"
}

// directiveName returns prefix + suffix, as the directive table's string
// when it names a directive, so that a name kept per location is not a new
// string each time.
func directiveName(prefix, suffix string) string {
	if specs := parser.Specs(prefix + suffix); len(specs) > 0 {
		return specs[0].Name
	}
	return prefix + suffix
}

func (fx *facts) effectiveField(p *lint.Proxy, name string) connField {
	s := fx.pass.Effective(p.Node, name)
	v := strings.Join(s.Args, " ")
	return connField{name: name, value: v, node: s.Node}
}

func (f connField) String() string {
	if f.value == "" {
		return f.name + " unset"
	}
	return f.name + " " + f.value
}

// differs returns the index of the first field whose value differs, -1
// when the signatures match.
func differs(a, b []connField) int {
	for i := range a {
		if i >= len(b) || a[i].name != b[i].name {
			return i
		}
		if a[i].value != b[i].value {
			return i
		}
	}
	if len(b) > len(a) {
		return len(a)
	}
	return -1
}

// consequence says what goes wrong when connections differing in field
// are shared.
func consequence(field string) string {
	switch {
	case field == "the module":
		return "Connections of one protocol are handed to another module's requests"
	case field == "the scheme":
		return "A TLS connection can carry a plain-HTTP location's requests and the reverse"
	case field == "proxy_http_version":
		return "A connection opened for one HTTP version carries another's requests (fatal with HTTP/2)"
	case strings.HasSuffix(field, "_bind"):
		return "A connection bound to one source address serves a location configured for another"
	}
	return "A TLS connection set up with one name, certificate or verification setting serves requests " +
		"meant for another: they can reach the wrong virtual host or skip the intended check"
}
