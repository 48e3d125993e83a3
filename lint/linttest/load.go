package linttest

import (
	"io/fs"

	"github.com/ngxkeep/ngxkeep/lint/internal/miniparse"
	"github.com/ngxkeep/ngxkeep/parser"
)

// load reads one instance. It uses the stopgap miniparse until package
// parser's Load is committed.
func load(fsys fs.FS, name string) (*parser.Config, *parser.Node, error) {
	src, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, nil, err
	}
	return miniparse.Parse(name, string(src))
}
