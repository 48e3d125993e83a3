package upstream

import (
	"encoding/json"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// AdminHandler serves the counters of stats: Prometheus text format at
// /metrics and a JSON snapshot at /upstreams (and at /). It is meant for
// an admin listener such as `--admin 127.0.0.1:PORT`.
func AdminHandler(stats *Stats) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(&collector{stats: stats})
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	snapshot := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		snap := stats.Snapshot()
		if snap == nil {
			snap = []UpstreamSnapshot{}
		}
		_ = enc.Encode(map[string]any{"upstreams": snap})
	}
	mux.HandleFunc("GET /upstreams", snapshot)
	mux.HandleFunc("GET /{$}", snapshot)
	return mux
}

var (
	descOpened   = prometheus.NewDesc("ngxkeep_upstream_connections_opened_total", "Upstream connections opened.", []string{"upstream", "peer"}, nil)
	descReused   = prometheus.NewDesc("ngxkeep_upstream_connections_reused_total", "Upstream connections taken from the keep-alive cache.", []string{"upstream", "peer"}, nil)
	descReturned = prometheus.NewDesc("ngxkeep_upstream_connections_returned_total", "Upstream connections saved into the keep-alive cache.", []string{"upstream", "peer"}, nil)
	descClosed   = prometheus.NewDesc("ngxkeep_upstream_connections_closed_total", "Upstream connections closed, by reason.", []string{"upstream", "peer", "reason"}, nil)
	descIdle     = prometheus.NewDesc("ngxkeep_upstream_connections_idle", "Upstream connections idle in the keep-alive caches.", []string{"upstream", "peer"}, nil)
	descRequests = prometheus.NewDesc("ngxkeep_upstream_requests_total", "Attempts sent to the peer (retries included).", []string{"upstream", "peer"}, nil)
	descFailures = prometheus.NewDesc("ngxkeep_upstream_failures_total", "Failed attempts counted toward max_fails.", []string{"upstream", "peer"}, nil)
)

// collector exports Stats as constant metrics at scrape time.
type collector struct{ stats *Stats }

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descOpened, descReused, descReturned, descClosed, descIdle, descRequests, descFailures} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	for _, u := range c.stats.Snapshot() {
		for _, p := range u.Peers {
			lv := []string{p.Upstream, p.Peer}
			ch <- prometheus.MustNewConstMetric(descOpened, prometheus.CounterValue, float64(p.Opened), lv...)
			ch <- prometheus.MustNewConstMetric(descReused, prometheus.CounterValue, float64(p.Reused), lv...)
			ch <- prometheus.MustNewConstMetric(descReturned, prometheus.CounterValue, float64(p.Returned), lv...)
			ch <- prometheus.MustNewConstMetric(descIdle, prometheus.GaugeValue, float64(p.Idle), lv...)
			ch <- prometheus.MustNewConstMetric(descRequests, prometheus.CounterValue, float64(p.Requests), lv...)
			ch <- prometheus.MustNewConstMetric(descFailures, prometheus.CounterValue, float64(p.Failures), lv...)
			for _, r := range CloseReasons() {
				ch <- prometheus.MustNewConstMetric(descClosed, prometheus.CounterValue, float64(p.Closed[r.String()]), p.Upstream, p.Peer, r.String())
			}
		}
	}
}
