package conformance

import (
	"bufio"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeTarget is an in-process "runtime" with deliberately simple behaviour:
// every request gets 200 "ok\n"; with keepAlways it says keep-alive and never
// closes, where nginx would close.
type fakeTarget struct{ keepAlways bool }

func (fakeTarget) Name() string { return "fake" }

type fakeInstance struct {
	lns []net.Listener
	wg  sync.WaitGroup
	mu  sync.Mutex
	cs  map[net.Conn]bool
}

func (f fakeTarget) Start(spec InstanceSpec) (Instance, error) {
	in := &fakeInstance{cs: map[net.Conn]bool{}}
	for _, addr := range spec.Listen {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			in.Stop()
			return nil, err
		}
		in.lns = append(in.lns, ln)
		in.wg.Add(1)
		go func() {
			defer in.wg.Done()
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				in.mu.Lock()
				in.cs[c] = true
				in.mu.Unlock()
				in.wg.Add(1)
				go func() {
					defer in.wg.Done()
					defer c.Close()
					br := bufio.NewReader(c)
					for n := 1; ; n++ {
						if _, _, err := readHead(br); err != nil {
							return
						}
						conn := "keep-alive"
						if !f.keepAlways && n >= 2 {
							conn = "close"
						}
						c.Write([]byte("HTTP/1.1 200 OK\r\nConnection: " + conn + "\r\nContent-Length: 3\r\n\r\nok\n"))
						if conn == "close" {
							return
						}
					}
				}()
			}
		}()
	}
	return in, nil
}

func (in *fakeInstance) Reload() error   { return nil }
func (in *fakeInstance) Shutdown() error { return nil }
func (in *fakeInstance) Log() string     { return "" }
func (in *fakeInstance) Stop() error {
	for _, ln := range in.lns {
		ln.Close()
	}
	in.mu.Lock()
	for c := range in.cs {
		c.Close()
	}
	in.mu.Unlock()
	in.wg.Wait()
	return nil
}

// harnessScenario: nginx answers the 2nd request with close and then FINs.
const harnessScenario = `# keepalive_requests 2
-- nginx.conf --
events {}
http {
    keepalive_requests 2;
    server {
        listen 127.0.0.1:{{.Port "front"}};
        location / { return 200 "ok\n"; }
    }
}
-- script --
connect c1 front
send c1 "GET / HTTP/1.1\r\nHost: a\r\n\r\n"
read c1
> c1 HTTP/1.1 200 OK | Connection: keep-alive | cl 3 "ok\n"
send c1 "GET / HTTP/1.1\r\nHost: a\r\n\r\n"
read c1
> c1 HTTP/1.1 200 OK | Connection: close | cl 3 "ok\n"
end c1 500ms
> c1 end: FIN <0.5s
`

