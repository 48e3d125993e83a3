package topology

import (
	"strings"

	"github.com/ngxkeep/ngxkeep/lint"
	"github.com/ngxkeep/ngxkeep/parser"
)

// TP02 reports TLS spoken to plain listeners and plain HTTP spoken to TLS
// listeners.
var TP02 = &lint.Analyzer{
	ID:        "TP02",
	Name:      "scheme-mismatch",
	Severity:  lint.SeverityError,
	Scope:     lint.Cross,
	Versioned: true, // plain "listen ... http2" speaks only HTTP/2 before 1.25.1
	Doc: `proxy_pass https:// to a backend listen without ssl, or http:// to an ssl listen (or to an HTTP/2-only one).

The scheme of proxy_pass (or grpc_pass) decides whether nginx starts a TLS
handshake on the upstream connection; the backend's listen decides whether
it expects one (the ssl parameter, or the old "ssl on;" in the server).
When they disagree, every request fails:

  * https:// to a plain listener: the backend reads the ClientHello as a
    malformed request line and answers a plain-text 400 with
    Connection: close; the frontend's handshake fails ("SSL_do_handshake()
    failed ... wrong version number") and the client gets 502.
  * http:// to an ssl listener: the backend reads a plain request on a TLS
    port, answers 400 "The plain HTTP request was sent to HTTPS port"
    (status 497 internally, a special response that closes the connection),
    and the frontend passes that 400 to the client; the keep-alive pool is
    never used because every response closes.
  * http:// to a plain "listen ... http2" before 1.25.1: such a socket
    speaks only HTTP/2 (prior knowledge; protocol detection came with the
    http2 directive in 1.25.1). The backend answers the HTTP/1.x request
    with HTTP/2 frames, the frontend logs "upstream sent no valid HTTP/1.0
    header" and relays those bytes to the client as an HTTP/0.9 body
    (verified with nginx 1.22.1). grpc:// to such a listener is correct.

The rule needs the frontend and the backend configs on the same command
line; it follows each upstream server address to the listen socket that
accepts it.

Fix: make the scheme match the listener (https:// for ssl listeners, with
proxy_ssl_* as needed), or add or remove ssl on the backend's listen.`,
	Bad: `-- frontend.conf --
events {}
http {
    upstream backend {
        server 127.0.0.1:9443;
    }
    server {
        listen 8080;
        location / {
            proxy_pass http://backend;
        }
    }
}
-- backend.conf --
events {}
http {
    server {
        listen 127.0.0.1:9443 ssl;
        ssl_certificate     cert.pem;
        ssl_certificate_key cert.key;
        location / {
            return 200 "ok\n";
        }
    }
}
`,
	Good: `-- frontend.conf --
events {}
http {
    upstream backend {
        server 127.0.0.1:9443;
    }
    server {
        listen 8080;
        location / {
            proxy_pass https://backend;
        }
    }
}
-- backend.conf --
events {}
http {
    server {
        listen 127.0.0.1:9443 ssl;
        ssl_certificate     cert.pem;
        ssl_certificate_key cert.key;
        location / {
            return 200 "ok\n";
        }
    }
}
`,
	Run: runTP02,
}

func runTP02(pass *lint.Pass) error {
	if pass.Topology == nil {
		return nil
	}
	for _, in := range pass.Instances {
		type key struct{ proxy, listen *parser.Node }
		done := map[key]bool{}
		for _, l := range pass.Topology.LinksFrom(in) {
			if l.To == nil || l.Listen == nil || l.Server == nil {
				continue
			}
			tls := listenerSpeaksTLS(l)
			h2only := !tls && h2cOnly(pass, l)
			if tls == l.SSL && !h2only {
				continue
			}
			for _, p := range l.Proxies {
				if p.Module != lint.ModuleProxy && p.Module != lint.ModuleGRPC {
					continue
				}
				if tls == l.SSL && p.Module != lint.ModuleProxy {
					continue // grpc:// to an h2c listener is right
				}
				k := key{p.Node, l.Listen.Node}
				if done[k] {
					continue
				}
				done[k] = true
				if tls == l.SSL {
					f := pass.ReportArg(p.Node, 0,
						"%s speaks HTTP/1.x to %s, but the listen that accepts it in %s has http2 without ssl, which nginx %s serves as HTTP/2 only: "+
							"the backend answers with HTTP/2 frames, this nginx logs \"upstream sent no valid HTTP/1.0 header\" and relays those bytes "+
							"to its clients as an HTTP/0.9 body; remove http2 from that listen (or listen on another port for the proxy)",
						p.Target(), l.Target.String(), l.To.Path, pass.Target)
					f.AddRelated(l.Listen.Node, "HTTP/2-only listen")
					continue
				}
				reportTP02(pass, p, l)
			}
		}
	}
	return nil
}

// listenerSpeaksTLS reports whether the socket that accepts l expects TLS:
// ssl on any listen of that address (ngx_http_add_addresses ORs the flag
// across servers), or "ssl on" in the server nginx picks.
func listenerSpeaksTLS(l *lint.Link) bool {
	if socketHas(l, func(ls *lint.Listen) bool { return ls.SSL }) {
		return true
	}
	if n := lint.Child(l.Server.Node, "ssl"); n != nil && strings.EqualFold(lint.ArgValue(n, 0), "on") {
		return true
	}
	return false
}

// h2cOnly reports whether the plain socket that accepts l speaks only
// HTTP/2: "listen ... http2" without ssl before 1.25.1 (from 1.25.1
// ngx_http_wait_request_handler tells the HTTP/2 preface from HTTP/1.x).
func h2cOnly(pass *lint.Pass, l *lint.Link) bool {
	if !pass.Target.Before(parser.Version{Major: 1, Minor: 25, Patch: 1}) {
		return false
	}
	return socketHas(l, func(ls *lint.Listen) bool { return ls.HTTP2 })
}

// socketHas reports whether flag holds for l's listen or for another
// listen of the same address among the candidate servers: nginx ORs the
// ssl and http2 flags of all listens of one address (ngx_http_add_addresses).
func socketHas(l *lint.Link, flag func(*lint.Listen) bool) bool {
	if flag(l.Listen) {
		return true
	}
	for _, s := range l.Candidates {
		for i := range s.Listens {
			if ls := &s.Listens[i]; flag(ls) && ls.AddrErr == nil && ls.Addr == l.Listen.Addr {
				return true
			}
		}
	}
	return false
}

func reportTP02(pass *lint.Pass, p *lint.Proxy, l *lint.Link) {
	target := l.Target.String()
	var f *lint.Finding
	if l.SSL {
		f = pass.ReportArg(p.Node, 0,
			"%s starts a TLS handshake with %s, but the listen that accepts it in %s has no ssl: the backend answers the ClientHello "+
				"with a plain-text 400 and closes, the handshake fails (\"wrong version number\") and every request gets 502; "+
				"use %s:// or add ssl to the backend's listen",
			p.Target(), target, l.To.Path, strings.TrimSuffix(p.Scheme(), "s"))
	} else {
		f = pass.ReportArg(p.Node, 0,
			"%s sends plain HTTP to %s, but the listen that accepts it in %s expects TLS: the backend answers every request with "+
				"400 \"The plain HTTP request was sent to HTTPS port\" and closes the connection, and the frontend passes that 400 to its clients; "+
				"use %ss:// (with proxy_ssl_* as needed) or drop ssl from the backend's listen",
			p.Target(), target, l.To.Path, p.Scheme())
	}
	f.AddRelated(l.Listen.Node, "backend listen")
}
