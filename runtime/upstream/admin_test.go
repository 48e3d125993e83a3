package upstream

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/ngxkeep/ngxkeep/runtime/config"
)

func TestAdminOutput(t *testing.T) {
	b := newBackend(t, okHandler("x"))
	e := newEnv(t, []*config.Upstream{ups("app", ka(1), b.addr())})
	p := e.proxy(http11("http://app"))
	e.start()
	for i := 0; i < 3; i++ {
		e.do(p, get("GET", "/"))
	}
	var metrics, snapJSON strings.Builder
	if err := WriteMetrics(&metrics, e.set.Stats(), nil); err != nil {
		t.Fatal(err)
	}
	body := metrics.String()
	for _, want := range []string{
		`ngxkeep_upstream_connections_opened_total{peer="` + b.addr() + `",upstream="app"} 1`,
		`ngxkeep_upstream_connections_reused_total{peer="` + b.addr() + `",upstream="app"} 2`,
		`ngxkeep_upstream_connections_idle{peer="` + b.addr() + `",upstream="app"} 1`,
		`ngxkeep_upstream_connections_closed_total{peer="` + b.addr() + `",reason="evicted_lru",upstream="app"} 0`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s\n%s", want, body)
		}
	}

	if err := WriteSnapshotJSON(&snapJSON, e.set.Stats()); err != nil {
		t.Fatal(err)
	}
	var snap struct {
		Upstreams []UpstreamSnapshot `json:"upstreams"`
	}
	if err := json.Unmarshal([]byte(snapJSON.String()), &snap); err != nil {
		t.Fatal(err)
	}
	if len(snap.Upstreams) != 1 || snap.Upstreams[0].Totals.Requests != 3 || snap.Upstreams[0].Totals.Reused != 2 {
		t.Fatalf("%+v", snap)
	}
}

// exposeStats is a Stats whose /metrics output was recorded from
// Prometheus' client_golang v1.25 (promhttp.HandlerFor), which served it
// before the exposition was written here: the lines wantExposition lists
// are that library's output.
func exposeStats() *Stats {
	s := newStats()
	a := s.Peer("app", "10.0.0.2:80")
	a.Opened.Add(1234567)
	a.Reused.Add(1)
	a.Idle.Add(-1)
	a.Closed[CloseKeepaliveRequests].Add(5)
	s.Peer("app", "10.0.0.10:80").Requests.Add(1 << 60)
	s.Peer("zz\"x\\y\nq", "unix:/a b").Failures.Add(99)
	s.Peer("Ab", "10.0.0.2:80").Returned.Add(100000)
	s.shard("Ab", "10.0.0.2:80", 3).Returned.Add(7)
	return s
}

const wantReturned = `# HELP ngxkeep_upstream_connections_returned_total Upstream connections saved into the keep-alive cache.
# TYPE ngxkeep_upstream_connections_returned_total counter
ngxkeep_upstream_connections_returned_total{peer="10.0.0.10:80",upstream="app"} 0
ngxkeep_upstream_connections_returned_total{peer="10.0.0.2:80",upstream="Ab"} 100007
ngxkeep_upstream_connections_returned_total{peer="10.0.0.2:80",upstream="app"} 0
ngxkeep_upstream_connections_returned_total{peer="unix:/a b",upstream="zz\"x\\y\nq"} 0
`

func TestMetricsExposition(t *testing.T) {
	var out strings.Builder
	if err := WriteMetrics(&out, exposeStats(), nil); err != nil {
		t.Fatal(err)
	}
	body := out.String()
	for _, want := range []string{
		wantReturned,
		`ngxkeep_upstream_connections_opened_total{peer="10.0.0.2:80",upstream="app"} 1.234567e+06` + "\n",
		`ngxkeep_upstream_requests_total{peer="10.0.0.10:80",upstream="app"} 1.152921504606847e+18` + "\n",
		`ngxkeep_upstream_connections_idle{peer="10.0.0.2:80",upstream="app"} -1` + "\n",
		// closed: by peer, then reason, then upstream.
		`ngxkeep_upstream_connections_closed_total{peer="10.0.0.2:80",reason="keepalive_requests",upstream="Ab"} 0
ngxkeep_upstream_connections_closed_total{peer="10.0.0.2:80",reason="keepalive_requests",upstream="app"} 5
ngxkeep_upstream_connections_closed_total{peer="10.0.0.2:80",reason="keepalive_time",upstream="Ab"} 0
`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack\n%s\ngot\n%s", want, body)
		}
	}
	var names []string
	for _, line := range strings.Split(body, "\n") {
		if name, ok := strings.CutPrefix(line, "# TYPE "); ok {
			names = append(names, strings.Fields(name)[0])
		}
	}
	if len(names) != 7 || !slices.IsSorted(names) {
		t.Errorf("families %v, want 7 sorted by name", names)
	}
	if n := strings.Count(body, "ngxkeep_upstream_connections_closed_total{"); n != 4*int(numCloseReasons) {
		t.Errorf("%d closed samples, want %d", n, 4*int(numCloseReasons))
	}

	// names keeps only the named families.
	out.Reset()
	WriteMetrics(&out, exposeStats(), []string{"ngxkeep_upstream_connections_returned_total"})
	if got := out.String(); got != wantReturned {
		t.Errorf("filtered:\n%s", got)
	}

	// No peers, no families.
	out.Reset()
	WriteMetrics(&out, newStats(), nil)
	if out.Len() != 0 {
		t.Errorf("empty stats gave %q", out.String())
	}
}
