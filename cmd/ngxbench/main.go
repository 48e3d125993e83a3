// Command ngxbench measures ngxkeep side by side with the tools it stands
// in for, in one process run on one machine, and prints absolute numbers,
// ratios (ours / reference) and the project's target for each ratio.
//
//	go run ./cmd/ngxbench [--json] [--runs N] [--duration 5s] [suite...]
//
// Suites (all by default):
//
//   - lint: `ngxkeep lint` (all rules) vs a gonginx parse vs `nginx -t` on
//     trees of 2,000 and 10,000 servers from gen_large.py; wall time and
//     max RSS of each process.
//   - server: ngxkeep vs nginx answering `return 200 "ok"` with 2 workers,
//     loaded by `wrk -t2 -c64 --latency`; req/s, p50, p99.
//   - proxy: ngxkeep → ngxkeep vs nginx → nginx with a keep-alive pool of
//     64, plus HAProxy and Caddy in front of the same nginx backend; req/s,
//     latency and upstream connections opened per 1,000 requests.
//   - idle: RSS per idle keep-alive client connection with 10,000 of them
//     open, ngxkeep vs nginx.
//
// Every measurement is repeated --runs times, alternating ours and the
// reference; the table shows the median and the min–max spread, and each
// ratio is a ratio of medians. A comparison whose reference tool is not
// installed is skipped with one line saying so.
//
// Every process ngxbench starts runs in its own temporary prefix on
// 127.0.0.1 with ports it picks, and is stopped by its PID when its
// comparison ends, and on SIGINT/SIGTERM. Nothing under /etc or any system
// service is touched.
//
// ngxbench re-executes itself for two hidden subcommands: "gonginx-parse
// FILE" (the gonginx side of the lint suite, so both sides pay the same
// process start) and "serve [--stats ADDR] [--cpuprofile FILE] FILE.hcl"
// (the runtime in a child process, used while `ngxkeep run` does not
// exist; see serve.go).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// options are the driver's flags.
type options struct {
	json     bool
	jsonOut  string // also write the JSON here
	runs     int
	duration time.Duration
	warmup   time.Duration
	gen      string
	ngxkeep  string // prebuilt binary; "" = go build ./cmd/ngxkeep
	ours     string // auto | run | inproc
	profile  string // directory for CPU profiles of our servers; "" = none
	keep     bool   // keep the work directory
	conns    int    // idle suite connections
	suites   []string
}

var allSuites = []string{"lint", "server", "proxy", "idle"}

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "gonginx-parse":
			os.Exit(gonginxParse(os.Args[2:], os.Stderr))
		case "serve":
			os.Exit(serveMain(os.Args[2:], os.Stderr))
		}
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("ngxbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: ngxbench [flags] [suite...]\n\nSuites: %s (all by default).\n\nFlags:\n", strings.Join(allSuites, ", "))
		fs.PrintDefaults()
	}
	fs.BoolVar(&o.json, "json", false, "print the results as JSON instead of a table")
	fs.StringVar(&o.jsonOut, "json-out", "", "also write the results as JSON to this file (one run, both forms)")
	fs.IntVar(&o.runs, "runs", 5, "repetitions of every measurement (at least 1; 5 or more for a spread worth reading)")
	fs.DurationVar(&o.duration, "duration", 5*time.Second, "length of each wrk run (whole seconds)")
	fs.DurationVar(&o.warmup, "warmup", 2*time.Second, "wrk warm-up before each measured run (whole seconds)")
	fs.StringVar(&o.gen, "gen", "", "path of gen_large.py (default ../shared/bench/gen_large.py from the repository root)")
	fs.StringVar(&o.ngxkeep, "ngxkeep", "", "use this ngxkeep binary instead of building ./cmd/ngxkeep")
	fs.StringVar(&o.ours, "ours", "auto", "how to run our servers: run (ngxkeep run), inproc (the runtime in an ngxbench child), auto (run when it exists)")
	fs.StringVar(&o.profile, "profile", "", "write CPU profiles of our in-process servers into this directory")
	fs.BoolVar(&o.keep, "keep", false, "keep the work directory (configs, logs) and print its path")
	fs.IntVar(&o.conns, "conns", 10000, "idle keep-alive connections in the idle suite")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if o.runs < 1 {
		return nil, fmt.Errorf("--runs must be at least 1")
	}
	if o.ours != "auto" && o.ours != "run" && o.ours != "inproc" {
		return nil, fmt.Errorf("--ours must be auto, run or inproc")
	}
	o.suites = fs.Args()
	if len(o.suites) == 0 {
		o.suites = allSuites
	}
	for _, s := range o.suites {
		if !contains(allSuites, s) {
			return nil, fmt.Errorf("unknown suite %q (want %s)", s, strings.Join(allSuites, ", "))
		}
	}
	return o, nil
}

