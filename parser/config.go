package parser

import (
	"io"
	"io/fs"
	"sync/atomic"
)

// Config is one nginx instance: the main file and every file it includes.
type Config struct {
	// Name is the main file as given ("-" for stdin).
	Name string
	// Prefix is the directory relative include paths resolve against: the
	// main file's directory unless Options.Prefix overrides it.
	Prefix string
	Main   *File
	// Files holds every file read, each once, in the order first read.
	Files []*File
	// Diagnostics holds every problem found, in the order found.
	Diagnostics []Diagnostic
	// Dump is true when the input was an "nginx -T" dump.
	Dump bool

	tree *Node
	// chains holds the include chain of each file's first use.
	chains map[*File][]*Directive
	// eff memoizes Node.Effective for the tree (effective_index.go).
	eff atomic.Pointer[effIndex]
}

// FileChain returns the include chain through which f was first reached,
// outermost first; nil for the main file.
func (c *Config) FileChain(f *File) []Link { return links(c.chains[f]) }

// Tree returns the include-expanded tree: its root stands for the main
// file's top level, and every use of an included file contributes its own
// Nodes. Load and Parse build it, so it is safe for concurrent readers; it
// is nil for a Config not made by them.
func (c *Config) Tree() *Node { return c.tree }

// Options control how a configuration is read.
type Options struct {
	// Prefix overrides the directory relative includes resolve against.
	Prefix string
	// FS, when set, is used instead of the operating system's files
	// (paths are then slash-separated and relative to the FS root; an
	// absolute include path is taken relative to the root too).
	FS fs.FS
	// Stdin is read when the main file is "-".
	Stdin io.Reader
}

// HasErrors reports whether any diagnostic is an error.
func (c *Config) HasErrors() bool {
	for _, d := range c.Diagnostics {
		if d.Severity == SeverityError {
			return true
		}
	}
	return false
}
