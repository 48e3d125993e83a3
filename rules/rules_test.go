package rules

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/ngxkeep/ngxkeep/lint"
	"github.com/ngxkeep/ngxkeep/lint/linttest"
)

// TestRules checks every registered rule: its static fields, its Bad and
// Good examples, and its annotated testdata in testdata/<ID>/.
func TestRules(t *testing.T) {
	ids := map[string]bool{}
	names := map[string]bool{}
	for _, b := range lint.Builtins() {
		ids[b.ID], names[b.Name] = true, true
	}
	for _, a := range All() {
		t.Run(a.ID, func(t *testing.T) {
			if err := a.Validate(); err != nil {
				t.Fatal(err)
			}
			if ids[a.ID] || names[a.Name] {
				t.Fatalf("duplicate rule ID or name: %s %s", a.ID, a.Name)
			}
			ids[a.ID], names[a.Name] = true, true
			linttest.Examples(t, a)
			dir := filepath.Join("testdata", a.ID)
			if _, err := os.Stat(dir); err != nil {
				t.Fatalf("no testdata: %v", err)
			}
			linttest.Run(t, dir, a)
		})
	}
}