func run(args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		fmt.Fprintf(stderr, "ngxbench: %v\n", err)
		return 2
	}
	root, err := repoRoot()
	if err != nil {
		fmt.Fprintf(stderr, "ngxbench: %v\n", err)
		return 2
	}
	work, err := os.MkdirTemp("", "ngxbench-")
	if err != nil {
		fmt.Fprintf(stderr, "ngxbench: %v\n", err)
		return 3
	}
	// Workers of nginx run as root here only when we are root (see
	// nginxGlobals); the prefix must be readable by them either way.
	os.Chmod(work, 0o755)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		sig := <-sigs
		fmt.Fprintf(stderr, "\nngxbench: %v: stopping every process started\n", sig)
		cancel()
		procs.stopAll()
		if !o.keep {
			os.RemoveAll(work)
		}
		os.Exit(130)
	}()
	defer func() {
		procs.stopAll()
		if o.keep {
			fmt.Fprintf(stderr, "ngxbench: work directory kept: %s\n", work)
		} else {
			os.RemoveAll(work)
		}
	}()

	if o.profile != "" {
		if o.profile, err = filepath.Abs(o.profile); err == nil {
			err = os.MkdirAll(o.profile, 0o755)
		}
		if err != nil {
			fmt.Fprintf(stderr, "ngxbench: --profile: %v\n", err)
			return 2
		}
	}
	raiseNofile(stderr)
	b := &bench{o: o, root: root, work: work, log: stderr, ctx: ctx}
	b.res.Machine = describeMachine()
	b.res.Started = time.Now().UTC().Format(time.RFC3339)
	b.res.Runs, b.res.Duration = o.runs, o.duration.String()
	b.res.LoadBefore = loadavg()
	if o.gen == "" {
		o.gen = filepath.Join(root, "..", "shared", "bench", "gen_large.py")
	}
	for _, s := range allSuites {
		if !contains(o.suites, s) || ctx.Err() != nil {
			continue
		}
		start := time.Now()
		b.logf("== suite %s", s)
		switch s {
		case "lint":
			b.lintSuite()
		case "server":
			b.serverSuite()
		case "proxy":
			b.proxySuite()
		case "idle":
			b.idleSuite()
		}
		b.logf("== suite %s done in %s", s, time.Since(start).Round(time.Second))
	}
	if b.oursMode != "" {
		b.res.Ours = b.oursDesc()
	}
	b.res.LoadAfter = loadavg()
	b.res.Finished = time.Now().UTC().Format(time.RFC3339)
	b.res.evaluate()
	if o.jsonOut != "" {
		data, err := json.MarshalIndent(&b.res, "", "  ")
		if err == nil {
			err = os.WriteFile(o.jsonOut, append(data, '\n'), 0o644)
		}
		if err != nil {
			fmt.Fprintf(stderr, "ngxbench: --json-out: %v\n", err)
			return 3
		}
	}
	if o.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(&b.res); err != nil {
			fmt.Fprintf(stderr, "ngxbench: %v\n", err)
			return 3
		}
	} else {
		b.res.writeText(stdout)
	}
	return 0
}

// bench is one driver run.
type bench struct {
	o    *options
	root string // repository root
	work string // temporary work directory
	log  io.Writer
	ctx  context.Context
	res  Results

	ngxkeepBin string // built once; "" until needed
	ngxkeepErr error
	selfBin    string
	oursMode   string // resolved "run" or "inproc"
	runAdmin   bool   // ngxkeep run has --admin
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.log, "ngxbench: "+format+"\n", args...)
}

// dir makes a fresh directory under the work directory.
func (b *bench) dir(name string) string {
	d, err := os.MkdirTemp(b.work, name+"-")
	if err != nil {
		panic(err)
	}
	os.Chmod(d, 0o755)
	return d
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// repoRoot finds the module root of github.com/ngxkeep/ngxkeep from the
// working directory upwards.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.Contains(string(data), "module github.com/ngxkeep/ngxkeep\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("run ngxbench inside the ngxkeep repository (no go.mod of github.com/ngxkeep/ngxkeep above the working directory)")
		}
		dir = parent
	}
}
