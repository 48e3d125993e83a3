package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/ngxkeep/ngxkeep/parser"
	"github.com/spf13/cobra"
)

func init() { subcommands = append(subcommands, newParseCmd) }

// parseFormats are the values of "parse --format".
var parseFormats = []string{"json", "crossplane"}

func newParseCmd() *cobra.Command {
	var format, prefix string
	cmd := &cobra.Command{
		Use:   "parse [--format json|crossplane] [--prefix DIR] CONFIG...",
		Short: "Print the parsed configuration as JSON and report syntax problems",
		Long: `parse reads nginx configurations the way nginx does (includes, globs, an
"nginx -T" dump, or "-" for standard input) and prints each as JSON on
standard output. Every problem nginx -t would report while reading the files,
and all of them rather than only the first, goes to standard error as
FILE:LINE:COL: MESSAGE, followed by the include chain of an included file.

Each CONFIG is a main file, a directory holding nginx.conf, an "nginx -T"
dump, or "-". Relative include paths resolve against the main file's
directory, or against --prefix.

Formats:
  json        this tool's tree: every file once, directives with positions,
              raw and unquoted arguments, include targets and chains,
              comments and diagnostics (one JSON document per CONFIG)
  crossplane  the output of "crossplane parse", for tools built on it (one
              document for all CONFIGs)

Exit status: 0 when every configuration reads cleanly, 2 when any has an
error or cannot be read.`,
		Example: `  ngxkeep parse /etc/nginx/nginx.conf
  ngxkeep parse --format crossplane /etc/nginx/nginx.conf | jq '.config[].file'
  nginx -T 2>/dev/null | ngxkeep parse -
  ngxkeep parse --prefix /etc/nginx conf/nginx.conf`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runParse(cmd, args, format, prefix)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&format, "format", "json", "output format: "+strings.Join(parseFormats, " or "))
	fl.StringVar(&prefix, "prefix", "", "directory relative include paths resolve against (default: the main file's directory)")
	_ = cmd.RegisterFlagCompletionFunc("format", func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return []cobra.Completion{
			cobra.CompletionWithDesc("json", "this tool's tree with positions and include chains"),
			cobra.CompletionWithDesc("crossplane", `the JSON of "crossplane parse"`),
		}, cobra.ShellCompDirectiveNoFileComp
	})
	_ = cmd.MarkFlagDirname("prefix")
	return cmd
}

func runParse(cmd *cobra.Command, args []string, format, prefix string) error {
	if format != "json" && format != "crossplane" {
		return inputErrorf("unknown --format %q: use %s", format, strings.Join(parseFormats, " or "))
	}
	stdinUsed := false
	stderr := bufio.NewWriter(cmd.ErrOrStderr())
	defer stderr.Flush()
	out := cmd.OutOrStdout()
	failed := false
	var configs []*parser.Config
	for _, arg := range args {
		path, err := parseInput(arg, &stdinUsed)
		if err != nil {
			return err
		}
		cfg, err := parser.Load(path, parser.Options{Prefix: prefix, Stdin: cmd.InOrStdin()})
		if err != nil {
			fmt.Fprintf(stderr, "ngxkeep: %v\n", err)
			failed = true
			continue
		}
		printDiagnostics(stderr, cfg.Diagnostics)
		if cfg.HasErrors() {
			failed = true
		}
		if format == "json" {
			if err := cfg.WriteJSON(out); err != nil {
				return &exitError{code: exitInternal, err: fmt.Errorf("writing output: %w", err)}
			}
			continue
		}
		configs = append(configs, cfg)
	}
	if format == "crossplane" && len(configs) > 0 {
		if err := parser.WriteCrossplane(out, configs...); err != nil {
			return &exitError{code: exitInternal, err: fmt.Errorf("writing output: %w", err)}
		}
	}
	if failed {
		return &exitError{code: exitInput}
	}
	return nil
}

// parseInput maps a CONFIG argument to the main file to load: "-" once,
// a directory to its nginx.conf.
func parseInput(arg string, stdinUsed *bool) (string, error) {
	if arg == "-" {
		if *stdinUsed {
			return "", inputErrorf(`"-" (standard input) given twice`)
		}
		*stdinUsed = true
		return arg, nil
	}
	st, err := os.Stat(arg)
	if err == nil && st.IsDir() {
		main := filepath.Join(arg, "nginx.conf")
		if _, err := os.Stat(main); err != nil {
			return "", inputErrorf("%s is a directory without nginx.conf: name the main config file", arg)
		}
		return main, nil
	}
	return arg, nil
}

// printDiagnostics writes "file:line:col: message" lines, each followed by
// the include chain that led to an included file.
func printDiagnostics(w io.Writer, diags []parser.Diagnostic) {
	for _, d := range diags {
		sev := ""
		if d.Severity == parser.SeverityWarning {
			sev = "warning: "
		}
		fmt.Fprintf(w, "%s:%d:%d: %s%s\n", d.File, d.Pos.Line, d.Pos.Col, sev, d.Message)
		if len(d.Chain) > 0 {
			parts := make([]string, len(d.Chain))
			for i, l := range d.Chain {
				parts[i] = fmt.Sprintf("%s:%d:%d", l.File, l.Line, l.Col)
			}
			fmt.Fprintf(w, "\tincluded from %s\n", strings.Join(parts, " → "))
		}
	}
}
