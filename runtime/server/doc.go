// Package server runs an instance of the runtime model (runtime/config) as
// an HTTP/1.x server that opens, keeps and closes client connections
// exactly when nginx would, and says why each one closed.
//
// # Process model
//
// An Instance is one nginx configuration. It has worker_processes Workers:
// goroutine groups, each with its own accept loop on every listening
// socket (a dup'd descriptor of the shared socket, as nginx workers inherit
// it), its own worker_connections slots and its own reusable connections,
// reclaimed oldest-first when fewer than 1/16 of the slots are free
// (connections record their state with atomics; the worker looks for the
// oldest ones only then, so that the request cycle takes no lock). Each connection is served by one goroutine running nginx's request
// cycle (conn.serve); requests get no goroutine of their own and the hot
// path does not allocate.
//
//	s, err := server.New(inst, server.Options{Logger: slog.Default()})
//	err = s.Start()          // open sockets, start workers
//	err = s.Reload(newInst)  // SIGHUP: new workers, old ones drain
//	err = s.Shutdown(ctx)    // SIGQUIT; ctx end = SIGTERM (close all)
//	st := s.Stats()          // per-listener reasons, per-worker states
//
// # Keep-alive decision
//
// A request's keep-alive flag is set from its version and Connection
// header, then can only be vetoed: per location (keepalive_timeout 0,
// keepalive_requests, keepalive_time, keepalive_disable), by nginx's
// special responses (400, 413, 414, 495-497, 500, 501), by a body of
// unknown length that cannot be chunked, by shutdown. Each veto records a
// Reason; the response carries "Connection: keep-alive" (with "Keep-Alive:
// timeout=N" when configured) or "Connection: close". After the response,
// finalizeConnection is the one place that decides between keep-alive,
// lingering close and close, and returns the Reason logged and counted for
// the close.
//
// # Handlers
//
// A location's content handler is a Handler: the static file handler by
// default, "return" is built in, and other packages register factories
// with RegisterHandler (the proxy claims locations with a Proxy block):
//
//	type Handler interface {
//		Serve(w *ResponseWriter, r *Request) int
//	}
//
// Serve runs after the location is chosen, its keep-alive vetoes applied
// and client_max_body_size checked against Content-Length. It returns
//
//   - StatusDone when it wrote the response through w;
//   - an HTTP status >= 300 (or 201, 204) for the server to answer with
//     nginx's special response: built-in page, error_page, and the
//     keep-alive veto for 400, 413, 414, 500, 501 (a proxy with
//     intercept_errors returns the upstream status this way);
//   - StatusClose (444), StatusRequestTimeout (408), StatusClientClosed
//     (499) or StatusError to close the connection without a response.
//
// The request gives the parsed head (r.Head: request line, headers in
// order, host, Content-Length/chunked, Connection, User-Agent classes),
// the normalized path and args, r.Body() (de-chunked, client_body_timeout
// between reads, client_max_body_size for chunked bodies, "100 Continue"
// sent on first use; errors map to statuses with BodyStatus),
// r.ClientClosed() to detect an aborted client (or a connection the
// worker is closing: worker_shutdown_timeout), r.Context() (canceled on
// forced close), r.Worker() for per-worker state (Worker.Local) and for
// connection slots of outgoing connections (Worker.AcquireConn,
// Worker.ReleaseConn, Worker.Exiting).
//
// The ResponseWriter takes the status, headers and length
// (SetContentLength(-1) = unknown: chunked for HTTP/1.1, else the
// connection closes after the body), then Write/WriteString/SendFile and
// Flush; SetStatusLine passes an upstream's status line through. Writes
// re-arm send_timeout after every write that made progress, as nginx's
// write handler does. Abort reports a failure after the head was sent
// (truncated body, no final chunk, close). A handler that starts reading the body and
// answers before its end makes the connection close after the response,
// with lingering close; a handler that never reads it leaves the body to
// the server, which discards it after the response so the connection can
// stay open.
package server
