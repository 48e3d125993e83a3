// Package upstream is the frontend half of the runtime: upstream groups
// (peers with nginx's failure accounting), the load balancers nginx ships
// (smooth weighted round robin, least_conn, ip_hash, hash [consistent],
// random [two]), the per-worker keep-alive cache of
// ngx_http_upstream_keepalive_module, and the proxy exchange of
// ngx_http_proxy_module: building the request to the backend, reading and
// framing its response, deciding whether the connection goes back to the
// cache, and retrying per proxy_next_upstream.
//
// The package knows only the runtime model (runtime/config), never nginx
// directive names. A Set is compiled once from the model's upstream blocks;
// each server worker gets its own Worker (nginx keeps peer state and the
// keep-alive cache per worker process). The server's connection loop hands a
// client request to Worker.Proxy together with a ResponseWriter for the
// client connection, and acts on the returned Result (error page, client
// keep-alive off, tunnel).
//
// An idle cached connection is checked without a goroutine while it is
// reused within 50 ms (a non-blocking poll when it is taken); one that
// stays idle longer gets a goroutine blocked reading it, so a backend's
// close or the idle timeout is acted on as it happens, as nginx's event
// loop does. Upstream connections hold the server worker's connection
// slots (Worker.SetSlots).
//
// Every upstream connection ends with a CloseReason; counters per upstream
// and peer are kept in Stats, emitted as log/slog events, and written by
// WriteMetrics (Prometheus text) and WriteSnapshotJSON.
package upstream
