package failures

import (
	"path/filepath"
	"testing"

	"github.com/ngxkeep/ngxkeep/lint/linttest"
)

func TestAnalyzers(t *testing.T) {
	linttest.RunAll(t, filepath.Join("..", "testdata"), Analyzers)
}
