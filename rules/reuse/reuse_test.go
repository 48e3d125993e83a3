package reuse

import (
	"path/filepath"
	"testing"

	"github.com/ngxkeep/ngxkeep/lint/linttest"
)

// TestRules checks every rule against its annotated configs in
// rules/testdata/<ID> and its Bad/Good examples.
func TestRules(t *testing.T) {
	linttest.RunAll(t, filepath.Join("..", "testdata"), Analyzers)
}
