package config

import "github.com/hashicorp/hcl/v2"

// Config is a runtime configuration: one or more instances, each the
// equivalent of one nginx configuration.
type Config struct {
	Instances []*Instance `hcl:"instance,block"`
}

// Instance is one nginx configuration: its process model and its servers.
type Instance struct {
	// Name labels the instance in logs and metrics.
	Name string `hcl:"name,label"`
	// Version is the nginx version whose behaviour is emulated, e.g.
	// "1.22.1". Several close behaviours differ by version.
	Version string `hcl:"version"`
	// ServerSoftware is the text of the Server header and of the error page
	// footer when server_tokens is on; "" means "nginx/" + Version.
	ServerSoftware string `hcl:"server_software,optional"`
	// WorkerProcesses is the number of independent workers (default 1).
	WorkerProcesses *int `hcl:"worker_processes,optional"`
	// WorkerConnections is the per-worker connection limit, counting every
	// listening socket and every client and upstream connection (default 512).
	WorkerConnections *int `hcl:"worker_connections,optional"`
	// WorkerShutdownTimeout bounds a graceful shutdown or reload ("" = unlimited).
	WorkerShutdownTimeout string `hcl:"worker_shutdown_timeout,optional"`

	Servers []*Server `hcl:"server,block"`
	// Upstreams are the upstream{} blocks (see upstream.go).
	Upstreams []*Upstream `hcl:"upstream,block"`
	// Maps are the map{} blocks (see vars.go).
	Maps []*Map `hcl:"map,block"`

	DefRange                   hcl.Range `hcl:",def_range"`
	VersionRange               hcl.Range `hcl:"version,attr_value_range"`
	WorkerProcessesRange       hcl.Range `hcl:"worker_processes,attr_value_range"`
	WorkerConnectionsRange     hcl.Range `hcl:"worker_connections,attr_value_range"`
	WorkerShutdownTimeoutRange hcl.Range `hcl:"worker_shutdown_timeout,attr_value_range"`
}

// Server is a virtual server (nginx server{}).
type Server struct {
	Listens []*Listen `hcl:"listen,block"`
	// ServerNames are matched against the request host: exact names,
	// "*.example.com", "www.example.*", ".example.com" (both example.com and
	// *.example.com), "~regex", and "" (requests without a Host).
	ServerNames []string `hcl:"server_names,optional"`

	ClientHeaderTimeout            string `hcl:"client_header_timeout,optional"`
	ClientHeaderBufferSize         string `hcl:"client_header_buffer_size,optional"`
	LargeClientHeaderBuffersNumber *int   `hcl:"large_client_header_buffers_number,optional"`
	LargeClientHeaderBuffersSize   string `hcl:"large_client_header_buffers_size,optional"`
	IgnoreInvalidHeaders           *bool  `hcl:"ignore_invalid_headers,optional"`
	UnderscoresInHeaders           *bool  `hcl:"underscores_in_headers,optional"`
	MergeSlashes                   *bool  `hcl:"merge_slashes,optional"`

	// Sets run, in order, before a location is chosen and before Return
	// (nginx "set" at server level, see vars.go).
	Sets []*Set `hcl:"set,block"`
	// Return, when set, answers every request of this server before any
	// location is chosen (nginx "return" at server level), with the
	// settings of Unmatched.
	Return *Return `hcl:"return,block"`

	// Unmatched holds the settings in effect before a location is chosen
	// and when no location matches (nginx: the server block's own location
	// configuration). Its Match and Path are empty.
	Unmatched *Location   `hcl:"unmatched,block"`
	Locations []*Location `hcl:"location,block"`

	DefRange                            hcl.Range `hcl:",def_range"`
	ServerNamesRange                    hcl.Range `hcl:"server_names,attr_value_range"`
	ClientHeaderTimeoutRange            hcl.Range `hcl:"client_header_timeout,attr_value_range"`
	ClientHeaderBufferSizeRange         hcl.Range `hcl:"client_header_buffer_size,attr_value_range"`
	LargeClientHeaderBuffersNumberRange hcl.Range `hcl:"large_client_header_buffers_number,attr_value_range"`
	LargeClientHeaderBuffersSizeRange   hcl.Range `hcl:"large_client_header_buffers_size,attr_value_range"`
}

