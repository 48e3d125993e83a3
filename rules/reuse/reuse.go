// Package reuse holds the lint rules of family KA: is the upstream
// connection actually reused? Each rule checks one way nginx ends up
// opening a new connection per request (or sharing connections it should
// not), for the target nginx version: HTTP/1.0 or "Connection: close" sent
// to a pooled upstream, an inherited header list lost, a balancer that
// drops the cache, an upstream or target without a cache, protocols that
// never keep connections, cache sizes that thrash.
package reuse

import "github.com/ngxkeep/ngxkeep/lint"

// Analyzers are the KA rules, sorted by ID.
var Analyzers = []*lint.Analyzer{
	KA01,
	KA02,
	KA03,
	KA04,
	KA05,
	KA06,
	KA07,
	KA08,
	KA09,
	KA10,
	KA11,
	KA12,
	KA13,
	KA14,
	KA15,
	KA16,
}
