package parser

import "strings"

// valueCheck judges the arguments of a directive that passed the table
// checks, for mistakes nginx rejects while reading the value and that a
// parser can judge without the runtime (no DNS, no files, no variables).
// It returns nginx's message, or "".
type valueCheck func(d *Directive) string

// valueChecks are keyed by directive name and apply in the context given.
var valueChecks = map[string]struct {
	ctx   Context
	check valueCheck
}{
	"listen": {CtxServer, checkListen},
	"server": {CtxUpstream, checkUpstreamServer},
}

// listenParams are the parameters of the http "listen" directive
// (ngx_http_core_listen); a trailing "=" means the parameter takes a value.
var listenParams = []string{
	"default_server", "default", "bind", "setfib=", "fastopen=", "backlog=", "rcvbuf=", "sndbuf=",
	"accept_filter=", "deferred", "ipv6only=", "reuseport", "multipath", "ssl", "http2", "quic",
	"so_keepalive=", "proxy_protocol",
}

// checkListen reports an unknown listen parameter, typically the next
// directive swallowed by a missing ";" (ngx_http_core_listen: "invalid
// parameter").
func checkListen(d *Directive) string {
	for _, a := range d.Args[1:] {
		if !knownParam(listenParams, a.Value) {
			return `invalid parameter "` + a.Value + `"`
		}
	}
	return ""
}

// knownParam reports whether v is one of params ("name" or "name=value").
func knownParam(params []string, v string) bool {
	for _, p := range params {
		if name, ok := strings.CutSuffix(p, "="); ok {
			if strings.HasPrefix(v, name+"=") {
				return true
			}
		} else if v == p {
			return true
		}
	}
	return false
}

// upstreamServerParams are the parameters of the upstream "server"
// directive (ngx_http_upstream_server) in nginx 1.31; a trailing "=" means
// the parameter takes a value.
var upstreamServerParams = []string{
	"weight=", "max_conns=", "max_fails=", "fail_timeout=", "backup", "down", "drain", "route=",
	"resolve", "service=",
}

// checkUpstreamServer reports an unknown parameter of an upstream server,
// typically the next directive swallowed by a missing ";".
func checkUpstreamServer(d *Directive) string {
	for _, a := range d.Args[1:] {
		if !knownParam(upstreamServerParams, a.Value) {
			return `invalid parameter "` + a.Value + `"`
		}
	}
	return ""
}
