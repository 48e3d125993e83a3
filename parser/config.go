package parser

import "io/fs"

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
}

// Options control how a configuration is read.
type Options struct {
	// Prefix overrides the directory relative includes resolve against.
	Prefix string
	// FS, when set, is used instead of the operating system's files
	// (paths are then slash-separated and relative to the FS root).
	FS fs.FS
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
