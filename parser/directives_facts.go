package parser

// ctxAll is every context: "include" is allowed anywhere (NGX_ANY_CONF).
const ctxAll = ^Context(0)

// fact holds what the ngx_command_t tables do not say about a directive:
// its defaults per version, and merge kinds the extractor cannot derive.
type fact struct {
	merge    MergeKind
	setMerge bool
	defaults []VersionedDefault
	params   []ParamFact
}

// def is a scalar default that holds since the directive exists.
func def(args ...string) []VersionedDefault {
	return []VersionedDefault{{Values: [][]string{args}}}
}

// from returns a default that applies from version v on; no args means
// "no default" from v on.
func from(v Version, args ...string) VersionedDefault {
	if len(args) == 0 {
		return VersionedDefault{Since: v}
	}
	return VersionedDefault{Since: v, Values: [][]string{args}}
}

func defaults(ds ...VersionedDefault) []VersionedDefault { return ds }

// factKey names a directive family: upstream-block directives are distinct
// from the http directives of the same name.
func factKey(s *Spec) string {
	switch {
	case s.Contexts == ctxAll:
		return s.Name
	case s.Contexts&(CtxUpstream) != 0 && s.Contexts&^CtxUpstream == 0:
		return "upstream " + s.Name
	case s.Contexts&(CtxStream|CtxStreamServer|CtxStreamUpstream) != 0:
		return "stream " + s.Name
	case s.Contexts&(CtxMail|CtxMailServer) != 0:
		return "mail " + s.Name
	case s.Contexts == CtxMain:
		return "main " + s.Name
	case s.Contexts == CtxEvents:
		return "events " + s.Name
	}
	return s.Name
}

var (
	v0_9_0  = Version{0, 9, 0}
	v1_1_18 = Version{1, 1, 18}
	v1_11_3 = Version{1, 11, 3}
)

