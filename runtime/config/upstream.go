package config

// This file holds the upstream and proxy part of the runtime model: what an
// nginx `upstream {}` block and the `proxy_*` directives of a location become
// after translation. The runtime (runtime/upstream) reads only these types.
//
// Conventions, as in the rest of the model: durations and sizes are strings
// in nginx notation ("60s", "1h", "500ms", "8k"); an empty string or a zero
// value means "the default" documented on each field. The translator is
// expected to write the effective values for the target nginx version, so
// the runtime never needs to know which version it emulates.

// Upstream is one `upstream NAME {}` block: a group of servers, the balancer
// that chooses among them, and the per-worker keep-alive cache.
type Upstream struct {
	// Name is the block's name; `proxy_pass http://NAME` selects it.
	Name string `hcl:"name,label"`
	// Servers are the `server` lines in configuration order. Servers with
	// Backup set form the backup tier, used only when no primary server is
	// available.
	Servers []UpstreamServer `hcl:"server,block"`
	// Balancer selects the load-balancing method; nil means round robin.
	Balancer *Balancer `hcl:"balancer,block"`
	// Keepalive configures the idle-connection cache; nil means no cache
	// (every upstream connection is closed after its request), which is
	// nginx's behaviour without a `keepalive` directive before 1.29.7.
	Keepalive *Keepalive `hcl:"keepalive,block"`
	// KeepaliveTimeout is how long a connection may stay idle in the
	// cache (upstream `keepalive_timeout`). Default "60s".
	KeepaliveTimeout string `hcl:"keepalive_timeout,optional"`
	// KeepaliveRequests is the number of requests after which a connection
	// is no longer cached (checked when it is released). Default 1000.
	KeepaliveRequests int `hcl:"keepalive_requests,optional"`
	// KeepaliveTime is the maximum age of a connection, checked when it
	// is released (not when it is reused). Default "1h".
	KeepaliveTime string `hcl:"keepalive_time,optional"`
}

// UpstreamServer is one `server` line of an upstream block.
type UpstreamServer struct {
	// Address is "host:port", "[v6]:port" or "unix:/path". A host name is
	// resolved once when the runtime compiles the configuration; every
	// address it resolves to becomes a separate peer, as in nginx.
	Address string `hcl:"address,label"`
	// Weight is the server's weight; 0 means 1.
	Weight int `hcl:"weight,optional"`
	// MaxFails is the number of failed attempts within FailTimeout after
	// which the server is considered unavailable for FailTimeout. nil
	// means nginx's default 1; 0 disables the accounting.
	MaxFails *int `hcl:"max_fails,optional"`
	// FailTimeout is the failure window and the ejection time. Default "10s".
	FailTimeout string `hcl:"fail_timeout,optional"`
	// Backup marks a backup server.
	Backup bool `hcl:"backup,optional"`
	// Down marks the server permanently unavailable.
	Down bool `hcl:"down,optional"`
	// MaxConns limits the connections in use by requests to this server
	// per worker; idle cached connections are not counted, as in nginx.
	// 0 means unlimited.
	MaxConns int `hcl:"max_conns,optional"`
}

// Balancer methods.
const (
	BalancerRoundRobin = "round_robin"
	BalancerLeastConn  = "least_conn"
	BalancerIPHash     = "ip_hash"
	BalancerHash       = "hash"
	BalancerRandom     = "random"
)

// Balancer is the load-balancing method of an upstream block.
type Balancer struct {
	// Method is one of round_robin (default), least_conn, ip_hash, hash,
	// random.
	Method string `hcl:"method"`
	// Key is the hash key for Method "hash", a value with variables such
	// as "$request_uri".
	Key string `hcl:"key,optional"`
	// Consistent selects ketama consistent hashing for Method "hash".
	Consistent bool `hcl:"consistent,optional"`
	// Two selects "power of two choices" for Method "random": two servers
	// are drawn and the one with fewer active connections is used.
	Two bool `hcl:"two,optional"`
}

// Keepalive is the upstream `keepalive` directive.
type Keepalive struct {
	// Connections is the maximum number of idle connections kept per
	// worker for this upstream block (not a limit on open connections).
	Connections int `hcl:"connections"`
	// Local makes cached connections reusable only by the location that
	// created them (`keepalive N local`, the 1.29.7+ default).
	Local bool `hcl:"local,optional"`
	// Enabled must be true for the cache to exist. The translator writes
	// false where nginx would silently not cache (before 1.29.7, a
	// `keepalive` placed before the balancer directive; `keepalive 0`).
	Enabled bool `hcl:"enabled,optional"`
}