func TestHarnessDetectsDifference(t *testing.T) {
	sc, err := Parse("harness.txtar", []byte(harnessScenario))
	if err != nil {
		t.Fatal(err)
	}
	wrong, err := Run(sc, fakeTarget{keepAlways: true}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if Equal(sc.Want, wrong.Obs) {
		t.Fatalf("a target that never closes matched nginx's expectations:\n%s", strings.Join(wrong.Lines(), "\n"))
	}
	report := SideBySide(sc, "expected", sc.Want, "fake", wrong.Obs)
	for _, want := range []string{
		`(?m)^  line 17: read c1\n! c1 HTTP/1\.1 200 OK \| Connection: close \| cl 3 "ok\\n" +│ c1 HTTP/1\.1 200 OK \| Connection: keep-alive \| cl 3 "ok\\n"$`,
		`(?m)^  line 19: end c1 500ms\n! c1 end: FIN <0\.5s +│ c1 end: open \(500ms\)$`,
		`(?m)^  c1 HTTP/1\.1 200 OK \| Connection: keep-alive \| cl 3 "ok\\n" +│ c1 HTTP/1\.1 200 OK \| Connection: keep-alive \| cl 3 "ok\\n"$`,
	} {
		if !regexp.MustCompile(want).MatchString(report) {
			t.Errorf("report does not match %s:\n%s", want, report)
		}
	}
	t.Logf("report for a deliberately wrong target:\n%s", report)

	// The same fake, behaving as nginx does here, matches: the comparison
	// is not merely always failing.
	right, err := Run(sc, fakeTarget{}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if !Equal(sc.Want, right.Obs) {
		t.Errorf("a target that behaves like nginx differs:\n%s", SideBySide(sc, "expected", sc.Want, "fake", right.Obs))
	}

	// And against real nginx, when it is there.
	if nginxTarget == nil {
		t.Logf("nginx not available (%s): compared with the recorded expectations only", nginxWhy)
		return
	}
	real, err := Run(sc, nginxTarget, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if !Equal(sc.Want, real.Obs) {
		t.Errorf("nginx differs from the harness scenario:\n%s", SideBySide(sc, "expected", sc.Want, "nginx", real.Obs))
	}
	if Equal(real.Obs, wrong.Obs) {
		t.Errorf("nginx and the wrong fake produced the same transcript")
	}
}

func TestTimeClass(t *testing.T) {
	for _, c := range []struct {
		ms   int
		want string
	}{{0, "<0.5s"}, {499, "<0.5s"}, {500, "~1s"}, {1000, "~1s"}, {1749, "~1s"}, {2000, "~2s"}, {3000, "~3s"}, {9000, ">3.7s"}} {
		if got := timeClass(msDur(c.ms)); got != c.want {
			t.Errorf("timeClass(%dms) = %s, want %s", c.ms, got, c.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, c := range []struct{ script, want string }{
		{"connect c1 front\nbogus c1\n", "harness.txtar:13: unknown step \"bogus\""},
		{"read c1\n", "never connected"},
		{"connect c1 front\nsend c1 \"abc\n", "unterminated string"},
		{"> c1 x\n", "observation before any step"},
		{"observe nobody\n", "no backend or tap \"nobody\""},
		{"reload back\n", "no instance \"back\""},
	} {
		src := strings.SplitAfter(harnessScenario, "-- script --\n")[0] + c.script
		_, err := Parse("harness.txtar", []byte(src))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("script %q: error %v, want %q", c.script, err, c.want)
		}
	}
}

func msDur(ms int) time.Duration { return time.Duration(ms) * time.Millisecond }

func TestRewriteRoundTrip(t *testing.T) {
	sc, err := Parse("harness.txtar", []byte(harnessScenario))
	if err != nil {
		t.Fatal(err)
	}
	obs := []Obs{{Step: 2, Text: "c1 first"}, {Step: 2, Text: "c1 second"}, {Step: 5, Text: "c1 end: RST ~1s"}}
	sc2, err := Parse("harness.txtar", Rewrite(sc, obs))
	if err != nil {
		t.Fatal(err)
	}
	if !Equal(sc2.Want, obs) {
		t.Errorf("after Rewrite the expectations are %v, want %v", sc2.Want, obs)
	}
	if len(sc2.Steps) != len(sc.Steps) || sc2.Comment != sc.Comment || sc2.Instances[0].Text != sc.Instances[0].Text {
		t.Errorf("Rewrite changed more than the observations")
	}
}

func TestLoadKnownDifferences(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.md")
	os.WriteFile(good, []byte("# Known\n\n    - `example`: not an entry (indented)\n- `a-b`: the runtime rounds lingering_time up\n"), 0o644)
	got, err := LoadKnownDifferences(good)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got["a-b"] != "the runtime rounds lingering_time up" {
		t.Errorf("got %v", got)
	}
	bad := filepath.Join(dir, "bad.md")
	os.WriteFile(bad, []byte("intro\n- `a-b`:\n"), 0o644)
	if _, err := LoadKnownDifferences(bad); err == nil || !strings.Contains(err.Error(), "bad.md:2") {
		t.Errorf("an entry without a reason: error %v, want one at bad.md:2", err)
	}
}
