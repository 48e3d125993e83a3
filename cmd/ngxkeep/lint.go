package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strings"

	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/term"
	"github.com/ngxkeep/ngxkeep/lint"
	"github.com/ngxkeep/ngxkeep/parser"
	"github.com/ngxkeep/ngxkeep/rules"
	"github.com/spf13/cobra"
)

func init() { subcommands = append(subcommands, newLintCmd) }

// registry returns the rules the CLI runs; tests may replace it.
var registry = rules.All

type lintFlags struct {
	version       string
	config        string
	noConfig      bool
	format        string
	color         string
	failOn        string
	baseline      string
	writeBaseline string
	fix, diff     bool
	disable       []string
	prefix        string
	cpuprofile    string
	memprofile    string
}

func newLintCmd() *cobra.Command {
	var f lintFlags
	cmd := &cobra.Command{
		Use:   "lint [flags] CONFIG...",
		Short: "Check keep-alive, upstream, timeout, retry and close settings",
		Long: `lint checks nginx configurations for keep-alive, upstream reuse, timeout,
retry and close problems, for a target nginx version.

Each CONFIG is a separate nginx instance: a main file (includes are followed),
an "nginx -T" dump, a directory holding nginx.conf, or "-" for standard input.
Given several, lint links them: a frontend's upstream servers are matched to
the backend's listen sockets and server blocks, and the cross-config rules
compare both sides (idle timeouts, retries, capacity).

Settings come from .ngxkeep.hcl (looked up from the working directory
upwards, or --config): target version, disabled rules, per-rule severity and
options, external tiers (load balancers, app servers) and a baseline.

A finding is accepted where it is reported with a comment on the line above
the directive or after it on the same line (a block's opening line covers
the whole block; the top of a file, followed by a blank line, the file):

    # ngxkeep:ignore KA08,TO01 the legacy app closes connections itself

The reason is mandatory; unused or malformed suppressions are reported
(NK01, NK02). "ngxkeep explain" lists the rules.

Exit status: 0 no finding at or above --fail-on, 1 findings, 2 bad input
or usage (config errors included), 3 internal error.`,
		Example: `  ngxkeep lint /etc/nginx/nginx.conf
  ngxkeep lint --nginx-version 1.22 frontend.conf backend.conf
  nginx -T | ngxkeep lint -
  ngxkeep lint --format sarif nginx.conf > ngxkeep.sarif
  ngxkeep lint --diff nginx.conf        # show the fixes
  ngxkeep lint --fix nginx.conf         # apply them
  ngxkeep lint --write-baseline .ngxkeep-baseline.json nginx.conf`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runLint(cmd, args, &f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.version, "nginx-version", "", `target nginx version, e.g. 1.22 or 1.30.1, or "auto" to ask the installed nginx -v ($NGXKEEP_NGINX names another binary) (default from .ngxkeep.hcl, else `+parser.DefaultVersion.String()+`)`)
	fl.StringVar(&f.config, "config", "", "config file (default: .ngxkeep.hcl in the working directory or a parent)")
	fl.BoolVar(&f.noConfig, "no-config", false, "do not read any .ngxkeep.hcl")
	fl.StringVar(&f.format, "format", "text", "output format: text, json, sarif, github, checkstyle")
	fl.StringVar(&f.color, "color", "auto", "colour the text output: auto, always, never (auto honours NO_COLOR and is off when not a terminal)")
	fl.StringVar(&f.failOn, "fail-on", "", `lowest severity that makes lint exit 1: error, warning, info or none (default from .ngxkeep.hcl, else "warning")`)
	fl.StringVar(&f.baseline, "baseline", "", "report only findings not recorded in this baseline file (default from .ngxkeep.hcl)")
	fl.StringVar(&f.writeBaseline, "write-baseline", "", "record the current findings in this file and exit 0")
	fl.BoolVar(&f.fix, "fix", false, "apply the fixes in place (only the edited bytes change), then report what is left")
	fl.BoolVar(&f.diff, "diff", false, "print the fixes as unified diffs instead of the report")
	fl.StringSliceVar(&f.disable, "disable", nil, "rules to skip (IDs or names, comma-separated)")
	fl.StringVar(&f.prefix, "prefix", "", "directory relative include paths resolve against (default: each main file's directory)")
	fl.StringVar(&f.cpuprofile, "cpuprofile", "", "write a CPU profile of the run to this file (for performance work)")
	_ = fl.MarkHidden("cpuprofile")
	fl.StringVar(&f.memprofile, "memprofile", "", "write a heap profile of what the run keeps live (after the report) to this file (for performance work)")
	_ = fl.MarkHidden("memprofile")
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{"text", "json", "sarif", "github", "checkstyle"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("color", cobra.FixedCompletions([]string{"auto", "always", "never"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("fail-on", cobra.FixedCompletions([]string{"error", "warning", "info", "none"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("nginx-version", cobra.FixedCompletions([]string{"auto", "1.22", "1.24", "1.26", "1.28", "1.30"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("disable", completeRules)
	return cmd
}

func runLint(cmd *cobra.Command, args []string, f *lintFlags) error {
	stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
	if os.Getenv("GOGC") == "" && os.Getenv("GOMEMLIMIT") == "" {
		lintGCPolicy()
	}
	if f.cpuprofile != "" {
		out, err := os.Create(f.cpuprofile)
		if err != nil {
			return inputErrorf("--cpuprofile: %v", err)
		}
		if err := pprof.StartCPUProfile(out); err != nil {
			out.Close()
			return inputErrorf("--cpuprofile: %v", err)
		}
		defer func() {
			pprof.StopCPUProfile()
			out.Close()
		}()
	}
	switch f.format {
	case "text", "json", "sarif", "github", "checkstyle":
	default:
		return inputErrorf("unknown --format %q (want text, json, sarif, github or checkstyle)", f.format)
	}
	switch f.color {
	case "auto", "always", "never":
	default:
		return inputErrorf("unknown --color %q (want auto, always or never)", f.color)
	}
	if f.fix && f.diff {
		return inputErrorf("--fix and --diff exclude each other")
	}
	analyzers := registry()

	// .ngxkeep.hcl
	cfg := &lint.Config{}
	if !f.noConfig {
		path := f.config
		if path == "" {
			path = lint.FindConfig(".")
		} else if _, err := os.Stat(path); err != nil {
			return inputErrorf("--config: %v", err)
		}
		if path != "" {
			c, err := lint.LoadConfig(relPath(path), analyzers)
			if err != nil {
				return &exitError{code: exitInput, err: err}
			}
			if err := c.CheckTierPaths(); err != nil {
				return &exitError{code: exitInput, err: err}
			}
			cfg = c
		}
	}
	if err := cfg.Disable(f.disable, analyzers); err != nil {
		return inputErrorf("--disable: %v", err)
	}

	// Target version: flag, config, default (the zero version lets
	// lint.Run take the config's or the default).
	var target parser.Version
	if f.version != "" {
		v, err := targetVersion(f.version)
		if err != nil {
			return err
		}
		target = v
	}

	failOn, failNever := lint.SeverityWarning, false
	if cfg.FailNever {
		failNever = true
	} else if cfg.FailOn != 0 {
		failOn = cfg.FailOn
	}
	if f.failOn != "" {
		if strings.EqualFold(f.failOn, "none") {
			failNever = true
		} else {
			s, err := lint.ParseSeverity(f.failOn)
			if err != nil {
				return inputErrorf("--fail-on: %v", err)
			}
			failOn, failNever = s, false
		}
	}

	var baseline *lint.Baseline
	bpath := f.baseline
	if bpath == "" && f.writeBaseline == "" {
		bpath = cfg.Baseline
	}
	if bpath != "" && f.writeBaseline == "" {
		b, err := lint.ReadBaseline(bpath)
		if err != nil {
			if f.baseline == "" && errors.Is(err, os.ErrNotExist) {
				// A baseline named by the config file but not written yet.
			} else {
				return inputErrorf("--baseline: %v", err)
			}
		} else {
			baseline = b
		}
	}

	lintOnce := func() (*lint.Result, error) {
		instances, err := loadInstances(args, cmd.InOrStdin(), f.prefix)
		if err != nil {
			return nil, err
		}
		opts := lint.Options{Target: target, Analyzers: analyzers,
			Instances: instances, Config: cfg, Baseline: baseline}
		switch {
		case f.format == "sarif" || f.format == "github" || f.format == "checkstyle",
			f.writeBaseline != "", f.diff:
			// Nothing shows what other versions would add: skip the
			// comparison runs.
			opts.CompareVersions = []parser.Version{}
		}
		res, err := lint.Run(context.Background(), opts)
		if err != nil {
			return nil, &exitError{code: exitInternal, err: err}
		}
		return res, nil
	}
	res, err := lintOnce()
	if err != nil {
		return err
	}

	if f.writeBaseline != "" {
		var buf bytes.Buffer
		if err := lint.NewBaseline(res).Write(&buf); err != nil {
			return &exitError{code: exitInternal, err: err}
		}
		if err := os.WriteFile(f.writeBaseline, buf.Bytes(), 0o644); err != nil {
			return inputErrorf("--write-baseline: %v", err)
		}
		fmt.Fprintf(stderr, "ngxkeep: wrote %d findings to %s\n", len(res.Findings), f.writeBaseline)
		if res.HasErrors() {
			return &exitError{code: exitInput}
		}
		return nil
	}

	if f.fix || f.diff {
		changes, skipped, err := res.Fixes()
		if err != nil {
			return &exitError{code: exitInternal, err: err}
		}
		if f.diff {
			for _, c := range changes {
				if _, err := stdout.Write(c.Diff()); err != nil {
					return err
				}
			}
			if skipped > 0 {
				fmt.Fprintf(stderr, "ngxkeep: %d overlapping fixes left out; apply these and run again\n", skipped)
			}
			return exitFor(res, failOn, failNever)
		}
		n := 0
		for _, c := range changes {
			if err := writeFix(c, res); err != nil {
				return inputErrorf("--fix: %v", err)
			}
			n += c.Fixes
		}
		if len(changes) > 0 {
			fmt.Fprintf(stderr, "ngxkeep: applied %d %s in %d %s\n", n, plural(n, "fix", "fixes"), len(changes), plural(len(changes), "file", "files"))
		}
		if skipped > 0 {
			fmt.Fprintf(stderr, "ngxkeep: %d overlapping fixes left out; run --fix again\n", skipped)
		}
		if len(changes) > 0 {
			if res, err = lintOnce(); err != nil {
				return err
			}
		}
	}

	if err := writeReport(stdout, res, f, args); err != nil {
		return &exitError{code: exitInternal, err: err}
	}
	if f.memprofile != "" {
		if err := writeHeapProfile(f.memprofile); err != nil {
			return inputErrorf("--memprofile: %v", err)
		}
		runtime.KeepAlive(res)
	}
	return exitFor(res, failOn, failNever)
}

// writeHeapProfile collects garbage and writes a heap profile: its
// inuse_space is what the run still holds, its alloc_space all it allocated.
func writeHeapProfile(path string) error {
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	runtime.GC()
	if err := pprof.Lookup("heap").WriteTo(out, 0); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// lintGCPolicy sets the collector for a lint run. A run allocates mostly
// what it keeps to the end (the tree, its effective-settings memo, the
// topology: 21 MB allocated, 17.6 MB of it live at exit, on the
// 2,000-server tree of gen_large.py; 10,000 servers: 95 MiB max RSS)
// and exits, so a collection frees little and costs much: on the 2k tree
// a soft limit of 16-32 MiB saved 2-3 MiB of RSS and doubled the run
// time, and one forced collection before the rules run saved 0.65 MiB
// for 30 ms (+40%). With the collector off every allocation stays
// resident, so a lint run keeps its allocations down instead. So: no collection until the heap reaches gcFreeHeap, then the
// default pacing (GOGC=100) with no limit. Above gcFreeHeap a huge
// configuration grows with its live heap like any Go program, instead of
// collecting continuously against a fixed limit (on the 10k tree a 64 MiB
// limit with GC off ran 2.3x slower than switching to GOGC=100 there).
func lintGCPolicy() {
	debug.SetGCPercent(-1)
	debug.SetMemoryLimit(gcFreeHeap)
	// The cleanup runs after the first collection, which only the limit
	// triggers: the sentinel is garbage from the start.
	runtime.AddCleanup(new([64]byte), func(struct{}) {
		debug.SetGCPercent(100)
		debug.SetMemoryLimit(math.MaxInt64)
	}, struct{}{})
}

// gcFreeHeap is the heap a lint run grows to without collecting.
const gcFreeHeap = 256 << 20

func exitFor(res *lint.Result, failOn lint.Severity, never bool) error {
	if res.HasErrors() {
		return &exitError{code: exitInput}
	}
	if !never && res.Count(failOn) > 0 {
		return &exitError{code: exitFindings}
	}
	return nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func writeReport(w io.Writer, res *lint.Result, f *lintFlags, args []string) error {
	switch f.format {
	case "json":
		return lint.WriteJSON(w, res)
	case "sarif":
		wd, _ := os.Getwd()
		return lint.WriteSARIF(w, res, lint.SARIFOptions{ToolVersion: buildVersion(), SrcRoot: wd})
	case "github":
		return lint.WriteGitHub(w, res)
	case "checkstyle":
		return lint.WriteCheckstyle(w, res)
	}
	o := lint.TextOptions{Profile: colorProfile(w, f.color), Width: 100,
		Command: "ngxkeep lint " + strings.Join(args, " ")}
	if fd, ok := w.(interface{ Fd() uintptr }); ok && term.IsTerminal(fd.Fd()) {
		if width, _, err := term.GetSize(fd.Fd()); err == nil && width > 40 {
			o.Width = width
		}
	}
	return lint.WriteText(w, res, o)
}

// colorProfile decides the text colours once: auto detects the terminal
// (NO_COLOR, CLICOLOR_FORCE, TERM=dumb, not a TTY → no colour), always
// forces at least 256 colours, never prints plain text.
func colorProfile(w io.Writer, mode string) colorprofile.Profile {
	switch mode {
	case "never":
		return colorprofile.NoTTY
	case "always":
		p := colorprofile.Env(os.Environ())
		if p < colorprofile.ANSI256 {
			p = colorprofile.ANSI256
		}
		return p
	}
	return colorprofile.Detect(w, os.Environ())
}

// loadInstances reads each argument as one nginx instance.
func loadInstances(args []string, stdin io.Reader, prefix string) ([]*lint.Instance, error) {
	var out []*lint.Instance
	stdinUsed := false
	for _, a := range args {
		path, err := parseInput(a, &stdinUsed)
		if err != nil {
			return nil, err
		}
		cfg, err := parser.Load(path, parser.Options{Prefix: prefix, Stdin: stdin})
		if err != nil {
			return nil, inputErrorf("%v", err)
		}
		out = append(out, lint.NewInstance(path, cfg, nil))
	}
	return out, nil
}

// writeFix writes one fixed file in place, keeping its mode; files read
// from standard input or an "nginx -T" dump cannot be fixed.
func writeFix(c lint.FileChange, res *lint.Result) error {
	for _, in := range res.Instances {
		if in.Config != nil && in.Config.Dump {
			for _, f := range in.Config.Files {
				if f.Path == c.Path {
					return fmt.Errorf("%s comes from an nginx -T dump: use --diff and apply it to the real file", c.File)
				}
			}
		}
	}
	if c.Path == "-" || c.Path == "" {
		return fmt.Errorf("%s was read from standard input: use --diff", c.File)
	}
	st, err := os.Stat(c.Path)
	if err != nil {
		return err
	}
	cur, err := os.ReadFile(c.Path)
	if err != nil {
		return err
	}
	if !bytes.Equal(cur, c.Old) {
		return fmt.Errorf("%s changed while linting; not fixed", c.File)
	}
	tmp, err := os.CreateTemp(filepath.Dir(c.Path), ".ngxkeep-fix-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(c.New); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(st.Mode().Perm()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), c.Path)
}

var nginxVersionRE = regexp.MustCompile(`nginx/(\d+\.\d+(?:\.\d+)?)`)

// installedNginxVersion asks "nginx -v" (which prints to stderr).
func installedNginxVersion() (parser.Version, error) {
	bin := os.Getenv("NGXKEEP_NGINX")
	if bin == "" {
		bin = "nginx"
	}
	out, err := exec.Command(bin, "-v").CombinedOutput()
	if err != nil && len(out) == 0 {
		return parser.Version{}, fmt.Errorf("running %s -v: %v", bin, err)
	}
	m := nginxVersionRE.FindSubmatch(out)
	if m == nil {
		return parser.Version{}, fmt.Errorf("%s -v printed no version: %q", bin, strings.TrimSpace(string(out)))
	}
	return parser.ParseVersion(string(m[1]))
}

// relPath shows path relative to the working directory when it is below it.
func relPath(path string) string {
	wd, err := os.Getwd()
	if err != nil {
		return path
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return path
	}
	if r, err := filepath.Rel(wd, abs); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return path
}

// completeRules completes rule IDs and names with their summaries.
func completeRules(_ *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
	var out []string
	for _, a := range append(registry(), lint.Builtins()...) {
		out = append(out, a.ID+"\t"+a.Name+": "+a.Summary(), a.Name+"\t"+a.ID+": "+a.Summary())
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}
