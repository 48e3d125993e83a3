package upstream

import (
	"bufio"
	"encoding/json"
	"io"
	"slices"
	"strconv"
	"strings"
)

// WriteSnapshotJSON writes the counters of stats as the indented JSON
// object {"upstreams": [UpstreamSnapshot...]}, what an admin listener
// serves at /upstreams.
func WriteSnapshotJSON(w io.Writer, stats *Stats) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	snap := stats.Snapshot()
	if snap == nil {
		snap = []UpstreamSnapshot{}
	}
	return enc.Encode(map[string]any{"upstreams": snap})
}

// MetricsContentType is the media type of WriteMetrics' output: the
// Prometheus text exposition format 0.0.4, spelled as Prometheus' own
// client library sends it.
const MetricsContentType = "text/plain; version=0.0.4; charset=utf-8; escaping=underscores"

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

// WriteMetrics writes the counters of stats in the Prometheus text
// exposition format (see MetricsContentType), what an admin listener
// serves at /metrics. When names is not empty, only the families it names
// are written (the name[] filter of Prometheus' handler).
func WriteMetrics(w io.Writer, stats *Stats, names []string) error {
	bw := bufio.NewWriter(w)
	writeMetrics(bw, stats.Snapshot(), names)
	return bw.Flush()
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
