// Package rules holds ngxkeep's lint rules, one file per rule, each an
// exported *lint.Analyzer named by its ID (KA01, TO01, ...). All returns the
// registry the CLI runs.
package rules

import "github.com/ngxkeep/ngxkeep/lint"

// All returns every rule, in ID order. Rule authors add their analyzer
// here.
func All() []*lint.Analyzer {
	return []*lint.Analyzer{}
}
