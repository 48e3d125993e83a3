package linttest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// GenLarge runs the project's large-tree generator, gen_large.py, with
// "--out dir" followed by args, and returns the tree's main file and what
// the generator printed (it ends with the seeded mistake counts). The
// generator is $NGXKEEP_GEN_LARGE, else shared/bench/gen_large.py in the
// nearest directory above the working directory that has one, else
// /work/shared/bench/gen_large.py. tb is skipped when the generator or
// python3 is missing, and fails when the generator does.
func GenLarge(tb testing.TB, dir string, args ...string) (string, []byte) {
	tb.Helper()
	main, out, err := genLarge(dir, args...)
	if err == errNoGenerator {
		tb.Skipf("gen_large.py or python3 not available")
	}
	if err != nil {
		tb.Fatalf("%v\n%s", err, out)
	}
	return main, out
}

var (
	largeOnce sync.Once
	largeMain string
	largeErr  error
)

// LargeTree returns the main file of gen_large.py's default tree (2,000
// servers, 200 upstreams), generated once per test binary into a temporary
// directory, for the benchmarks that time parsing and linting on it. tb is
// skipped when the tree cannot be generated.
func LargeTree(tb testing.TB) string {
	tb.Helper()
	largeOnce.Do(func() {
		dir, err := os.MkdirTemp("", "ngxkeep-large-")
		if err != nil {
			largeErr = err
			return
		}
		var out []byte
		if largeMain, out, largeErr = genLarge(dir); largeErr != nil && len(out) > 0 {
			largeErr = fmt.Errorf("%v\n%s", largeErr, out)
		}
	})
	if largeErr != nil {
		tb.Skipf("no gen_large tree: %v", largeErr)
	}
	return largeMain
}

var errNoGenerator = errors.New("gen_large.py or python3 not available")

func genLarge(dir string, args ...string) (string, []byte, error) {
	gen := os.Getenv("NGXKEEP_GEN_LARGE")
	if gen == "" {
		gen = findGenerator()
	}
	py, err := exec.LookPath("python3")
	if _, serr := os.Stat(gen); err != nil || serr != nil {
		return "", nil, errNoGenerator
	}
	out, err := exec.Command(py, append([]string{gen, "--out", dir}, args...)...).CombinedOutput()
	if err != nil {
		return "", out, fmt.Errorf("%s: %v", gen, err)
	}
	return filepath.Join(dir, "nginx.conf"), out, nil
}

// findGenerator looks for shared/bench/gen_large.py above the working
// directory (a test runs in its package's directory).
func findGenerator() string {
	const rel = "shared/bench/gen_large.py"
	if wd, err := os.Getwd(); err == nil {
		for d := wd; ; d = filepath.Dir(d) {
			p := filepath.Join(d, filepath.FromSlash(rel))
			if _, err := os.Stat(p); err == nil {
				return p
			}
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	return "/work/shared/bench/gen_large.py"
}
