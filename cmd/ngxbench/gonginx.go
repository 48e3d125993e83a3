package main

import (
	"fmt"
	"io"

	gonginx "github.com/tufanbarisyildirim/gonginx/parser"
)

// gonginxParse is the hidden subcommand "ngxbench gonginx-parse FILE": it
// parses FILE and its includes with gonginx and exits, so that the lint
// suite times gonginx as a process, with the same start-up cost as
// `ngxkeep lint`.
func gonginxParse(args []string, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "usage: ngxbench gonginx-parse FILE")
		return 2
	}
	p, err := gonginx.NewParser(args[0], gonginx.WithIncludeParsing(), gonginx.WithSkipValidDirectivesErr())
	if err != nil {
		fmt.Fprintf(stderr, "gonginx: %v\n", err)
		return 1
	}
	c, err := p.Parse()
	if err != nil || c == nil {
		fmt.Fprintf(stderr, "gonginx: %v\n", err)
		return 1
	}
	return 0
}
