package upstream

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// AdminHandler serves the counters of stats: Prometheus text format at
// /metrics and a JSON snapshot at /upstreams (and at /). It is meant for
// an admin listener such as `--admin 127.0.0.1:PORT`.
func AdminHandler(stats *Stats) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		serveMetrics(w, r, stats)
	})
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

// metricsContentType is the media type of the Prometheus text exposition
// format 0.0.4, spelled as Prometheus' own client library sends it.
const metricsContentType = "text/plain; version=0.0.4; charset=utf-8; escaping=underscores"

// family is one metric family of /metrics: every peer has one sample of
// it (one per close reason when reason is set).
type family struct {
	name, help, typ string
	reason          bool // labelled by close reason too
	value           func(p *PeerSnapshot) int64
}

// families are sorted by name, the order in which the exposition lists
// them.
var families = []family{
	{"ngxkeep_upstream_connections_closed_total", "Upstream connections closed, by reason.", "counter", true, nil},
	{"ngxkeep_upstream_connections_idle", "Upstream connections idle in the keep-alive caches.", "gauge", false, func(p *PeerSnapshot) int64 { return p.Idle }},
	{"ngxkeep_upstream_connections_opened_total", "Upstream connections opened.", "counter", false, func(p *PeerSnapshot) int64 { return p.Opened }},
	{"ngxkeep_upstream_connections_returned_total", "Upstream connections saved into the keep-alive cache.", "counter", false, func(p *PeerSnapshot) int64 { return p.Returned }},
	{"ngxkeep_upstream_connections_reused_total", "Upstream connections taken from the keep-alive cache.", "counter", false, func(p *PeerSnapshot) int64 { return p.Reused }},
	{"ngxkeep_upstream_failures_total", "Failed attempts counted toward max_fails.", "counter", false, func(p *PeerSnapshot) int64 { return p.Failures }},
	{"ngxkeep_upstream_requests_total", "Attempts sent to the peer (retries included).", "counter", false, func(p *PeerSnapshot) int64 { return p.Requests }},
}

// serveMetrics writes the Prometheus text exposition (format 0.0.4) of
// stats, gzip-compressed when the client prefers it, and filtered by the
// name[] query parameters when there are any.
func serveMetrics(w http.ResponseWriter, r *http.Request, stats *Stats) {
	h := w.Header()
	h.Add("Vary", "Accept")
	h.Add("Vary", "Accept-Encoding")
	h.Set("Content-Type", metricsContentType)
	var out io.Writer = w
	if acceptsGzip(r.Header.Values("Accept-Encoding")) {
		h.Set("Content-Encoding", "gzip")
		gz := gzip.NewWriter(w)
		defer gz.Close()
		out = gz
	}
	bw := bufio.NewWriter(out)
	writeMetrics(bw, stats.Snapshot(), r.URL.Query()["name[]"])
	_ = bw.Flush()
}

// writeMetrics writes the families of peers in the text exposition
// format: families by name, samples by their label values in label-name
// order (peer, reason, upstream), as Prometheus' registry sorts them.
// Families without a sample, or not in names when names is not empty,
// are left out.
func writeMetrics(w *bufio.Writer, snap []UpstreamSnapshot, names []string) {
	var peers []*PeerSnapshot
	for i := range snap {
		for j := range snap[i].Peers {
			peers = append(peers, &snap[i].Peers[j])
		}
	}
	if len(peers) == 0 {
		return
	}
	slices.SortStableFunc(peers, func(a, b *PeerSnapshot) int {
		if c := strings.Compare(a.Peer, b.Peer); c != 0 {
			return c
		}
		return strings.Compare(a.Upstream, b.Upstream)
	})
	reasons := make([]string, 0, numCloseReasons)
	for _, r := range CloseReasons() {
		reasons = append(reasons, r.String())
	}
	slices.Sort(reasons)
	for _, f := range families {
		if len(names) > 0 && !slices.Contains(names, f.name) {
			continue
		}
		w.WriteString("# HELP " + f.name + " ")
		helpEscaper.WriteString(w, f.help)
		w.WriteString("\n# TYPE " + f.name + " " + f.typ + "\n")
		if !f.reason {
			for _, p := range peers {
				writeSample(w, f.name, p, "", f.value(p))
			}
			continue
		}
		// Samples sort by peer, then reason, then upstream.
		for i := 0; i < len(peers); {
			j := i + 1
			for j < len(peers) && peers[j].Peer == peers[i].Peer {
				j++
			}
			for _, reason := range reasons {
				for _, p := range peers[i:j] {
					writeSample(w, f.name, p, reason, p.Closed[reason])
				}
			}
			i = j
		}
	}
}

var (
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
	labelEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
)

// writeSample writes one line `name{peer="…",reason="…",upstream="…"} v`;
// reason is left out when empty.
func writeSample(w *bufio.Writer, name string, p *PeerSnapshot, reason string, v int64) {
	w.WriteString(name)
	w.WriteString(`{peer="`)
	labelEscaper.WriteString(w, p.Peer)
	if reason != "" {
		w.WriteString(`",reason="`)
		labelEscaper.WriteString(w, reason)
	}
	w.WriteString(`",upstream="`)
	labelEscaper.WriteString(w, p.Upstream)
	w.WriteString(`"} `)
	// The exposition's numbers are floats: 1234567 is 1.234567e+06.
	var buf [32]byte
	w.Write(strconv.AppendFloat(buf[:0], float64(v), 'g', -1, 64))
	w.WriteByte('\n')
}

// acceptsGzip reports whether the Accept-Encoding values rate gzip higher
// than identity (ties go to identity), the negotiation Prometheus' client
// library does between the two.
func acceptsGzip(values []string) bool {
	identity, gz := -1.0, -1.0
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			coding, params, _ := strings.Cut(part, ";")
			coding = strings.TrimSpace(coding)
			q := 1.0
			if params = strings.TrimSpace(params); params != "" {
				qs, ok := strings.CutPrefix(params, "q=")
				if !ok {
					continue
				}
				f, err := strconv.ParseFloat(strings.TrimSpace(qs), 64)
				if err != nil || f < 0 || f > 1 {
					continue
				}
				q = f
			}
			if coding == "identity" || coding == "*" {
				identity = max(identity, q)
			}
			if coding == "gzip" || coding == "*" {
				gz = max(gz, q)
			}
		}
	}
	return gz > identity && gz > 0
}
