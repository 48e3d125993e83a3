// Package faults is the fault-injection and resource-limit suite of the
// runtime: the server and proxy (runtime/server, runtime/upstream) under
// load on loopback while backends die and restart, close idle sockets at
// random or answer slowly, while the instance reloads every second or shuts
// down gracefully; and slow clients, worker_connections and the memory and
// descriptors of 10,000 idle connections.
//
// Its tests are the package; the slow ones are behind the "faults" build
// tag:
//
//	go test ./runtime/faults/                      # slow clients (seconds)
//	go test -tags faults ./runtime/faults/ -v      # + faults under load, 10,000 idle connections
//
// Every request carries an X-Req-Id the client generates; backends count
// each id they receive, so a non-idempotent request sent twice is seen.
// The suite prints
//
//	faults: N scenarios, requests sent R, answered R, duplicated 0, lost 0
//
// where answered counts responses and closes (a request on a reused
// keep-alive connection that the server closes, as nginx does on reload,
// shutdown or idle timeout), duplicated counts POST ids a backend received
// more than once and lost counts requests with neither a response nor a
// close within 10 s.
package faults
