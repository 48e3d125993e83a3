package parser

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The nginx -t corpus: every case under testdata/parser/nginx-t is either a
// single NAME.conf or a directory NAME/ with an nginx.conf. The main file
// starts with the verdict of nginx 1.22.1's "nginx -t":
//
//	# nginx-t: ok
//	# nginx-t: error: MESSAGE      (nginx's first error, without " in file:line")
//	# nginx-t: error               (nginx fails without a message, e.g. it crashes)
//
// optionally followed by "# ngxkeep: MESSAGE" when our wording differs.
// $PREFIX in messages stands for the case's directory.

type nginxCase struct {
	name   string
	dir    string // directory holding nginx.conf (after copying)
	ok     bool
	nginx  string // expected nginx message ("" when none)
	ours   string // expected message among our diagnostics
	source string // the corpus path
}

const corpusDir = "../testdata/parser/nginx-t"

// loadNginxCases copies every case into its own temporary directory (so
// that nginx -t and the parser see the same self-contained tree).
func loadNginxCases(t *testing.T) []nginxCase {
	t.Helper()
	entries, err := os.ReadDir(corpusDir)
	if err != nil {
		t.Fatal(err)
	}
	var cases []nginxCase
	for _, e := range entries {
		name := strings.TrimSuffix(e.Name(), ".conf")
		dir := t.TempDir()
		src := filepath.Join(corpusDir, e.Name())
		if e.IsDir() {
			if err := os.CopyFS(dir, os.DirFS(src)); err != nil {
				t.Fatal(err)
			}
		} else {
			data, err := os.ReadFile(src)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		c := nginxCase{name: name, dir: dir, source: src}
		readVerdict(t, &c)
		cases = append(cases, c)
	}
	if len(cases) < 50 {
		t.Fatalf("corpus has %d cases, want at least 50", len(cases))
	}
	return cases
}

func readVerdict(t *testing.T, c *nginxCase) {
	f, err := os.Open(filepath.Join(c.dir, "nginx.conf"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for i := 0; i < 2 && sc.Scan(); i++ {
		line := strings.TrimRight(sc.Text(), "\r")
		switch {
		case line == "# nginx-t: ok":
			c.ok = true
		case line == "# nginx-t: error":
		case strings.HasPrefix(line, "# nginx-t: error: "):
			c.nginx = strings.TrimPrefix(line, "# nginx-t: error: ")
		case strings.HasPrefix(line, "# ngxkeep: "):
			c.ours = strings.TrimPrefix(line, "# ngxkeep: ")
		case i == 0:
			t.Fatalf("%s: first line must be a \"# nginx-t:\" verdict", c.source)
		}
	}
	if c.ours == "" {
		c.ours = c.nginx
	}
	c.nginx = strings.ReplaceAll(c.nginx, "$PREFIX", c.dir)
	c.ours = strings.ReplaceAll(c.ours, "$PREFIX", c.dir)
}

// TestNginxCorpusVerdicts checks the parser against the recorded verdicts;
// it needs no nginx.
func TestNginxCorpusVerdicts(t *testing.T) {
	for _, c := range loadNginxCases(t) {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := Load(filepath.Join(c.dir, "nginx.conf"), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got := !cfg.HasErrors(); got != c.ok {
				t.Fatalf("accepted = %v, nginx -t: %v\ndiagnostics:\n%s", got, c.ok, formatDiags(cfg.Diagnostics))
			}
			if c.ours != "" && !hasMessage(cfg.Diagnostics, c.ours) {
				t.Errorf("no diagnostic %q; got:\n%s", c.ours, formatDiags(cfg.Diagnostics))
			}
		})
	}
}

// TestNginxCorpusAgainstNginx runs the real nginx -t on every case and
// checks that it still gives the recorded verdict, so the corpus cannot drift
// from nginx's behaviour.
func TestNginxCorpusAgainstNginx(t *testing.T) {
	bin, err := exec.LookPath("nginx")
	if err != nil {
		t.Skip("nginx not installed: skipping the nginx -t agreement test")
	}
	for _, c := range loadNginxCases(t) {
		t.Run(c.name, func(t *testing.T) {
			ok, msg := runNginxT(t, bin, c.dir)
			if ok != c.ok {
				t.Fatalf("nginx -t accepted = %v, corpus says %v (nginx: %s)", ok, c.ok, msg)
			}
			if !ok && msg != c.nginx {
				t.Errorf("nginx -t says %q, corpus says %q", msg, c.nginx)
			}
		})
	}
}

var nginxErrRE = regexp.MustCompile(`\[(?:emerg|crit|alert)\] \d+#\d+: (.*?)(?: in \S+:\d+)?$`)

// runNginxT runs "nginx -t" on dir/nginx.conf with its own prefix, pid and
// error log, and returns whether it accepted the file and its first error.
func runNginxT(t *testing.T, bin, dir string) (bool, string) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-t", "-q", "-p", dir, "-c", filepath.Join(dir, "nginx.conf"),
		"-g", "pid "+filepath.Join(dir, "nginx.pid")+"; error_log "+filepath.Join(dir, "error.log")+";")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("nginx -t timed out")
	}
	msg := ""
	for _, line := range strings.Split(stderr.String(), "\n") {
		if m := nginxErrRE.FindStringSubmatch(line); m != nil {
			msg = m[1]
			break
		}
	}
	return err == nil, msg
}

func hasMessage(diags []Diagnostic, msg string) bool {
	for _, d := range diags {
		if d.Message == msg {
			return true
		}
	}
	return false
}

func formatDiags(diags []Diagnostic) string {
	var b strings.Builder
	for _, d := range diags {
		b.WriteString("  " + d.File + ":" + strconv.Itoa(int(d.Pos.Line)) + ":" + strconv.Itoa(int(d.Pos.Col)) + ": " + d.Message + "\n")
	}
	return b.String()
}