// Listen is one listening address of a server.
type Listen struct {
	// Address is "host:port", "[v6]:port", "*:port" or "port".
	Address string `hcl:"address"`
	// DefaultServer makes this server the default for the address.
	DefaultServer bool `hcl:"default_server,optional"`
	// Backlog is the listen(2) backlog; 0 means the nginx default (511).
	Backlog int `hcl:"backlog,optional"`

	DefRange     hcl.Range `hcl:",def_range"`
	AddressRange hcl.Range `hcl:"address,attr_value_range"`
	BacklogRange hcl.Range `hcl:"backlog,attr_value_range"`
}

// Match kinds of a Location.
const (
	MatchExact         = "exact"          // location = /path
	MatchPrefix        = "prefix"         // location /path
	MatchPrefixNoRegex = "prefix_noregex" // location ^~ /path
	MatchRegex         = "regex"          // location ~ re
	MatchIRegex        = "iregex"         // location ~* re
	MatchNamed         = "named"          // location @name
)

// Location is an nginx location with fully resolved settings: the runtime
// does no inheritance. A setting left empty (or nil) takes the nginx default
// for the instance version (see Defaults), not the value of an enclosing
// block.
type Location struct {
	// Match is one of the Match* constants.
	Match string `hcl:"match,optional"`
	// Path is the prefix, exact path, regular expression or @name.
	Path string `hcl:"path,optional"`
	// Internal locations answer only internal redirects (error_page, index).
	Internal bool `hcl:"internal,optional"`

	// KeepaliveTimeout is the idle timeout between requests; "0" disables
	// keep-alive.
	KeepaliveTimeout string `hcl:"keepalive_timeout,optional"`
	// KeepaliveHeaderTimeout, when set, adds "Keep-Alive: timeout=N" (the
	// second parameter of keepalive_timeout, in seconds). nginx inherits
	// it on its own: a location whose keepalive_timeout has one parameter
	// keeps the enclosing level's header timeout. [V1.22 checked]
	KeepaliveHeaderTimeout string `hcl:"keepalive_header_timeout,optional"`
	KeepaliveRequests      *int   `hcl:"keepalive_requests,optional"`
	KeepaliveTime          string `hcl:"keepalive_time,optional"`
	KeepaliveMinTimeout    string `hcl:"keepalive_min_timeout,optional"`
	// KeepaliveDisable lists "msie6" and/or "safari"; ["none"] disables
	// nothing; empty means the default (msie6).
	KeepaliveDisable []string `hcl:"keepalive_disable,optional"`

	// LingeringClose is "off", "on" or "always".
	LingeringClose          string `hcl:"lingering_close,optional"`
	LingeringTime           string `hcl:"lingering_time,optional"`
	LingeringTimeout        string `hcl:"lingering_timeout,optional"`
	ResetTimedoutConnection *bool  `hcl:"reset_timedout_connection,optional"`

	ClientBodyTimeout string `hcl:"client_body_timeout,optional"`
	SendTimeout       string `hcl:"send_timeout,optional"`
	// ClientMaxBodySize limits the request body ("0" = unlimited).
	ClientMaxBodySize       string `hcl:"client_max_body_size,optional"`
	ClientBodyBufferSize    string `hcl:"client_body_buffer_size,optional"`
	ChunkedTransferEncoding *bool  `hcl:"chunked_transfer_encoding,optional"`

	// ServerTokens is "on", "off" or "build".
	ServerTokens         string `hcl:"server_tokens,optional"`
	MSIEPadding          *bool  `hcl:"msie_padding,optional"`
	AbsoluteRedirect     *bool  `hcl:"absolute_redirect,optional"`
	ServerNameInRedirect *bool  `hcl:"server_name_in_redirect,optional"`
	PortInRedirect       *bool  `hcl:"port_in_redirect,optional"`
	DefaultType          string `hcl:"default_type,optional"`
	// Types maps lower-case file extensions to MIME types; empty means
	// nginx's built-in table (html, gif, jpg).
	Types map[string]string `hcl:"types,optional"`
	ETag  *bool             `hcl:"etag,optional"`

	AddHeaders []*AddHeader `hcl:"add_header,block"`
	ErrorPages []*ErrorPage `hcl:"error_page,block"`

	// Root and Alias map the URI to a file (static handler); Index names
	// the index files tried for URIs ending in "/".
	Root  string   `hcl:"root,optional"`
	Alias string   `hcl:"alias,optional"`
	Index []string `hcl:"index,optional"`

	// Sets run, in order, when the location is chosen, before Return
	// (nginx "set" in the location, see vars.go).
	Sets []*Set `hcl:"set,block"`
	// Return answers the request in the location (rewrite phase), before
	// any content handler.
	Return *Return `hcl:"return,block"`
	// Proxy makes the proxy the location's content handler (see upstream.go).
	Proxy *Proxy `hcl:"proxy,block"`

	Locations []*Location `hcl:"location,block"`

	DefRange                    hcl.Range `hcl:",def_range"`
	MatchRange                  hcl.Range `hcl:"match,attr_value_range"`
	PathRange                   hcl.Range `hcl:"path,attr_value_range"`
	KeepaliveTimeoutRange       hcl.Range `hcl:"keepalive_timeout,attr_value_range"`
	KeepaliveHeaderTimeoutRange hcl.Range `hcl:"keepalive_header_timeout,attr_value_range"`
	KeepaliveRequestsRange      hcl.Range `hcl:"keepalive_requests,attr_value_range"`
	KeepaliveTimeRange          hcl.Range `hcl:"keepalive_time,attr_value_range"`
	KeepaliveMinTimeoutRange    hcl.Range `hcl:"keepalive_min_timeout,attr_value_range"`
	KeepaliveDisableRange       hcl.Range `hcl:"keepalive_disable,attr_value_range"`
	LingeringCloseRange         hcl.Range `hcl:"lingering_close,attr_value_range"`
	LingeringTimeRange          hcl.Range `hcl:"lingering_time,attr_value_range"`
	LingeringTimeoutRange       hcl.Range `hcl:"lingering_timeout,attr_value_range"`
	ClientBodyTimeoutRange      hcl.Range `hcl:"client_body_timeout,attr_value_range"`
	SendTimeoutRange            hcl.Range `hcl:"send_timeout,attr_value_range"`
	ClientMaxBodySizeRange      hcl.Range `hcl:"client_max_body_size,attr_value_range"`
	ClientBodyBufferSizeRange   hcl.Range `hcl:"client_body_buffer_size,attr_value_range"`
	ServerTokensRange           hcl.Range `hcl:"server_tokens,attr_value_range"`
	RootRange                   hcl.Range `hcl:"root,attr_value_range"`
	AliasRange                  hcl.Range `hcl:"alias,attr_value_range"`
	IndexRange                  hcl.Range `hcl:"index,attr_value_range"`
}

