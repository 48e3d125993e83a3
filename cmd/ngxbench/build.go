package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// ngxkeep returns the ngxkeep binary, building ./cmd/ngxkeep once into the
// work directory (go build -o) unless --ngxkeep names one.
func (b *bench) ngxkeep() (string, error) {
	if b.ngxkeepBin != "" || b.ngxkeepErr != nil {
		return b.ngxkeepBin, b.ngxkeepErr
	}
	if b.o.ngxkeep != "" {
		p, err := filepath.Abs(b.o.ngxkeep)
		if err == nil {
			_, err = os.Stat(p)
		}
		b.ngxkeepBin, b.ngxkeepErr = p, err
		return p, err
	}
	out := filepath.Join(b.work, "bin", "ngxkeep")
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/ngxkeep")
	cmd.Dir = b.root
	start := time.Now()
	if msg, err := cmd.CombinedOutput(); err != nil {
		b.ngxkeepErr = fmt.Errorf("go build ./cmd/ngxkeep failed: %v: %s", err, firstLines(string(msg), 5))
		return "", b.ngxkeepErr
	}
	b.logf("built ngxkeep in %s", time.Since(start).Round(100*time.Millisecond))
	b.ngxkeepBin = out
	return out, nil
}

// self returns ngxbench's own binary, re-executed for the hidden
// subcommands.
func (b *bench) self() (string, error) {
	if b.selfBin != "" {
		return b.selfBin, nil
	}
	p, err := os.Executable()
	if err != nil {
		return "", err
	}
	b.selfBin = p
	return p, nil
}

// ours resolves how our servers run: "run" (ngxkeep run on the nginx
// configuration) when that subcommand exists, else "inproc" (the runtime
// packages in an ngxbench child reading the equivalent HCL).
func (b *bench) ours() string {
	if b.oursMode != "" {
		return b.oursMode
	}
	mode := b.o.ours
	if mode == "auto" || mode == "run" {
		bin, err := b.ngxkeep()
		if err == nil {
			err = checkRun(bin)
		}
		switch {
		case err == nil:
			mode = "run"
			b.runAdmin = runHasFlag(bin, "--admin")
		case mode == "run":
			b.logf("--ours run: %v; falling back to inproc", err)
			mode = "inproc"
		default:
			b.logf("our servers run in-process (ngxbench serve): %v", err)
			mode = "inproc"
		}
	}
	b.oursMode = mode
	return mode
}

// checkRun reports why `ngxkeep run` cannot be used.
func checkRun(bin string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "run", "--help").CombinedOutput()
	if err != nil {
		return fmt.Errorf("`ngxkeep run --help` failed (%v): %s", err, firstLines(string(out), 1))
	}
	if !strings.Contains(string(out), "ngxkeep run") {
		return fmt.Errorf("`ngxkeep run --help` printed no usage")
	}
	return nil
}

// runHasFlag reports whether `ngxkeep run --help` lists flag.
func runHasFlag(bin, flag string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, bin, "run", "--help").CombinedOutput()
	return strings.Contains(string(out), flag+" ")
}

func firstLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, " | ")
}
