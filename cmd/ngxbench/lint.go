package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// lintTool is one side of the lint comparison: a command over a tree.
type lintTool struct {
	name string
	cmd  func(dir string) *exec.Cmd
	ok   func(t timed) bool // whether the exit status is the expected one
}

// lintSuite times `ngxkeep lint`, a gonginx parse and `nginx -t` on the
// generated trees, each as its own process.
func (b *bench) lintSuite() {
	s := b.res.suite("lint")
	py, why := lookTool("python3")
	if py == "" {
		s.skip("whole suite: %s; it generates the trees with gen_large.py", why)
		return
	}
	if _, err := os.Stat(b.o.gen); err != nil {
		s.skip("whole suite: generator not found: %v (pass --gen PATH)", err)
		return
	}
	var tools []lintTool
	if bin, err := b.ngxkeep(); err != nil {
		s.skip("ngxkeep lint: %v", err)
	} else {
		tools = append(tools, lintTool{
			name: "ngxkeep lint",
			cmd: func(dir string) *exec.Cmd {
				// All rules, JSON report discarded; exit 1 = findings.
				c := exec.Command(bin, "lint", "--no-config", "--format", "json", filepath.Join(dir, "nginx.conf"))
				c.Dir = dir
				return c
			},
			ok: func(t timed) bool { return t.code == 0 || t.code == 1 },
		})
	}
	if self, err := b.self(); err != nil {
		s.skip("gonginx parse: %v", err)
	} else {
		tools = append(tools, lintTool{
			name: "gonginx parse",
			cmd: func(dir string) *exec.Cmd {
				c := exec.Command(self, "gonginx-parse", filepath.Join(dir, "nginx.conf"))
				c.Dir = dir
				return c
			},
			ok: func(t timed) bool { return t.code == 0 },
		})
	}
	nginx, why := lookTool("nginx")
	if nginx == "" {
		s.skip("nginx -t: %s", why)
	} else {
		tools = append(tools, lintTool{
			name: "nginx -t",
			cmd: func(dir string) *exec.Cmd {
				logs := filepath.Join(dir, "logs")
				c := exec.Command(nginx, "-t", "-q", "-p", dir+"/", "-e", filepath.Join(logs, "error.log"),
					"-c", filepath.Join(dir, ".bench-nginx.conf"),
					"-g", fmt.Sprintf("pid %s; error_log %s;", filepath.Join(logs, "nginx.pid"), filepath.Join(logs, "error.log")))
				c.Dir = dir
				return c
			},
			ok: func(t timed) bool { return t.code == 0 },
		})
	}
	if len(tools) == 0 {
		return
	}
	s.note("wall time and max RSS (rusage of the child) of one process each; `ngxkeep lint --no-config --format json` with every rule, output discarded (exit 1 = findings, expected); gonginx = `ngxbench gonginx-parse` (NewParser with WithIncludeParsing, WithSkipValidDirectivesErr); `nginx -t -q` on a copy of nginx.conf that only adds *_temp_path directives inside the prefix")

	type tree struct {
		label string
		dir   string
	}
	var trees []tree
	for _, sz := range []struct {
		label string
		n     int
	}{{"2k", 2000}, {"10k", 10000}} {
		dir := b.dir("tree-" + sz.label)
		ctx, cancel := context.WithTimeout(b.ctx, 3*time.Minute)
		out, err := exec.CommandContext(ctx, py, b.o.gen, "--out", dir, "--servers", fmt.Sprint(sz.n)).CombinedOutput()
		cancel()
		if err != nil {
			s.skip("%s tree: gen_large.py failed: %v: %s", sz.label, err, firstLines(string(out), 3))
			continue
		}
		if err := prepareNginxT(dir); err != nil {
			s.skip("%s tree: %v", sz.label, err)
			continue
		}
		trees = append(trees, tree{sz.label + " tree", dir})
		b.logf("lint: generated %s servers in %s", sz.label, dir)
	}

	for _, tr := range trees {
		// One unmeasured run of each tool: it warms the page cache and
		// shows whether the tool works here at all.
		var working []lintTool
		for _, t := range tools {
			res, err := runTimed(t.cmd(tr.dir), 5*time.Minute)
			switch {
			case err != nil:
				s.skip("%s on %s: %v", t.name, tr.label, err)
			case !t.ok(res):
				s.skip("%s on %s: exit status %d: %s", t.name, tr.label, res.code, firstLines(res.output, 3))
			default:
				working = append(working, t)
			}
		}
		for i := 0; i < b.o.runs && b.ctx.Err() == nil; i++ {
			for k := range working {
				t := working[(i+k)%len(working)]
				res, err := runTimed(t.cmd(tr.dir), 5*time.Minute)
				if err != nil || !t.ok(res) {
					b.logf("lint: %s on %s run %d failed: %v (exit %d) %s", t.name, tr.label, i+1, err, res.code, firstLines(res.output, 2))
					continue
				}
				s.add(tr.label, t.name, "wall", "s", res.wall.Seconds())
				s.add(tr.label, t.name, "max RSS", "MiB", float64(res.maxRSS)/(1<<20))
			}
		}
	}
	s.target(Target{Name: "ngxkeep lint / gonginx parse, wall, 2k", Num: "2k tree/ngxkeep lint/wall", Den: "2k tree/gonginx parse/wall", Op: "<=", Limit: 1.0})
	s.target(Target{Name: "ngxkeep lint / nginx -t, wall, 2k", Num: "2k tree/ngxkeep lint/wall", Den: "2k tree/nginx -t/wall", Op: "<=", Limit: 0.5})
	s.target(Target{Name: "ngxkeep lint 10k / 2k, wall", Num: "10k tree/ngxkeep lint/wall", Den: "2k tree/ngxkeep lint/wall", Op: "<=", Limit: 5.5})
	s.target(Target{Name: "ngxkeep lint max RSS at 2k (MiB)", Num: "2k tree/ngxkeep lint/max RSS", Op: "<=", Limit: 32})
	s.target(Target{Name: "ngxkeep lint / gonginx parse, wall, 10k", Num: "10k tree/ngxkeep lint/wall", Den: "10k tree/gonginx parse/wall"})
	s.target(Target{Name: "ngxkeep lint / nginx -t, wall, 10k", Num: "10k tree/ngxkeep lint/wall", Den: "10k tree/nginx -t/wall"})
	s.target(Target{Name: "gonginx parse 10k / 2k, wall", Num: "10k tree/gonginx parse/wall", Den: "2k tree/gonginx parse/wall"})
}

var httpOpenRE = regexp.MustCompile(`(?m)^\s*http\s*\{`)

// prepareNginxT writes .bench-nginx.conf next to the tree's nginx.conf:
// the same text with the temp paths moved into the prefix, so that
// `nginx -t` (which creates them even in test mode) does not touch the
// compiled-in /var/lib/nginx.
func prepareNginxT(dir string) error {
	data, err := os.ReadFile(filepath.Join(dir, "nginx.conf"))
	if err != nil {
		return err
	}
	loc := httpOpenRE.FindIndex(data)
	if loc == nil {
		return fmt.Errorf("no http block in %s/nginx.conf", dir)
	}
	var paths strings.Builder
	for _, kind := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		fmt.Fprintf(&paths, " %s_temp_path %s;", kind, filepath.Join(dir, "tmp", kind))
	}
	conf := string(data[:loc[1]]) + paths.String() + string(data[loc[1]:])
	for _, d := range []string{"logs", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(dir, ".bench-nginx.conf"), []byte(conf), 0o644)
}
