// Package topology holds the rules about how nginx instances fit together
// and what they can hold (TP01–TP07): frontend targets that reach no
// backend, TLS mismatches between a proxy and its backend's listener,
// connection and descriptor capacity, and balancer settings that do not do
// what they seem to.
package topology

import "github.com/ngxkeep/ngxkeep/lint"

// Analyzers are the package's rules, sorted by ID.
var Analyzers = []*lint.Analyzer{
	TP01, TP02, TP03, TP04, TP05, TP06, TP07,
}
