package main

import (
	"testing"
	"time"
)

const wrkOut = `Running 1s test @ http://127.0.0.1:18777/
  2 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   806.32us    2.28ms  21.70ms   92.11%
    Req/Sec    48.64k    37.20k  117.62k    52.38%
  Latency Distribution
     50%   51.00us
     75%  124.00us
     90%    2.34ms
     99%   12.59ms
  101642 requests in 1.10s, 14.44MB read
  Socket errors: connect 0, read 3, write 0, timeout 12
  Non-2xx or 3xx responses: 7
Requests/sec:  92384.77
Transfer/sec:     13.13MB
`

func TestParseWrk(t *testing.T) {
	r, err := parseWrk(wrkOut)
	if err != nil {
		t.Fatal(err)
	}
	if r.RPS != 92384.77 || r.Requests != 101642 {
		t.Errorf("rps %v requests %v", r.RPS, r.Requests)
	}
	if r.P50 != 51*time.Microsecond || r.P99 != 12590*time.Microsecond {
		t.Errorf("p50 %v p99 %v", r.P50, r.P99)
	}
	want := "Socket errors: connect 0, read 3, write 0, timeout 12; Non-2xx or 3xx responses: 7"
	if r.Errors != want {
		t.Errorf("errors %q, want %q", r.Errors, want)
	}
	// Without --latency the distribution is missing: an error, not zeros.
	if _, err := parseWrk("Requests/sec:  100.0\n"); err == nil {
		t.Error("no error without a latency distribution")
	}
	for in, want := range map[string]time.Duration{"2.01s": 2010 * time.Millisecond, "1.00m": time.Minute, "999.00us": 999 * time.Microsecond} {
		if d, err := parseWrkDuration(in); err != nil || d != want {
			t.Errorf("parseWrkDuration(%q) = %v, %v; want %v", in, d, err, want)
		}
	}
	if _, err := parseWrkDuration("12xs"); err == nil {
		t.Error("bad unit accepted")
	}
}

func TestSummarize(t *testing.T) {
	med, lo, hi, q1, q3 := summarize([]float64{5, 1, 4, 2, 3})
	if med != 3 || lo != 1 || hi != 5 || q1 != 2 || q3 != 4 {
		t.Errorf("got %v %v %v %v %v", med, lo, hi, q1, q3)
	}
	if med, _, _, _, _ := summarize([]float64{1, 2, 3, 10}); med != 2.5 {
		t.Errorf("even count median %v, want 2.5", med)
	}
}

func TestTargets(t *testing.T) {
	r := &Results{}
	s := r.suite("x")
	for _, v := range []float64{100, 110, 90} {
		s.add("c", "ours", "req/s", "req/s", v)
	}
	for _, v := range []float64{200, 190, 210} {
		s.add("c", "ref", "req/s", "req/s", v)
	}
	s.target(Target{Name: "ratio", Num: "c/ours/req/s", Den: "c/ref/req/s", Op: ">=", Limit: 1})
	s.target(Target{Name: "abs", Num: "c/ours/req/s", Op: "<=", Limit: 100})
	s.target(Target{Name: "eq", Num: "c/ours/req/s", Den: "c/ref/req/s", Op: "~=", Limit: 0.6, Tol: 0.2})
	s.target(Target{Name: "missing", Num: "c/none/req/s", Den: "c/ref/req/s", Op: ">=", Limit: 1})
	s.target(Target{Name: "info", Num: "c/ours/req/s", Den: "c/ref/req/s"})
	r.evaluate()
	want := map[string]struct {
		v      float64
		status string
	}{"ratio": {0.5, "FAIL"}, "abs": {100, "PASS"}, "eq": {0.5, "PASS"}, "missing": {0, "n/a"}, "info": {0.5, "info"}}
	for _, tg := range s.Targets {
		w := want[tg.Name]
		if tg.Value != w.v || tg.Status != w.status {
			t.Errorf("%s: %v %s, want %v %s", tg.Name, tg.Value, tg.Status, w.v, w.status)
		}
	}
}

func TestParseStubAccepts(t *testing.T) {
	n, err := parseStubAccepts("Active connections: 1 \nserver accepts handled requests\n 139 139 133576 \nReading: 0 Writing: 1 Waiting: 0 \n")
	if err != nil || n != 139 {
		t.Errorf("got %d, %v", n, err)
	}
	if _, err := parseStubAccepts("<html>404</html>"); err == nil {
		t.Error("no error on a page without counters")
	}
}