// directiveFacts returns the defaults of the directives the linter and
// translator care about, keyed by factKey. Values are nginx's own (module
// merge functions and documentation), for Linux x86-64 where they depend on
// the page size. Where a default changed, every value is listed with the
// release that introduced it (see nginx-keepalive-semantics.md §0.2, §5).
func directiveFacts() map[string]fact {
	timeout60 := def("60s")
	nextUpstream := def("error", "timeout")
	nextUpstreamParams := []ParamFact{
		{Value: "non_idempotent", Index: -1, Since: Version{1, 9, 13}, Note: "retry non-idempotent requests"},
		{Value: "http_429", Index: -1, Since: Version{1, 11, 13}, Note: "retry on 429"},
	}
	return map[string]fact{
		// http core: client connections.
		"keepalive_timeout":            {defaults: def("75s")},
		"keepalive_requests":           {defaults: defaults(from(Version{}, "100"), from(V1_19_10, "1000"))},
		"keepalive_time":               {defaults: def("1h")},
		"keepalive_min_timeout":        {defaults: def("0")},
		"keepalive_disable":            {defaults: defaults(from(v0_9_0, "msie6", "safari"), from(v1_1_18, "msie6"))},
		"lingering_close":              {defaults: def("on")},
		"lingering_time":               {defaults: def("30s")},
		"lingering_timeout":            {defaults: def("5s")},
		"reset_timedout_connection":    {defaults: def("off")},
		"client_header_timeout":        {defaults: timeout60},
		"client_body_timeout":          {defaults: timeout60},
		"send_timeout":                 {defaults: timeout60},
		"chunked_transfer_encoding":    {defaults: def("on")},
		"client_max_body_size":         {defaults: def("1m")},
		"client_body_buffer_size":      {defaults: def("8k")},
		"client_header_buffer_size":    {defaults: def("1k")},
		"large_client_header_buffers":  {defaults: def("4", "8k")},
		"tcp_nodelay":                  {defaults: def("on")},
		"tcp_nopush":                   {defaults: def("off")},
		"sendfile":                     {defaults: def("off")},
		"server_tokens":                {defaults: def("on")},
		"ignore_invalid_headers":       {defaults: def("on")},
		"underscores_in_headers":       {defaults: def("off")},
		"merge_slashes":                {defaults: def("on")},
		"absolute_redirect":            {defaults: def("on")},
		"port_in_redirect":             {defaults: def("on")},
		"server_name_in_redirect":      {defaults: def("off")},
		"recursive_error_pages":        {defaults: def("off")},
		"log_not_found":                {defaults: def("on")},
		"default_type":                 {defaults: def("text/plain")},
		"root":                         {defaults: def("html")},
		"index":                        {defaults: def("index.html")},
		"limit_rate":                   {defaults: def("0")},
		"resolver_timeout":             {defaults: def("30s")},
		"postpone_output":              {defaults: def("1460")},
		"http2_idle_timeout":           {defaults: def("3m")},
		"http2_max_requests":           {defaults: def("1000")},
		"http2_recv_timeout":           {defaults: def("30s")},
		"http2_max_concurrent_streams": {defaults: def("128")},
		"gzip":                         {defaults: def("off")},

		// proxy and the other upstream protocols.
		"proxy_http_version": {defaults: defaults(from(Version{}, "1.0"), from(V1_29_7, "1.1"))},
		"proxy_set_header": {defaults: defaults(
			VersionedDefault{Values: [][]string{{"Host", "$proxy_host"}, {"Connection", "close"}}},
			VersionedDefault{Since: V1_29_7, Values: [][]string{{"Host", "$proxy_host"}}},
		)},
		"proxy_next_upstream":         {defaults: nextUpstream, params: nextUpstreamParams},
		"proxy_next_upstream_tries":   {defaults: def("0")},
		"proxy_next_upstream_timeout": {defaults: def("0")},
		"proxy_connect_timeout":       {defaults: timeout60},
		"proxy_read_timeout":          {defaults: timeout60},
		"proxy_send_timeout":          {defaults: timeout60},
		"proxy_socket_keepalive":      {defaults: def("off")},
		"proxy_request_buffering":     {defaults: def("on")},
		"proxy_buffering":             {defaults: def("on")},
		"proxy_buffer_size":           {defaults: def("4k")},
		"proxy_buffers":               {defaults: def("8", "4k")},
		"proxy_busy_buffers_size":     {defaults: def("8k")},
		"proxy_ignore_client_abort":   {defaults: def("off")},
		"proxy_intercept_errors":      {defaults: def("off")},
		"proxy_pass_request_body":     {defaults: def("on")},
		"proxy_pass_request_headers":  {defaults: def("on")},
		"proxy_redirect":              {defaults: def("default")},
		"proxy_ssl_server_name":       {defaults: def("off")},
		"proxy_ssl_session_reuse":     {defaults: def("on")},
		"proxy_ssl_verify":            {defaults: def("off")},
		"proxy_max_temp_file_size":    {defaults: def("1024m")},

		"fastcgi_keep_conn":             {defaults: def("off")},
		"fastcgi_next_upstream":         {defaults: nextUpstream, params: nextUpstreamParams},
		"fastcgi_next_upstream_tries":   {defaults: def("0")},
		"fastcgi_next_upstream_timeout": {defaults: def("0")},
		"fastcgi_connect_timeout":       {defaults: timeout60},
		"fastcgi_read_timeout":          {defaults: timeout60},
		"fastcgi_send_timeout":          {defaults: timeout60},
		"fastcgi_socket_keepalive":      {defaults: def("off")},
		"fastcgi_request_buffering":     {defaults: def("on")},
		"fastcgi_buffering":             {defaults: def("on")},

		"grpc_next_upstream":         {defaults: nextUpstream, params: nextUpstreamParams},
		"grpc_next_upstream_tries":   {defaults: def("0")},
		"grpc_next_upstream_timeout": {defaults: def("0")},
		"grpc_connect_timeout":       {defaults: timeout60},
		"grpc_read_timeout":          {defaults: timeout60},
		"grpc_send_timeout":          {defaults: timeout60},
		"grpc_socket_keepalive":      {defaults: def("off")},

		"uwsgi_next_upstream":         {defaults: nextUpstream, params: nextUpstreamParams},
		"uwsgi_next_upstream_tries":   {defaults: def("0")},
		"uwsgi_next_upstream_timeout": {defaults: def("0")},
		"uwsgi_connect_timeout":       {defaults: timeout60},
		"uwsgi_read_timeout":          {defaults: timeout60},
		"uwsgi_send_timeout":          {defaults: timeout60},
		"uwsgi_socket_keepalive":      {defaults: def("off")},
		"uwsgi_request_buffering":     {defaults: def("on")},
		"uwsgi_buffering":             {defaults: def("on")},

		"scgi_next_upstream":         {defaults: nextUpstream, params: nextUpstreamParams},
		"scgi_next_upstream_tries":   {defaults: def("0")},
		"scgi_next_upstream_timeout": {defaults: def("0")},
		"scgi_connect_timeout":       {defaults: timeout60},
		"scgi_read_timeout":          {defaults: timeout60},
		"scgi_send_timeout":          {defaults: timeout60},
		"scgi_socket_keepalive":      {defaults: def("off")},
		"scgi_request_buffering":     {defaults: def("on")},
		"scgi_buffering":             {defaults: def("on")},

		"memcached_next_upstream":         {defaults: nextUpstream, params: nextUpstreamParams},
		"memcached_next_upstream_tries":   {defaults: def("0")},
		"memcached_next_upstream_timeout": {defaults: def("0")},
		"memcached_connect_timeout":       {defaults: timeout60},
		"memcached_read_timeout":          {defaults: timeout60},
		"memcached_send_timeout":          {defaults: timeout60},

		// upstream{} block: only explicit upstream blocks have these; the
		// implicit "keepalive 32 local" of 1.29.7 applies to them too.
		"upstream keepalive": {
			defaults: defaults(from(V1_29_7, "32", "local")),
			params: []ParamFact{
				{Value: "local", Index: -1, Since: V1_29_7, Note: "a cache per location"},
				{Value: "0", Index: 0, Since: V1_29_7, Note: "0 turns the cache off (an error before)"},
			},
		},
		"upstream server": {params: []ParamFact{
			{Value: "resolve", Index: -1, Since: Version{1, 27, 3}, Note: "re-resolvable server"},
			{Value: "service=", Index: -1, Since: Version{1, 27, 3}, Note: "SRV record lookup"},
			{Value: "drain", Index: -1, Since: Version{1, 29, 6}, Note: "draining peer"},
			{Value: "route=", Index: -1, Since: Version{1, 29, 6}, Note: "sticky route"},
		}},
		"upstream keepalive_timeout":  {defaults: def("60s")},
		"upstream keepalive_requests": {defaults: defaults(from(Version{}, "100"), from(V1_19_10, "1000"))},
		"upstream keepalive_time":     {defaults: def("1h")},

		// main and events.
		"main worker_processes":     {defaults: def("1")},
		"main daemon":               {defaults: def("on")},
		"main master_process":       {defaults: def("on")},
		"main pcre_jit":             {defaults: def("off")},
		"events worker_connections": {defaults: def("512")},
		"events multi_accept":       {defaults: def("off")},
		"events accept_mutex":       {defaults: defaults(from(Version{}, "on"), from(v1_11_3, "off"))},
		"events accept_mutex_delay": {defaults: def("500ms")},
	}
}

// applyFacts adds the hand-maintained facts to a Spec of the generated table.
func applyFacts(s *Spec, facts map[string]fact) {
	f, ok := facts[factKey(s)]
	if !ok {
		return
	}
	if f.setMerge {
		s.Merge = f.merge
	}
	s.Defaults = f.defaults
	s.Params = f.params
}