// AddHeader is one add_header directive.
type AddHeader struct {
	Name  string `hcl:"name"`
	Value string `hcl:"value"`
	// Always adds the header to every response, not only to 200, 201, 204,
	// 206, 301, 302, 303, 304, 307 and 308.
	Always bool `hcl:"always,optional"`

	DefRange  hcl.Range `hcl:",def_range"`
	NameRange hcl.Range `hcl:"name,attr_value_range"`
}

// ErrorPage is one error_page directive: for the listed status codes, an
// internal redirect to URI (or a named location "@name"), or a redirect to
// an absolute URL.
type ErrorPage struct {
	Codes []int  `hcl:"codes"`
	URI   string `hcl:"uri"`
	// ResponseCode changes the status: nil keeps the error status, 0 takes
	// the status of the redirect target ("error_page 404 = /x"), N sets N
	// ("=N").
	ResponseCode *int `hcl:"response_code,optional"`

	DefRange          hcl.Range `hcl:",def_range"`
	CodesRange        hcl.Range `hcl:"codes,attr_value_range"`
	URIRange          hcl.Range `hcl:"uri,attr_value_range"`
	ResponseCodeRange hcl.Range `hcl:"response_code,attr_value_range"`
}

// Return is nginx's "return code [text]" / "return URL". For 301, 302, 303,
// 307 and 308 Text is the redirect URL; "return URL" is Code 302.
type Return struct {
	Code int    `hcl:"code"`
	Text string `hcl:"text,optional"`

	DefRange  hcl.Range `hcl:",def_range"`
	CodeRange hcl.Range `hcl:"code,attr_value_range"`
}
