package lint

import (
	"testing"

	"github.com/ngxkeep/ngxkeep/lint/internal/miniparse"

	"github.com/ngxkeep/ngxkeep/parser"
)

func miniParse(t testing.TB, name, src string) (*parser.Config, *parser.Node) {
	t.Helper()
	c, n, err := miniparse.Parse(name, src)
	if err != nil {
		t.Fatal(err)
	}
	return c, n
}

func mustInstance(t testing.TB, name, src string) *Instance {
	t.Helper()
	cfg, tree := miniParse(t, name, src)
	return NewInstance(name, cfg, tree)
}
