package reuse

import (
	"path/filepath"
	"testing"

	"github.com/ngxkeep/ngxkeep/lint/linttest"
)

// TestRules checks every rule against its annotated configs in
// rules/testdata/<ID> and its Bad/Good examples.
func TestRules(t *testing.T) {
	for _, a := range Analyzers {
		t.Run(a.ID, func(t *testing.T) {
			if err := a.Validate(); err != nil {
				t.Fatal(err)
			}
			linttest.Run(t, filepath.Join("..", "testdata", a.ID), a)
			linttest.Examples(t, a)
		})
	}
}
