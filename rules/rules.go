// Package rules is ngxkeep's rule registry. The rules live in one
// subpackage per family, one file per rule, each an exported *lint.Analyzer
// named by its ID:
//
//   - reuse (KA): is the upstream connection actually reused?
//   - timeouts (TO, AH): idle races, timeout chains, "forever" settings;
//   - failures (RT, CL): retries, close behaviour, failure accounting;
//   - topology (TP): links between instances, capacity, balancers.
//
// Their test data is in testdata/<ID>/ (see package lint/linttest).
package rules

import (
	"cmp"
	"slices"

	"github.com/ngxkeep/ngxkeep/lint"
	"github.com/ngxkeep/ngxkeep/rules/failures"
	"github.com/ngxkeep/ngxkeep/rules/reuse"
	"github.com/ngxkeep/ngxkeep/rules/timeouts"
	"github.com/ngxkeep/ngxkeep/rules/topology"
)

// All returns every rule, sorted by ID. A new family package adds its
// Analyzers here.
func All() []*lint.Analyzer {
	var all []*lint.Analyzer
	for _, family := range [][]*lint.Analyzer{
		reuse.Analyzers,
		timeouts.Analyzers,
		failures.Analyzers,
		topology.Analyzers,
	} {
		all = append(all, family...)
	}
	slices.SortFunc(all, func(a, b *lint.Analyzer) int { return cmp.Compare(a.ID, b.ID) })
	return all
}
