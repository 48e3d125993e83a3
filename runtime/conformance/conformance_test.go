package conformance

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

var (
	flagUpdate   = flag.Bool("conformance.update", false, "rewrite the expected observations of the scenarios from what nginx does")
	flagNginx    = flag.String("conformance.nginx", "", "nginx binary (default: nginx on PATH or /usr/sbin/nginx)")
	flagNgxkeep  = flag.String("conformance.ngxkeep", "", "prebuilt ngxkeep binary (default: build ./cmd/ngxkeep)")
	flagParallel = flag.Int("conformance.parallel", 4, "scenario runs in flight at once")
	flagVerbose  = flag.Bool("conformance.v", false, "log every transcript")
)

const scenarioDir = "../../testdata/conformance"

// Targets found by TestMain: nil with a reason when unavailable.
var (
	nginxTarget   Target
	nginxWhy      string
	ngxkeepTarget Target
	ngxkeepWhy    string
	summary       []string
)

func TestMain(m *testing.M) {
	flag.Parse()
	tmp, err := os.MkdirTemp("", "ngxkeep-conformance-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	findNginx()
	findNgxkeep(tmp)
	if err := RaisePriority(-10); err != nil && *flagVerbose {
		fmt.Printf("conformance: running at normal priority (%v)\n", err)
	}
	code := m.Run()
	os.RemoveAll(tmp)
	for _, s := range summary {
		fmt.Println(s)
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

var nginxVersionRE = regexp.MustCompile(`nginx/(\d+\.\d+\.\d+)`)

func findNginx() {
	bin := *flagNginx
	if bin == "" {
		if p, err := exec.LookPath("nginx"); err == nil {
			bin = p
		} else if _, err := os.Stat("/usr/sbin/nginx"); err == nil {
			bin = "/usr/sbin/nginx"
		}
	}
	if bin == "" {
		nginxWhy = "nginx not found on PATH or at /usr/sbin/nginx"
		return
	}
	out, err := exec.Command(bin, "-v").CombinedOutput()
	v := nginxVersionRE.FindStringSubmatch(string(out))
	if err != nil || v == nil {
		nginxWhy = strings.TrimSpace(fmt.Sprintf("%s -v: %v %s", bin, err, strings.TrimSpace(string(out))))
		return
	}
	// The expectations were recorded with 1.22.1 (Debian's nginx-light).
	if !strings.HasPrefix(v[1], "1.22.") {
		nginxWhy = fmt.Sprintf("%s is nginx %s, the scenarios describe 1.22", bin, v[1])
		return
	}
	nginxTarget = NginxTarget{Binary: bin}
}

func findNgxkeep(tmp string) {
	bin := *flagNgxkeep
	if bin == "" {
		bin = filepath.Join(tmp, "ngxkeep")
		gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
		if _, err := os.Stat(gobin); err != nil {
			gobin = "go"
		}
		cmd := exec.Command(gobin, "build", "-o", bin, "github.com/ngxkeep/ngxkeep/cmd/ngxkeep")
		if out, err := cmd.CombinedOutput(); err != nil {
			first, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
			ngxkeepWhy = fmt.Sprintf("go build ./cmd/ngxkeep failed: %s", first)
			return
		}
	}
	if err := CheckNgxkeepRun(bin); err != nil {
		ngxkeepWhy = err.Error()
		return
	}
	ngxkeepTarget = NgxkeepTarget{Binary: bin, NginxVersion: "1.22"}
}

// selected filters scenarios by the second element of -test.run, the way
// subtests are matched.
func selected(scs []*Scenario) []*Scenario {
	f := flag.Lookup("test.run")
	if f == nil || f.Value.String() == "" {
		return scs
	}
	parts := strings.Split(f.Value.String(), "/")
	if len(parts) < 2 {
		return scs
	}
	re, err := regexp.Compile(parts[1])
	if err != nil {
		return scs
	}
	var out []*Scenario
	for _, sc := range scs {
		if re.MatchString(sc.Name) {
			out = append(out, sc)
		}
	}
	return out
}

type result struct {
	tr  *Transcript
	err error
	dur time.Duration
}

// runAll runs every scenario against every available target, many at once
// (the runs mostly wait on timers), and returns results per target per
// scenario.
func runAll(t *testing.T, scs []*Scenario, targets []Target) map[string]map[string]result {
	type job struct {
		sc *Scenario
		tg Target
	}
	jobs := make(chan job)
	out := map[string]map[string]result{}
	for _, tg := range targets {
		out[tg.Name()] = map[string]result{}
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	base := t.TempDir()
	for range max(1, *flagParallel) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				dir, err := os.MkdirTemp(base, j.sc.Name+"-"+j.tg.Name()+"-")
				start := time.Now()
				var res result
				if err != nil {
					res.err = err
				} else {
					res.tr, res.err = Run(j.sc, j.tg, dir)
				}
				res.dur = time.Since(start)
				mu.Lock()
				out[j.tg.Name()][j.sc.Name] = res
				mu.Unlock()
			}
		}()
	}
	// Longest scenarios first keeps the pool busy.
	for _, sc := range scs {
		for _, tg := range targets {
			jobs <- job{sc, tg}
		}
	}
	close(jobs)
	wg.Wait()
	return out
}

func TestConformance(t *testing.T) {
	all, err := LoadDir(scenarioDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) == 0 {
		t.Fatalf("no scenarios in %s", scenarioDir)
	}
	known, err := LoadKnownDifferences(filepath.Join(scenarioDir, "KNOWN_DIFFERENCES.md"))
	if err != nil {
		t.Fatal(err)
	}
	for name := range known {
		found := false
		for _, sc := range all {
			found = found || sc.Name == name
		}
		if !found {
			t.Errorf("KNOWN_DIFFERENCES.md lists %q, which is no scenario", name)
		}
	}
	scs := selected(all)
	var targets []Target
	if nginxTarget != nil {
		targets = append(targets, nginxTarget)
	} else {
		summary = append(summary, "conformance: nginx target skipped: "+nginxWhy)
	}
	if ngxkeepTarget != nil {
		targets = append(targets, ngxkeepTarget)
	}
	if len(targets) == 0 {
		t.Skipf("conformance: no target to run (nginx: %s; ngxkeep: %s)", nginxWhy, ngxkeepWhy)
	}
	if *flagUpdate && nginxTarget == nil {
		t.Fatal("-conformance.update needs nginx")
	}
	results := runAll(t, scs, targets)
	identical, differ, knownDiffer := 0, 0, 0
	for _, sc := range scs {
		t.Run(sc.Name, func(t *testing.T) {
			var ref []Obs // what ngxkeep is compared to
			refName := "expected (" + filepath.Base(sc.File) + ")"
			ref = sc.Want
			if nginxTarget != nil {
				res := results["nginx"][sc.Name]
				if res.err != nil {
					t.Fatalf("nginx: %v", res.err)
				}
				if *flagVerbose {
					t.Logf("nginx transcript (%s):\n  %s", res.dur.Round(time.Millisecond), strings.Join(res.tr.Lines(), "\n  "))
				}
				switch {
				case *flagUpdate:
					if !Equal(sc.Want, res.tr.Obs) {
						if err := os.WriteFile(sc.File, Rewrite(sc, res.tr.Obs), 0o644); err != nil {
							t.Fatal(err)
						}
						t.Logf("updated %s", sc.File)
					}
				case !Equal(sc.Want, res.tr.Obs):
					t.Errorf("nginx does not match the scenario's expectations:\n%s\n%s",
						SideBySide(sc, "expected", sc.Want, "nginx", res.tr.Obs), res.tr.Logs)
				}
				ref, refName = res.tr.Obs, "nginx"
			}
			if ngxkeepTarget == nil {
				return
			}
			res := results["ngxkeep"][sc.Name]
			if res.err != nil {
				differ++
				t.Errorf("ngxkeep: %v", res.err)
				return
			}
			if Equal(ref, res.tr.Obs) {
				identical++
				if why, ok := known[sc.Name]; ok {
					t.Logf("listed in KNOWN_DIFFERENCES.md (%s) but identical now: remove the entry", why)
				}
				return
			}
			differ++
			report := SideBySide(sc, refName, ref, "ngxkeep", res.tr.Obs)
			if why, ok := known[sc.Name]; ok {
				knownDiffer++
				t.Logf("known difference (%s):\n%s", why, report)
				return
			}
			t.Errorf("ngxkeep differs from %s:\n%s\n%s", refName, report, res.tr.Logs)
		})
	}
	if ngxkeepTarget == nil {
		summary = append(summary, fmt.Sprintf("conformance: ngxkeep target not available (%s); %d scenarios checked against nginx expectations", ngxkeepWhy, len(scs)))
	} else {
		summary = append(summary, fmt.Sprintf("conformance: %d scenarios, %d identical, %d differ (%d known)", len(scs), identical, differ, knownDiffer))
	}
}
