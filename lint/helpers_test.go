package lint

import (
	"testing"
	"testing/fstest"

	"github.com/ngxkeep/ngxkeep/parser"
)

// mustInstance parses src as the main file name (in memory) and indexes it.
func mustInstance(t testing.TB, name, src string) *Instance {
	t.Helper()
	cfg := parser.Parse(name, []byte(src), parser.Options{FS: fstest.MapFS{}})
	for _, d := range cfg.Diagnostics {
		if d.Severity == parser.SeverityError {
			t.Fatalf("%s:%d:%d: %s", d.File, d.Pos.Line, d.Pos.Col, d.Message)
		}
	}
	return NewInstance(name, cfg, nil)
}
