package upstream

import (
	"encoding/json"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ngxkeep/ngxkeep/runtime/config"
)

func TestAdminHandler(t *testing.T) {
	b := newBackend(t, okHandler("x"))
	e := newEnv(t, []*config.Upstream{ups("app", ka(1), b.addr())})
	p := e.proxy(http11("http://app"))
	e.start()
	for i := 0; i < 3; i++ {
		e.do(p, get("GET", "/"))
	}
	h := AdminHandler(e.set.Stats())

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`ngxkeep_upstream_connections_opened_total{peer="` + b.addr() + `",upstream="app"} 1`,
		`ngxkeep_upstream_connections_reused_total{peer="` + b.addr() + `",upstream="app"} 2`,
		`ngxkeep_upstream_connections_idle{peer="` + b.addr() + `",upstream="app"} 1`,
		`ngxkeep_upstream_connections_closed_total{peer="` + b.addr() + `",reason="evicted_lru",upstream="app"} 0`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %s\n%s", want, body)
		}
	}

	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/upstreams", nil))
	var snap struct {
		Upstreams []UpstreamSnapshot `json:"upstreams"`
	}
	if err := json.NewDecoder(rec.Body).Decode(&snap); err != nil {
		t.Fatal(err)
	}
	if len(snap.Upstreams) != 1 || snap.Upstreams[0].Totals.Requests != 3 || snap.Upstreams[0].Totals.Reused != 2 {
		t.Fatalf("%+v", snap)
	}
}
