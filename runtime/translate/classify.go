package translate

import (
	"fmt"
	"strings"

	"github.com/ngxkeep/ngxkeep/parser"
)

// Notes of the directives that only matter to a real nginx process.
const (
	noteProcess = "nginx process setting; the runtime runs every instance in one process"
	noteEvents  = "event-loop tuning; the runtime's workers accept through Go's network poller"
	noteLog     = "logging; the runtime logs connection events with log/slog (--log-format)"
	noteTemp    = "temporary-file setting; the runtime keeps bodies in memory"
	noteHash    = "hash-table sizing"
	noteIO      = "I/O tuning; it does not change what the runtime opens, keeps or closes"
	noteTLS     = "TLS setting; no TLS listener or upstream runs"
	noteH2      = "HTTP/2 and HTTP/3 setting; the runtime speaks HTTP/1.x only"
)

// ignored maps directive names to the reason they are ignored.
var ignored = map[string]string{
	"daemon": noteProcess, "master_process": noteProcess, "pid": noteProcess, "user": noteProcess,
	"worker_rlimit_nofile": noteProcess, "worker_rlimit_core": noteProcess, "worker_priority": noteProcess,
	"worker_cpu_affinity": noteProcess, "working_directory": noteProcess, "lock_file": noteProcess,
	"env": noteProcess, "pcre_jit": noteProcess, "timer_resolution": noteProcess, "thread_pool": noteProcess,
	"ssl_engine": noteProcess, "load_module": noteProcess, "debug_points": noteProcess,
	"google_perftools_profiles": noteProcess, "worker_aio_requests": noteProcess,

	"use": noteEvents, "multi_accept": noteEvents, "accept_mutex": noteEvents, "accept_mutex_delay": noteEvents,
	"epoll_events": noteEvents, "debug_connection": noteEvents,

	"error_log": noteLog, "access_log": noteLog, "log_format": noteLog, "open_log_file_cache": noteLog,
	"log_not_found": noteLog, "log_subrequest": noteLog, "rewrite_log": noteLog,
	"uninitialized_variable_warn": noteLog,

	"client_body_in_file_only": noteTemp, "client_body_in_single_buffer": noteTemp,

	"sendfile": noteIO, "sendfile_max_chunk": noteIO, "tcp_nopush": noteIO, "tcp_nodelay": noteIO,
	"aio": noteIO, "aio_write": noteIO, "directio": noteIO, "directio_alignment": noteIO,
	"read_ahead": noteIO, "output_buffers": noteIO, "postpone_output": noteIO,
	"open_file_cache": noteIO, "open_file_cache_errors": noteIO, "open_file_cache_min_uses": noteIO,
	"open_file_cache_valid": noteIO, "connection_pool_size": noteIO, "request_pool_size": noteIO,
	"disable_symlinks": noteIO,
}

// mapped are the directive names the translator reads into the model;
// an unread one has no effect where it stands (nothing inherits it),
// in nginx as in the runtime.
var mapped = map[string]bool{
	"keepalive_timeout": true, "keepalive_requests": true, "keepalive_time": true,
	"keepalive_min_timeout": true, "keepalive_disable": true, "lingering_close": true,
	"lingering_time": true, "lingering_timeout": true, "reset_timedout_connection": true,
	"client_body_timeout": true, "send_timeout": true, "client_max_body_size": true,
	"client_body_buffer_size": true, "chunked_transfer_encoding": true, "server_tokens": true,
	"msie_padding": true, "absolute_redirect": true, "server_name_in_redirect": true,
	"port_in_redirect": true, "default_type": true, "etag": true, "add_header": true,
	"error_page": true, "index": true, "root": true, "types": true,
	"client_header_timeout": true, "client_header_buffer_size": true,
	"large_client_header_buffers": true, "ignore_invalid_headers": true,
	"underscores_in_headers": true, "merge_slashes": true,
	"proxy_http_version": true, "proxy_set_header": true, "proxy_pass_request_headers": true,
	"proxy_pass_request_body": true, "proxy_next_upstream": true, "proxy_next_upstream_tries": true,
	"proxy_next_upstream_timeout": true, "proxy_connect_timeout": true, "proxy_read_timeout": true,
	"proxy_send_timeout": true, "proxy_buffering": true, "proxy_buffer_size": true,
	"proxy_request_buffering": true, "proxy_intercept_errors": true, "proxy_ignore_client_abort": true,
	"proxy_method": true, "proxy_buffers": true, "proxy_max_temp_file_size": true,
	"proxy_busy_buffers_size": true, "proxy_redirect": true,
}

// runtimeEquivalent are directive values under which the runtime does
// exactly what nginx does: the feature is off and the runtime never has it.
var runtimeEquivalent = map[string]string{
	"gzip": "off", "gunzip": "off", "ssi": "off", "proxy_cache": "off", "proxy_store": "off",
	"charset": "off", "autoindex": "off", "limit_rate": "0", "recursive_error_pages": "off",
	"msie_refresh": "off", "proxy_socket_keepalive": "off", "proxy_pass_trailers": "off",
	"http2": "off", "http3": "off", "sub_filter_once": "on", "server_name_in_redirect": "off",
	"proxy_ssl_server_name": "off", "proxy_ssl_verify": "off", "fastcgi_keep_conn": "off",
}

