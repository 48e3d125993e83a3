// Package conformance is the differential test suite that holds the ngxkeep
// runtime to real nginx: the same nginx configurations, the same scripted
// clients and backends, the same normalized transcripts.
//
// # Running
//
//	go test ./runtime/conformance/                       # all scenarios, summary with -v
//	go test ./runtime/conformance/ -run 'TestConformance/upstream-' -v
//	go test ./runtime/conformance/ -conformance.v -v     # log every transcript
//	go test ./runtime/conformance/ -conformance.update   # re-record expectations from nginx
//
// Each scenario runs against every available target:
//
//   - nginx: real nginx 1.22 (Debian nginx-light), started as
//     "nginx -p PREFIX -e LOG -c CONF -g 'daemon off; master_process on; pid ...; error_log ...;'"
//     with its prefix inside the scenario's temp directory, the temp paths
//     (client_body_temp_path, proxy_temp_path, ...) inserted at the top of the
//     http block, and "user root" when running as root. Skipped with one line
//     when nginx is absent or not 1.22.
//   - ngxkeep: "ngxkeep run --nginx-version 1.22 CONF", built once from
//     ./cmd/ngxkeep in TestMain. Until "ngxkeep run --help" succeeds the
//     target is reported as not available and only nginx is checked.
//
// Both are driven through the Target interface; harness_test.go plugs in an
// in-process fake to show that the comparison catches a wrong runtime. Every
// process is started in its own process group, stopped by PID (SIGTERM, then
// SIGKILL to the group after 3s).
//
// The suite checks nginx against each scenario's recorded expectations, and
// ngxkeep against nginx's live transcript (or the expectations when nginx is
// absent). A difference prints both transcripts side by side, grouped under
// the script line that produced them. Accepted differences are listed, with a
// reason, in testdata/conformance/KNOWN_DIFFERENCES.md ("- `scenario`:
// reason"); they are reported but do not fail. The suite prints
//
//	conformance: N scenarios, N identical, N differ (N known)
//
// # Scenario format
//
// One scenario per txtar file in testdata/conformance, named AREA-WHAT.txtar
// (client-, error-, body-, linger-, timeout-, shutdown-, upstream-, chain-,
// smuggle-, limits-).
// The txtar comment describes the scenario; its first line is the title.
// Sections:
//
//   - NAME.conf: an nginx configuration run as its own instance named NAME
//     (several for chains). It is a Go text/template: {{.Port "name"}} is the
//     port the harness picked for name (a backend, a tap, or a listener of an
//     instance: a port used on a "listen" line belongs to that instance),
//     {{.Dir}} is the scenario's working directory. Listen on 127.0.0.1.
//   - files/PATH: a file written to {{.Dir}}/PATH (static content, includes).
//   - script: declarations, steps and expected observations, one per line;
//     "#" starts a comment. Strings are Go double-quoted strings.
//
// Declarations:
//
//	backend NAME [conditions] [actions] [idle-close=DUR] [honor-close] [show=H,...]
//	    A scripted raw-TCP HTTP/1.x backend listening on port NAME. It reads
//	    each request head and body (Content-Length or chunked), records them,
//	    and answers. Each line adds a rule; the first rule whose conditions
//	    all hold is used, otherwise it answers 200 with body "NAME\n".
//	    Conditions: path=/exact (path without query) method=M nth=N (Nth
//	    request on its connection) conn=N (Nth accepted connection).
//	    Actions: respond="raw bytes" body=SIZE (200 with SIZE bytes)
//	    delay=DUR close (FIN after answering) early (answer before reading
//	    the body) drop (close without answering) reset (RST, SO_LINGER 0,
//	    without answering). idle-close=DUR closes a connection idle that long
//	    after a response. honor-close makes it answer a request carrying
//	    "Connection: close" with that header and close, as real servers do.
//	    show=H1,H2 adds those request headers to its report. Two names are
//	    special: show=framing reports every Content-Length and
//	    Transfer-Encoding line in order ("cl:5", "te:chunked",
//	    "cl:3+te:chunked" for an ambiguous request, "-" for none) and
//	    show=hop the hop-by-hop headers other than Connection that reached
//	    the backend (Keep-Alive, TE, Trailer, Upgrade, Proxy-*).
//	tap NAME to=PORT
//	    A TCP relay on port NAME forwarding to port PORT (e.g. between two
//	    nginx instances), recording the requests that pass and which side
//	    closed each connection first. Requests are forwarded whole (head and
//	    body in one write); data from the server is held 50ms so that a
//	    close right behind it is recorded before the client can react.
//	blackhole NAME
//	    A port whose connection attempts hang (a full accept queue), for
//	    proxy_connect_timeout.
//	file PATH SIZE
//	    A generated file of SIZE bytes ("32m") at {{.Dir}}/PATH.
//
// Steps (CONN is a client connection name, e.g. c1):
//
//	connect CONN PORT        open a TCP connection to port PORT
//	send CONN "bytes"... [body=SIZE]   write bytes (body=SIZE adds SIZE "x")
//	shut CONN                half-close (CloseWrite, FIN to the server)
//	close CONN / reset CONN  close; reset closes with SO_LINGER 0 (RST)
//	read CONN [head] [timeout=DUR] [show=H,...]
//	                         read one response: status line, Connection and
//	                         Keep-Alive, body by Content-Length, chunked or
//	                         close (head: a response to HEAD, no body;
//	                         show: also these response headers, "-" when
//	                         absent)
//	end CONN [DUR]           read until the connection ends (default 3s):
//	                         FIN, RST, or open, with a time class
//	quiet CONN [DUR]         expect nothing (no data, no close) within DUR
//	probe CONN               after the server's FIN: write twice, 100ms
//	                         apart; "accepted" while the server still reads
//	                         (lingering close), "RST" once it is gone
//	sleep DUR                wait
//	await NAME N             wait (up to 5s) until backend or tap NAME has
//	                         received N requests in total: explicit
//	                         synchronisation instead of sleeps
//	reload INSTANCE          SIGHUP (reload)
//	stop INSTANCE            SIGQUIT (graceful shutdown)
//	observe NAME [brief]     report what backend or tap NAME saw so far
//
// Expected observations follow the step that produces them, each on a line
// starting with "> ". Transcript lines look like
//
//	c1 HTTP/1.1 200 OK | Connection: keep-alive | Keep-Alive: timeout=9 | cl 3 "ok\n"
//	c1 HTTP/1.1 400 Bad Request | Connection: close | cl error-page "400 Bad Request"
//	c1 no response: FIN <0.5s
//	c1 end: RST ~1s
//	c1 end: open (2s)
//	back1: 2 conns, requests [3 1]
//	back1 #1: GET / HTTP/1.0 conn=close, GET /x HTTP/1.0 conn=close -> FIN <0.5s
//
// Bodies of up to 64 printable bytes are shown quoted, nginx's own error
// pages by their title, other bodies by length and hash. The framing is cl,
// chunked or close-delimited; a body cut short shows only its declared length
// and how it ended ("cl 33554432 truncated: RST"), since the byte count
// depends on socket buffers. Times are wide classes (<0.5s, ~1s [0.5s,1.75s),
// ~2s, ~3s, >3.7s) measured from the start of the step (end, read) or, for
// a backend connection, from its last request or response; "observe" first
// waits until every open backend connection has been quiet for 250ms, and
// at least 250ms, so a close nginx is performing is seen.
// A backend connection ends with FIN or RST (from nginx), "closed by
// backend", "reset by backend", "idle-closed by backend", or is "open"; a
// tap reports "client FIN"/"server FIN" for the side that closed first.
//
// TestMain raises the priority of the test process (nice -10, inherited by
// the nginx and ngxkeep processes it starts) when it may, so that CPU-heavy
// neighbours do not delay what the transcripts time.
//
// To add a scenario: write the configs and the script without "> " lines,
// run with -conformance.update -run 'TestConformance/NAME' (nginx records
// the observations into the file), then check every recorded line against
// the spec (shared/docs/nginx-keepalive-semantics.md) before committing:
// the recorded lines are the executable spec the runtime is held to.
//
// Scenarios must be robust by construction: 1s timeouts, time classes far
// from the boundaries, a read of each response before the next step that
// depends on it, await for backend-side events, and no retries.
package conformance
