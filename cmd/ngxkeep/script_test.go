package main

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

var updateScripts = flag.Bool("update-scripts", false, "rewrite testdata/script files whose cmp fails")

// TestMain lets the scripts run "ngxkeep" as a command: the test binary
// re-executes itself and calls run, so exit codes are the real ones.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"ngxkeep": func() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) },
	})
}

// TestScripts runs testdata/script/*.txtar (see testscript's docs; each
// subcommand's scripts are named after it, e.g. lint_formats.txtar).
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:           "testdata/script",
		UpdateScripts: *updateScripts,
		Cmds:          scriptCmds, // run_cmds_test.go
		Setup: func(e *testscript.Env) error {
			// $SCENARIOS holds the founding scenario's configs.
			dir, err := filepath.Abs(filepath.Join("..", "..", "testdata", "scenarios"))
			if err != nil {
				return err
			}
			e.Setenv("SCENARIOS", dir)
			return nil
		},
	})
}