// unsupportedNotes explain common directives the runtime does not run.
var unsupportedNotes = map[string]string{
	"rewrite":                "rewrite is not implemented: the URI is not changed",
	"break":                  "the rewrite module is not implemented",
	"try_files":              "try_files is not implemented: the location's own content handler answers",
	"allow":                  "access control is not implemented: every client is allowed",
	"deny":                   "access control is not implemented: every client is allowed",
	"satisfy":                "access control is not implemented",
	"auth_basic":             "authentication is not implemented: every request is allowed",
	"auth_request":           "authentication is not implemented: every request is allowed",
	"limit_req":              "request rate limits are not implemented",
	"limit_req_zone":         "request rate limits are not implemented",
	"limit_conn":             "connection limits are not implemented (only worker_connections applies)",
	"limit_conn_zone":        "connection limits are not implemented",
	"limit_rate":             "response rate limits are not implemented",
	"fastcgi_pass":           "only proxy_pass (HTTP) is implemented: the location serves static files instead",
	"uwsgi_pass":             "only proxy_pass (HTTP) is implemented: the location serves static files instead",
	"scgi_pass":              "only proxy_pass (HTTP) is implemented: the location serves static files instead",
	"grpc_pass":              "only proxy_pass (HTTP) is implemented: the location serves static files instead",
	"memcached_pass":         "only proxy_pass (HTTP) is implemented: the location serves static files instead",
	"expires":                "Expires and Cache-Control headers are not added",
	"gzip":                   "compression is not implemented: responses are sent uncompressed",
	"proxy_cache":            "response caching is not implemented: every request goes to the upstream",
	"proxy_hide_header":      "the header is passed to the client",
	"proxy_pass_header":      "only the runtime's default set of upstream headers is hidden",
	"proxy_ignore_headers":   "X-Accel-* and caching headers from the upstream are not acted on",
	"proxy_socket_keepalive": "TCP keep-alive probes are not enabled on upstream sockets",
	"recursive_error_pages":  "error_page inside an error_page target is not followed",
	"stub_status":            "stub_status is not implemented",
	"empty_gif":              "empty_gif is not implemented",
	"return":                 "the return is not run here",
}

// otherProtocols are the upstream modules other than proxy, by directive
// prefix.
var otherProtocols = map[string]string{
	"fastcgi_": "FastCGI", "uwsgi_": "uwsgi", "scgi_": "SCGI", "grpc_": "gRPC", "memcached_": "memcached",
}

// classify gives a verdict to a node the translation did not consume.
func (t *translator) classify(n *parser.Node) mark {
	name := n.Name
	if n.Ctx == parser.CtxOpaque {
		// Lines of a map, types, geo, ... block share their block's verdict.
		if pm, ok := t.marks[n.Parent]; ok && n.Parent.Directive != nil {
			return mark{pm.v, fmt.Sprintf("part of %s at %s", n.Parent.Name, where(n.Parent))}
		}
		return mark{Ignored, "data of a block that has no effect"}
	}
	switch name {
	case "if", "limit_except", "stream", "mail":
		what := map[string]string{
			"if":           "if is not implemented: its directives never run",
			"limit_except": "limit_except is not implemented: its directives never run",
			"stream":       "the stream (TCP/UDP) module is not implemented",
			"mail":         "the mail proxy is not implemented",
		}[name]
		t.unsupportedTree(n, "%s", what)
		return t.marks[n]
	}
	if note, ok := ignored[name]; ok {
		return mark{Ignored, note}
	}
	switch {
	case strings.HasSuffix(name, "_temp_path") || strings.HasSuffix(name, "_temp_file_write_size"):
		return mark{Ignored, noteTemp}
	case strings.HasSuffix(name, "_hash_max_size") || strings.HasSuffix(name, "_hash_bucket_size"):
		return mark{Ignored, noteHash}
	case strings.HasPrefix(name, "ssl_") || strings.HasPrefix(name, "proxy_ssl_"):
		if v, ok := runtimeEquivalent[name]; ok && len(n.Args) == 1 && strings.EqualFold(n.Args[0].Value, v) {
			return mark{Preserved, ""}
		}
		return mark{Ignored, noteTLS}
	case strings.HasPrefix(name, "http2_") || strings.HasPrefix(name, "http3_") || strings.HasPrefix(name, "quic_"):
		return mark{Ignored, noteH2}
	case name == "resolver" || name == "resolver_timeout":
		return mark{Approximated, "the runtime resolves host names once, with the system resolver, when it starts"}
	}
	if v, ok := runtimeEquivalent[name]; ok && len(n.Args) == 1 && strings.EqualFold(n.Args[0].Value, v) {
		return mark{Preserved, "the runtime never has this feature either"}
	}
	if strings.HasPrefix(name, "gzip_") {
		if g := n.Effective("gzip", t.target); !g.IsSet() || strings.EqualFold(g.Args[0], "off") {
			return mark{Preserved, "no effect while gzip is off"}
		}
	}
	if mapped[name] {
		return mark{Preserved, "no effect here: nothing that uses it inherits it (the same in nginx)"}
	}
	if note, ok := unsupportedNotes[name]; ok {
		return mark{Unsupported, note}
	}
	for prefix, proto := range otherProtocols {
		if strings.HasPrefix(name, prefix) {
			return mark{Unsupported, proto + " to upstreams is not implemented (only proxy_pass over HTTP)"}
		}
	}
	if spec, ok := parser.Lookup(name, n.Ctx); !ok || spec.Loose {
		return mark{Unsupported, "not an nginx core directive (third-party or commercial module); not implemented"}
	}
	return mark{Unsupported, "not implemented by the runtime"}
}
