package config

import (
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// Validate checks every value the runtime will parse and returns all
// problems found, each positioned at the HCL source when the configuration
// was decoded from HCL (programmatic configurations get no ranges).
func (c *Config) Validate() hcl.Diagnostics {
	var d diagList
	seen := map[string]*Instance{}
	for _, inst := range c.Instances {
		if prev, dup := seen[inst.Name]; dup {
			d.errorf(&inst.DefRange, "Duplicate instance", "instance %q is already defined at %s", inst.Name, prev.DefRange)
		}
		seen[inst.Name] = inst
		d = append(d, inst.Validate()...)
	}
	return hcl.Diagnostics(d)
}

// Validate checks one instance (see Config.Validate).
func (inst *Instance) Validate() hcl.Diagnostics {
	var d diagList
	if inst.Name == "" {
		d.errorf(&inst.DefRange, "Missing instance name", "an instance needs a non-empty name label")
	}
	v, err := ParseVersion(inst.Version)
	if err != nil {
		d.errorf(&inst.VersionRange, "Invalid version", "%v", err)
	}
	if inst.WorkerProcesses != nil && *inst.WorkerProcesses < 1 {
		d.errorf(&inst.WorkerProcessesRange, "Invalid worker_processes", "worker_processes must be at least 1, got %d", *inst.WorkerProcesses)
	}
	if inst.WorkerConnections != nil && *inst.WorkerConnections < 2 {
		d.errorf(&inst.WorkerConnectionsRange, "Invalid worker_connections", "worker_connections must be at least 2, got %d", *inst.WorkerConnections)
	}
	if inst.WorkerShutdownTimeout != "" {
		d.msec(inst.WorkerShutdownTimeout, &inst.WorkerShutdownTimeoutRange, "worker_shutdown_timeout")
	}
	if len(inst.Servers) == 0 {
		d.errorf(&inst.DefRange, "No servers", "instance %q has no server block", inst.Name)
	}
	defaults := map[string]*Listen{}
	listens := 0
	for _, s := range inst.Servers {
		d.server(s, v)
		for _, l := range s.Listens {
			listens++
			if !l.DefaultServer {
				continue
			}
			key := NormalizeListenAddress(l.Address)
			if prev, dup := defaults[key]; dup {
				d.errorf(&l.DefRange, "Duplicate default server", "a default server for %s is already defined at %s", l.Address, prev.DefRange)
				continue
			}
			defaults[key] = l
		}
	}
	d.vars(inst) // maps, set steps and values with variables (vars.go)
	if inst.WorkerConnections != nil && *inst.WorkerConnections <= listens && listens > 0 {
		d.errorf(&inst.WorkerConnectionsRange, "worker_connections too small", "%d worker_connections leave no room for clients after %d listening sockets", *inst.WorkerConnections, listens)
	}
	return hcl.Diagnostics(d)
}

// NormalizeListenAddress turns a listen address into "host:port" with "*"
// for the wildcard address ("80" -> "*:80", "0.0.0.0:80" -> "*:80").
func NormalizeListenAddress(a string) string {
	host, port, err := SplitListenAddress(a)
	if err != nil {
		return a
	}
	return net.JoinHostPort(host, port)
}

// SplitListenAddress splits a listen address into host and port; the
// wildcard host is returned as "*".
func SplitListenAddress(a string) (host, port string, err error) {
	if a == "" {
		return "", "", fmt.Errorf("empty listen address")
	}
	if _, err := strconv.Atoi(a); err == nil {
		host, port = "*", a
	} else {
		host, port, err = net.SplitHostPort(a)
		if err != nil {
			return "", "", fmt.Errorf("invalid listen address %q: %v", a, err)
		}
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return "", "", fmt.Errorf("invalid port in listen address %q", a)
	}
	switch host {
	case "", "*", "0.0.0.0":
		host = "*"
	default:
		if net.ParseIP(host) == nil && host != "localhost" {
			return "", "", fmt.Errorf("invalid host in listen address %q: want an IP address, \"localhost\" or \"*\"", a)
		}
	}
	return host, port, nil
}

type diagList hcl.Diagnostics

func (d *diagList) add(sev hcl.DiagnosticSeverity, r *hcl.Range, summary, format string, args ...any) {
	diag := &hcl.Diagnostic{Severity: sev, Summary: summary, Detail: fmt.Sprintf(format, args...)}
	if r != nil && r.Filename != "" {
		rr := *r
		diag.Subject = &rr
	}
	*d = append(*d, diag)
}

func (d *diagList) errorf(r *hcl.Range, summary, format string, args ...any) {
	d.add(hcl.DiagError, r, summary, format, args...)
}

func (d *diagList) warnf(r *hcl.Range, summary, format string, args ...any) {
	d.add(hcl.DiagWarning, r, summary, format, args...)
}

func (d *diagList) msec(s string, r *hcl.Range, name string) {
	if s == "" {
		return
	}
	if _, err := ParseMsec(s); err != nil {
		d.errorf(r, "Invalid "+name, "%s: %v", name, err)
	}
}

func (d *diagList) size(s string, r *hcl.Range, name string, offset bool) {
	if s == "" {
		return
	}
	var err error
	if offset {
		_, err = ParseOffset(s)
	} else {
		_, err = ParseSize(s)
	}
	if err != nil {
		d.errorf(r, "Invalid "+name, "%s: %v", name, err)
	}
}

func (d *diagList) server(s *Server, v Version) {
	if len(s.Listens) == 0 {
		d.errorf(&s.DefRange, "Missing listen", "a server needs at least one listen block")
	}
	for _, l := range s.Listens {
		if _, _, err := SplitListenAddress(l.Address); err != nil {
			d.errorf(&l.AddressRange, "Invalid listen address", "%v", err)
		}
		if l.Backlog < 0 {
			d.errorf(&l.BacklogRange, "Invalid backlog", "backlog must not be negative")
		}
	}
	for _, n := range s.ServerNames {
		if strings.HasPrefix(n, "~") {
			if _, err := regexp.Compile(n[1:]); err != nil {
				d.errorf(&s.ServerNamesRange, "Invalid server name regex", "server name %q: %v", n, err)
			}
			continue
		}
		if strings.Count(n, "*") > 1 || (strings.Contains(n, "*") && !strings.HasPrefix(n, "*.") && !strings.HasSuffix(n, ".*")) {
			d.errorf(&s.ServerNamesRange, "Invalid server name", "server name %q: a wildcard must be \"*.\" at the start or \".*\" at the end", n)
		}
	}
	d.msec(s.ClientHeaderTimeout, &s.ClientHeaderTimeoutRange, "client_header_timeout")
	d.size(s.ClientHeaderBufferSize, &s.ClientHeaderBufferSizeRange, "client_header_buffer_size", false)
	if s.ClientHeaderBufferSize != "" {
		if n, err := ParseSize(s.ClientHeaderBufferSize); err == nil && n < 1 {
			d.errorf(&s.ClientHeaderBufferSizeRange, "Invalid client_header_buffer_size", "client_header_buffer_size must be positive")
		}
	}
	if s.LargeClientHeaderBuffersNumber != nil && *s.LargeClientHeaderBuffersNumber < 1 {
		d.errorf(&s.LargeClientHeaderBuffersNumberRange, "Invalid large_client_header_buffers_number", "the number of large header buffers must be at least 1")
	}
	d.size(s.LargeClientHeaderBuffersSize, &s.LargeClientHeaderBuffersSizeRange, "large_client_header_buffers_size", false)
	if s.LargeClientHeaderBuffersSize != "" {
		if n, err := ParseSize(s.LargeClientHeaderBuffersSize); err == nil && n <= 1 {
			// ngx_http_core_large_client_header_buffers rejects sizes <= 1.
			d.errorf(&s.LargeClientHeaderBuffersSizeRange, "Invalid large_client_header_buffers_size", "the large header buffer size must be larger than 1 byte")
		}
	}
	if s.Return != nil {
		d.ret(s.Return)
	}
	if s.Unmatched != nil {
		if s.Unmatched.Match != "" || s.Unmatched.Path != "" || len(s.Unmatched.Locations) > 0 {
			d.errorf(&s.Unmatched.DefRange, "Invalid unmatched block", "the unmatched block holds settings only: no match, path or nested locations")
		}
		d.settings(s.Unmatched, v)
	}
	d.locations(s.Locations, v, true)
}

func (d *diagList) locations(locs []*Location, v Version, top bool) {
	seen := map[string]*Location{}
	for _, l := range locs {
		key := l.Match + " " + l.Path
		if l.Match == MatchPrefixNoRegex {
			key = MatchPrefix + " " + l.Path // ^~ /a and /a collide in nginx
		}
		if prev, dup := seen[key]; dup {
			d.errorf(&l.DefRange, "Duplicate location", "location %q is already defined at %s", l.Path, prev.DefRange)
		}
		seen[key] = l
		switch l.Match {
		case MatchExact, MatchPrefix, MatchPrefixNoRegex:
			if l.Path == "" {
				d.errorf(&l.PathRange, "Missing location path", "a %s location needs a path", l.Match)
			}
		case MatchRegex, MatchIRegex:
			re := l.Path
			if l.Match == MatchIRegex {
				re = "(?i)" + re
			}
			if _, err := regexp.Compile(re); err != nil {
				d.errorf(&l.PathRange, "Invalid location regex", "location %q: %v", l.Path, err)
			}
		case MatchNamed:
			if !strings.HasPrefix(l.Path, "@") || len(l.Path) < 2 {
				d.errorf(&l.PathRange, "Invalid named location", "a named location's path starts with \"@\", got %q", l.Path)
			}
			if !top {
				d.errorf(&l.DefRange, "Nested named location", "named location %q must be at server level", l.Path)
			}
			if len(l.Locations) > 0 {
				d.errorf(&l.DefRange, "Invalid named location", "named location %q cannot have nested locations", l.Path)
			}
		default:
			d.errorf(&l.MatchRange, "Invalid location match", "match must be one of exact, prefix, prefix_noregex, regex, iregex, named; got %q", l.Match)
		}
		if l.Match == MatchExact && len(l.Locations) > 0 {
			d.errorf(&l.DefRange, "Invalid nested location", "exact location %q cannot have nested locations", l.Path)
		}
		d.settings(l, v)
		d.locations(l.Locations, v, false)
	}
}

func (d *diagList) settings(l *Location, v Version) {
	d.msec(l.KeepaliveTimeout, &l.KeepaliveTimeoutRange, "keepalive_timeout")
	if l.KeepaliveHeaderTimeout != "" {
		if _, err := ParseSec(l.KeepaliveHeaderTimeout); err != nil {
			d.errorf(&l.KeepaliveHeaderTimeoutRange, "Invalid keepalive_header_timeout", "keepalive_header_timeout: %v", err)
		}
	}
	if l.KeepaliveRequests != nil && *l.KeepaliveRequests < 0 {
		d.errorf(&l.KeepaliveRequestsRange, "Invalid keepalive_requests", "keepalive_requests must not be negative")
	}
	d.msec(l.KeepaliveTime, &l.KeepaliveTimeRange, "keepalive_time")
	if l.KeepaliveTime != "" && !v.AtLeast(V1_19_10) {
		d.warnf(&l.KeepaliveTimeRange, "keepalive_time ignored", "keepalive_time exists since nginx 1.19.10; this instance emulates %s", v)
	}
	d.msec(l.KeepaliveMinTimeout, &l.KeepaliveMinTimeoutRange, "keepalive_min_timeout")
	if l.KeepaliveMinTimeout != "" && l.KeepaliveMinTimeout != "0" && !v.AtLeast(V1_27_4) {
		d.warnf(&l.KeepaliveMinTimeoutRange, "keepalive_min_timeout ignored", "keepalive_min_timeout exists since nginx 1.27.4; this instance emulates %s", v)
	}
	for _, k := range l.KeepaliveDisable {
		switch k {
		case "none", "msie6", "safari":
		default:
			d.errorf(&l.KeepaliveDisableRange, "Invalid keepalive_disable", "keepalive_disable values are msie6, safari or none; got %q", k)
		}
	}
	switch l.LingeringClose {
	case "", "off", "on", "always":
	default:
		d.errorf(&l.LingeringCloseRange, "Invalid lingering_close", "lingering_close is off, on or always; got %q", l.LingeringClose)
	}
	d.msec(l.LingeringTime, &l.LingeringTimeRange, "lingering_time")
	d.msec(l.LingeringTimeout, &l.LingeringTimeoutRange, "lingering_timeout")
	d.msec(l.ClientBodyTimeout, &l.ClientBodyTimeoutRange, "client_body_timeout")
	d.msec(l.SendTimeout, &l.SendTimeoutRange, "send_timeout")
	d.size(l.ClientMaxBodySize, &l.ClientMaxBodySizeRange, "client_max_body_size", true)
	d.size(l.ClientBodyBufferSize, &l.ClientBodyBufferSizeRange, "client_body_buffer_size", false)
	switch l.ServerTokens {
	case "", "on", "off", "build":
	default:
		d.errorf(&l.ServerTokensRange, "Invalid server_tokens", "server_tokens is on, off or build; got %q", l.ServerTokens)
	}
	if l.Root != "" && l.Alias != "" {
		d.errorf(&l.AliasRange, "Both root and alias", "a location has either root or alias, not both")
	}
	for _, h := range l.AddHeaders {
		if h.Name == "" || strings.ContainsAny(h.Name, " :\r\n") {
			d.errorf(&h.NameRange, "Invalid add_header name", "header name %q is empty or contains a space, colon or line break", h.Name)
		}
	}
	for _, e := range l.ErrorPages {
		if len(e.Codes) == 0 {
			d.errorf(&e.CodesRange, "Missing error_page codes", "error_page needs at least one status code")
		}
		for _, c := range e.Codes {
			if c < 300 || c > 599 {
				d.errorf(&e.CodesRange, "Invalid error_page code", "value %d must be between 300 and 599", c)
			}
		}
		if e.URI == "" {
			d.errorf(&e.URIRange, "Missing error_page uri", "error_page needs a URI, a @name or a URL")
		}
		if e.ResponseCode != nil && (*e.ResponseCode < 0 || *e.ResponseCode > 999) {
			d.errorf(&e.ResponseCodeRange, "Invalid error_page response code", "response code %d is out of range", *e.ResponseCode)
		}
	}
	if l.Return != nil {
		d.ret(l.Return)
	}
}

func (d *diagList) ret(r *Return) {
	if r.Code < 0 || r.Code > 999 {
		d.errorf(&r.CodeRange, "Invalid return code", "return code %d must be between 0 and 999", r.Code)
	}
}
