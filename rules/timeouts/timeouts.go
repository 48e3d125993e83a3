// Package timeouts holds the rules about keep-alive timers and limits
// (TO01–TO10) and about configurations that assume keep-alive always holds
// (AH01–AH02): idle races between a pool and the backend or a load balancer,
// timeout chains, limits that end connections early, directives the target
// version does not have, and "forever" settings nginx still cuts short.
package timeouts

import "github.com/ngxkeep/ngxkeep/lint"

// Analyzers are the package's rules, sorted by ID.
var Analyzers = []*lint.Analyzer{
	AH01, AH02,
	TO01, TO02, TO03, TO04, TO05, TO06, TO07, TO08, TO09, TO10,
}
