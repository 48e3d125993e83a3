package topology

import (
	"path/filepath"
	"testing"

	"github.com/ngxkeep/ngxkeep/lint/linttest"
)

func TestAnalyzers(t *testing.T) {
	for _, a := range Analyzers {
		t.Run(a.ID, func(t *testing.T) {
			if err := a.Validate(); err != nil {
				t.Fatal(err)
			}
			linttest.Examples(t, a)
			linttest.Run(t, filepath.Join("..", "testdata", a.ID), a)
		})
	}
}
