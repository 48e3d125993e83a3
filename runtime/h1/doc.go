// Package h1 is ngxkeep's HTTP/1.x wire code: a request-head parser that
// makes the same decisions as nginx's ngx_http_parse.c and
// ngx_http_request.c (which bytes are accepted, which status a malformed
// request gets), a chunked body decoder, nginx's status lines and default
// error pages, and helpers to write response heads.
//
// Everything here is pure: functions work on byte slices and small state
// structs, start no goroutines and do no I/O, so they can be fuzzed and
// benchmarked in isolation. Parsed values are sub-slices of the input and
// stay valid as long as the caller keeps the input bytes unchanged.
package h1
