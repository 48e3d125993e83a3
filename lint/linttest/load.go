package linttest

import (
	"io/fs"

	"github.com/ngxkeep/ngxkeep/parser"
)

// load reads one instance from fsys.
func load(fsys fs.FS, name string) (*parser.Config, *parser.Node, error) {
	cfg, err := parser.Load(name, parser.Options{FS: fsys})
	if err != nil {
		return nil, nil, err
	}
	return cfg, cfg.Tree(), nil
}