// Proxy is the effective `proxy_*` configuration of one location.
type Proxy struct {
	// Pass is the proxy_pass URL as written, e.g. "http://box2",
	// "http://127.0.0.1:8080/api/" or "http://$backend$request_uri".
	// Without variables, a host part that names an Upstream selects it;
	// otherwise the host:port is an implicit upstream, never pooled.
	// With variables the URL is evaluated per request, and its host is
	// looked up among the upstream blocks at that moment.
	Pass string `hcl:"pass"`
	// HTTPVersion is "1.0" or "1.1" (proxy_http_version). Default "1.0";
	// the translator writes "1.1" for 1.29.7+.
	HTTPVersion string `hcl:"http_version,optional"`
	// SetHeaders is the effective proxy_set_header list after the
	// all-or-nothing inheritance, in order, including the version's
	// defaults that the translator chose to emit (Host $proxy_host,
	// Connection close before 1.29.7). An empty value (after variable
	// evaluation) means the header is not sent. A header named here is
	// never copied from the client request. Independently of this list
	// the runtime never copies Host, Connection, Keep-Alive, TE, Expect,
	// Upgrade, Content-Length and Transfer-Encoding from the client
	// (nginx's default header table); Host defaults to $proxy_host.
	SetHeaders []ProxyHeader `hcl:"set_header,block"`
	// PassRequestHeaders copies the client's request headers (default true).
	PassRequestHeaders *bool `hcl:"pass_request_headers,optional"`
	// PassRequestBody sends the client's request body (default true).
	PassRequestBody *bool `hcl:"pass_request_body,optional"`
	// NextUpstream lists the proxy_next_upstream conditions: error,
	// timeout, invalid_header, http_500, http_502, http_503, http_504,
	// http_403, http_404, http_429, non_idempotent, or just "off".
	// nil means nginx's default ["error", "timeout"].
	NextUpstream []string `hcl:"next_upstream,optional"`
	// NextUpstreamTries limits the number of attempts; 0 = unlimited.
	NextUpstreamTries int `hcl:"next_upstream_tries,optional"`
	// NextUpstreamTimeout limits the time for retries, measured from the
	// first connect; "" or "0" = unlimited.
	NextUpstreamTimeout string `hcl:"next_upstream_timeout,optional"`
	// ConnectTimeout bounds connection establishment. Default "60s".
	ConnectTimeout string `hcl:"connect_timeout,optional"`
	// ReadTimeout bounds the wait between two successive reads from the
	// upstream. Default "60s".
	ReadTimeout string `hcl:"read_timeout,optional"`
	// SendTimeout bounds the wait between two successive writes to the
	// upstream. Default "60s".
	SendTimeout string `hcl:"send_timeout,optional"`
	// Buffering is proxy_buffering (default true): the response is read
	// from the upstream as fast as it comes and the upstream connection is
	// released before the client has received everything.
	Buffering *bool `hcl:"buffering,optional"`
	// BufferSize is proxy_buffer_size: the largest response head
	// accepted. Default "4k" (the page size nginx uses on Linux x86_64).
	BufferSize string `hcl:"buffer_size,optional"`
	// MaxBuffered is how much of a response body the runtime holds in
	// memory in buffered mode before it starts writing to the client
	// while still reading the upstream (a stand-in for proxy_buffers plus
	// proxy_max_temp_file_size). Default "1m".
	MaxBuffered string `hcl:"max_buffered,optional"`
	// RequestBuffering is proxy_request_buffering (default true): the
	// whole request body is read before connecting. When false the body is
	// streamed, and the request is not retried once sending started.
	RequestBuffering *bool `hcl:"request_buffering,optional"`
	// InterceptErrors is proxy_intercept_errors: upstream responses with
	// status >= 300 are not passed; the server handles the status itself
	// (error_page).
	InterceptErrors bool `hcl:"intercept_errors,optional"`
	// IgnoreClientAbort is proxy_ignore_client_abort.
	IgnoreClientAbort bool `hcl:"ignore_client_abort,optional"`
	// Method overrides the request method (proxy_method); "" = the client's.
	Method string `hcl:"method,optional"`
	// Redirects rewrite the Location and Refresh headers of responses
	// (proxy_redirect, see vars.go); none: passed unchanged.
	Redirects []*ProxyRedirect `hcl:"redirect,block"`
}

// ProxyHeader is one proxy_set_header entry.
type ProxyHeader struct {
	// Name is the header field name.
	Name string `hcl:"name,label"`
	// Value is the value, with nginx variables ($host, $http_x_foo, ...).
	Value string `hcl:"value"`
}
