package upstream

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Vars resolves request variables by name (without the '$', lower case),
// e.g. "host", "remote_addr", "connection_requests", or a map result. The
// server implements it; names it does not know fall back to the values the
// package can derive from Request itself.
type Vars interface {
	Var(name string) (value string, ok bool)
}

// VarAppender is an optional interface of Vars: AppendVar appends the
// value of a variable to dst without allocating, with the same answers as
// Var.
type VarAppender interface {
	AppendVar(dst []byte, name string) ([]byte, bool)
}

// Field is one header field.
type Field struct {
	Name, Value string
}

// template is a compiled value with variables ("$host:$server_port",
// "${scheme}x").
type template struct {
	parts []tpart
}

type tpart struct {
	lit  string
	name string // variable name when non-empty
}

// compileTemplate parses nginx's variable syntax: $name or ${name}, where a
// name is letters, digits and underscores.
func compileTemplate(s string) (*template, error) {
	t := &template{}
	for len(s) > 0 {
		i := strings.IndexByte(s, '$')
		if i < 0 {
			t.parts = append(t.parts, tpart{lit: s})
			break
		}
		if i > 0 {
			t.parts = append(t.parts, tpart{lit: s[:i]})
		}
		s = s[i+1:]
		var name string
		if strings.HasPrefix(s, "{") {
			j := strings.IndexByte(s, '}')
			if j < 0 {
				return nil, fmt.Errorf("the closing bracket in %q variable is missing", s)
			}
			name, s = s[1:j], s[j+1:]
		} else {
			j := 0
			for j < len(s) && isVarChar(s[j]) {
				j++
			}
			name, s = s[:j], s[j:]
		}
		if name == "" {
			return nil, fmt.Errorf("invalid variable name")
		}
		t.parts = append(t.parts, tpart{name: strings.ToLower(name)})
	}
	return t, nil
}

func isVarChar(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// static returns the value of a template without variables.
func (t *template) static() (string, bool) {
	var b strings.Builder
	for _, p := range t.parts {
		if p.name != "" {
			return "", false
		}
		b.WriteString(p.lit)
	}
	return b.String(), true
}

// appendTo evaluates t into dst.
func (t *template) appendTo(dst []byte, ev *evaluator) []byte {
	for _, p := range t.parts {
		if p.name == "" {
			dst = append(dst, p.lit...)
		} else {
			dst = ev.appendVar(dst, p.name)
		}
	}
	return dst
}

// evaluator resolves variables for one request.
type evaluator struct {
	req       *Request
	proxyHost string
	proxyPort string
	bodyLen   int64 // -1: none
}

// appendVar appends the value of one variable: the proxy module's own
// variables first, then the server's Vars, then what Request carries.
func (ev *evaluator) appendVar(dst []byte, name string) []byte {
	r := ev.req
	switch name {
	case "proxy_host":
		return append(dst, ev.proxyHost...)
	case "proxy_port":
		return append(dst, ev.proxyPort...)
	case "proxy_add_x_forwarded_for":
		// ngx_http_proxy_add_x_forwarded_for_variable
		n := len(dst)
		dst = appendHeaderValues(dst, r.Header, "x-forwarded-for", ", ")
		if len(dst) > n {
			dst = append(dst, ", "...)
		}
		return appendRemoteAddr(dst, r)
	case "proxy_internal_body_length":
		if ev.bodyLen >= 0 {
			return strconv.AppendInt(dst, ev.bodyLen, 10)
		}
		return dst
	}
	if r.Vars != nil {
		if va, ok := r.Vars.(VarAppender); ok {
			if d, ok := va.AppendVar(dst, name); ok {
				return d
			}
		} else if v, ok := r.Vars.Var(name); ok {
			return append(dst, v...)
		}
	}
	switch name {
	case "request_method":
		return append(dst, r.Method...)
	case "request_uri":
		return append(dst, r.RawURI...)
	case "uri", "document_uri":
		return append(dst, r.Path...)
	case "args", "query_string":
		return append(dst, r.Args...)
	case "is_args":
		if r.Args != "" {
			return append(dst, '?')
		}
		return dst
	case "remote_addr":
		return appendRemoteAddr(dst, r)
	case "remote_port":
		if r.RemoteAddr.IsValid() {
			return strconv.AppendUint(dst, uint64(r.RemoteAddr.Port()), 10)
		}
		return dst
	case "binary_remote_addr":
		if r.RemoteAddr.IsValid() {
			return append(dst, r.RemoteAddr.Addr().AsSlice()...)
		}
		return dst
	case "scheme":
		return append(dst, "http"...)
	case "host":
		// $host without a server's help: the Host header, lower-cased, port stripped.
		for _, f := range r.Header {
			if strings.EqualFold(f.Name, "host") {
				h := f.Value
				if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.Contains(h[i:], "]") {
					h = h[:i]
				}
				return append(dst, strings.ToLower(h)...)
			}
		}
		return dst
	case "content_length":
		return appendHeaderValues(dst, r.Header, "content-length", ", ")
	case "content_type":
		return appendHeaderValues(dst, r.Header, "content-type", ", ")
	}
	if strings.HasPrefix(name, "http_") {
		sep := ", "
		if name == "http_cookie" {
			sep = "; "
		}
		return appendHeaderValues(dst, r.Header, strings.ReplaceAll(name[5:], "_", "-"), sep)
	}
	if strings.HasPrefix(name, "arg_") {
		if v, ok := argValue(r.Args, name[4:]); ok {
			return append(dst, v...)
		}
	}
	return dst
}

func appendRemoteAddr(dst []byte, r *Request) []byte {
	if r.RemoteAddr.IsValid() {
		return r.RemoteAddr.Addr().Unmap().AppendTo(dst)
	}
	return dst
}

// appendHeaderValues joins the values of every header named lname
// (lower-case, '-' separated), as $http_NAME does since nginx 1.23.0.
func appendHeaderValues(dst []byte, hs []Field, lname, sep string) []byte {
	first := true
	for _, f := range hs {
		if len(f.Name) != len(lname) || !strings.EqualFold(f.Name, lname) {
			continue
		}
		if !first {
			dst = append(dst, sep...)
		}
		dst = append(dst, f.Value...)
		first = false
	}
	return dst
}

// argValue is ngx_http_arg: the first NAME=value in the query string,
// matching the name case-insensitively.
func argValue(args, name string) (string, bool) {
	for len(args) > 0 {
		var kv string
		if i := strings.IndexByte(args, '&'); i >= 0 {
			kv, args = args[:i], args[i+1:]
		} else {
			kv, args = args, ""
		}
		k, v, _ := strings.Cut(kv, "=")
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return "", false
}

// clientIP returns the client address for ip_hash.
func (r *Request) clientIP() netip.Addr {
	if r.RemoteAddr.IsValid() {
		return r.RemoteAddr.Addr()
	}
	return netip.Addr{}
}
