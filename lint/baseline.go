package lint

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// Baseline records accepted findings so that later runs report only new
// ones. A finding is identified by its fingerprint: rule, file and the path
// of names and arguments of its directive and enclosing blocks (for
// example http/server[listen=80 server_name=a]/location(/api)/proxy_pass(...)),
// never line numbers, so the baseline survives unrelated edits. Identical
// fingerprints are counted, never merged: two findings need two entries.
type Baseline struct {
	Version  int             `json:"version"`
	Findings []BaselineEntry `json:"findings"`
}

// BaselineEntry is one accepted finding. Rule, File, Path and Message are
// for readers; Fingerprint is what is matched.
type BaselineEntry struct {
	Fingerprint string `json:"fingerprint"`
	Rule        string `json:"rule"`
	File        string `json:"file"`
	Path        string `json:"path"`
	Message     string `json:"message"`
}

func fingerprint(key string) string {
	h := sum256([]byte(key))
	return hex.EncodeToString(h[:12])
}

// NewBaseline records the findings of r.
func NewBaseline(r *Result) *Baseline {
	b := &Baseline{Version: 1, Findings: []BaselineEntry{}}
	for _, f := range r.Findings {
		_, path, _ := strings.Cut(strings.TrimPrefix(f.baselineKey(), f.Rule+"|"), "|")
		b.Findings = append(b.Findings, BaselineEntry{Fingerprint: fingerprint(f.baselineKey()), Rule: f.Rule,
			File: f.File, Path: path, Message: f.Message})
	}
	return b
}

// Write writes the baseline as indented JSON.
func (b *Baseline) Write(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(b)
}

// ReadBaseline reads a baseline file.
func ReadBaseline(path string) (*Baseline, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var b Baseline
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, fmt.Errorf("%s: not a ngxkeep baseline: %v", path, err)
	}
	if b.Version != 1 {
		return nil, fmt.Errorf("%s: unsupported baseline version %d", path, b.Version)
	}
	for i, e := range b.Findings {
		if e.Fingerprint == "" {
			return nil, fmt.Errorf("%s: finding %d has no fingerprint", path, i+1)
		}
	}
	return &b, nil
}

// filter drops findings the baseline records (each entry accepts one
// finding) and returns the rest and the number dropped.
func (b *Baseline) filter(fs []*Finding) ([]*Finding, int) {
	left := map[string]int{}
	for _, e := range b.Findings {
		left[e.Fingerprint]++
	}
	out := slices.Clone(fs)[:0]
	n := 0
	for _, f := range fs {
		fp := fingerprint(f.baselineKey())
		if left[fp] > 0 {
			left[fp]--
			n++
			continue
		}
		out = append(out, f)
	}
	return out, n
}
