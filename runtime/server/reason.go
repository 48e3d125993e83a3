package server

// Reason says why a connection was closed, or why a response carried
// "Connection: close". Every close and every such header has exactly one.
type Reason uint8

// Close reasons. The first group explains a "Connection: close" header
// (the keep-alive flag was vetoed); the second explains closes that happen
// without, or after, a response.
const (
	ReasonNone Reason = iota

	// Why the response said "Connection: close".
	ReasonClientClose       // the request carried "Connection: close"
	ReasonHTTP10            // HTTP/1.0 request without "Connection: keep-alive"
	ReasonHTTP09            // HTTP/0.9 request: no headers, close after the body
	ReasonBadRequest        // the request head was rejected (400, 414, 494, 501, 505, TRACE)
	ReasonKeepaliveOff      // keepalive_timeout 0
	ReasonKeepaliveRequests // keepalive_requests reached (this request included)
	ReasonKeepaliveTime     // keepalive_time exceeded at request start
	ReasonDisabledAgent     // keepalive_disable matched the User-Agent (msie6 POST, safari)
	ReasonErrorStatus       // special response 400, 413, 414, 495, 496, 497, 500 or 501
	ReasonBodyNotDiscarded  // the request body could not be discarded
	ReasonUnknownLength     // response length unknown and chunked not possible
	ReasonShutdown          // worker shutting down (graceful stop)
	ReasonReload            // worker replaced by a reload
	ReasonBodyUnread        // the handler answered before reading the whole body
	ReasonUpstreamTruncated // the handler reported a failure after the header

	// Why the connection closed without (another) response.
	ReasonIdleTimeout        // keepalive_timeout expired while idle
	ReasonHeaderTimeout      // client_header_timeout expired
	ReasonBodyTimeout        // client_body_timeout expired
	ReasonSendTimeout        // send_timeout expired
	ReasonDiscardTimeout     // lingering_timeout or lingering_time expired while discarding a body
	ReasonPeerClosed         // the client closed or reset the connection
	ReasonConnectionPressure // reclaimed: fewer than 1/16 of worker_connections free
	ReasonNoFreeConnections  // accepted but worker_connections exhausted
	ReasonReturn444          // return 444
	ReasonReturn408          // return 408 (or 499): terminated without a response
	ReasonShutdownTimeout    // worker_shutdown_timeout expired
	ReasonWriteError         // writing to the client failed
	ReasonInternalError      // the server could not go on (internal redirect cycle, I/O error)
	ReasonUpgraded           // the byte tunnel of an upgraded (101, WebSocket) connection ended

	numReasons
)

var reasonNames = [numReasons]string{
	ReasonNone:               "none",
	ReasonClientClose:        "client_close",
	ReasonHTTP10:             "http10",
	ReasonHTTP09:             "http09",
	ReasonBadRequest:         "bad_request",
	ReasonKeepaliveOff:       "keepalive_off",
	ReasonKeepaliveRequests:  "keepalive_requests",
	ReasonKeepaliveTime:      "keepalive_time",
	ReasonDisabledAgent:      "keepalive_disabled_agent",
	ReasonErrorStatus:        "error_status",
	ReasonBodyNotDiscarded:   "body_not_discarded",
	ReasonUnknownLength:      "unknown_length",
	ReasonShutdown:           "shutdown",
	ReasonReload:             "reload",
	ReasonBodyUnread:         "body_unread",
	ReasonUpstreamTruncated:  "upstream_truncated",
	ReasonIdleTimeout:        "idle_timeout",
	ReasonHeaderTimeout:      "header_timeout",
	ReasonBodyTimeout:        "body_timeout",
	ReasonSendTimeout:        "send_timeout",
	ReasonDiscardTimeout:     "discard_timeout",
	ReasonPeerClosed:         "peer_closed",
	ReasonConnectionPressure: "connection_pressure",
	ReasonNoFreeConnections:  "no_free_connections",
	ReasonReturn444:          "return_444",
	ReasonReturn408:          "return_408",
	ReasonShutdownTimeout:    "shutdown_timeout",
	ReasonWriteError:         "write_error",
	ReasonInternalError:      "internal_error",
	ReasonUpgraded:           "upgraded",
}

// String returns the reason's stable snake_case name, used in logs and
// metrics.
func (r Reason) String() string {
	if r < numReasons {
		return reasonNames[r]
	}
	return "unknown"
}

// Reasons lists every reason, for tools that render all counters.
func Reasons() []Reason {
	out := make([]Reason, 0, numReasons-1)
	for r := ReasonNone + 1; r < numReasons; r++ {
		out = append(out, r)
	}
	return out
}

// End is how the TCP connection ended as seen by the client.
type End uint8

// Connection ends.
const (
	EndFIN End = iota // orderly close
	EndRST            // reset (SO_LINGER 0, or unread data in the socket)
)

func (e End) String() string {
	if e == EndRST {
		return "rst"
	}
	return "fin"
}
