package main

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"text/tabwriter"
)

// Results is everything one driver run measured; it is printed as a table
// or, with --json, encoded as is.
type Results struct {
	Machine    Machine  `json:"machine"`
	Started    string   `json:"started"`
	Finished   string   `json:"finished"`
	Runs       int      `json:"runs"`
	Duration   string   `json:"wrk_duration"`
	LoadBefore string   `json:"loadavg_before"`
	LoadAfter  string   `json:"loadavg_after"`
	Ours       string   `json:"ours,omitempty"` // how our servers ran
	Suites     []*Suite `json:"suites"`
}

// Suite holds one suite's measurements and targets.
type Suite struct {
	Name     string     `json:"name"`
	Measures []*Measure `json:"measures"`
	Targets  []*Target  `json:"targets"`
	// Skipped lists comparisons that did not run, one line each.
	Skipped []string `json:"skipped,omitempty"`
	// Notes say how something was measured when it matters for reading.
	Notes []string `json:"notes,omitempty"`
}

// Measure is one metric of one tool in one case, over all runs.
type Measure struct {
	Key     string    `json:"key"`
	Case    string    `json:"case"`
	Tool    string    `json:"tool"`
	Metric  string    `json:"metric"`
	Unit    string    `json:"unit"`
	Samples []float64 `json:"samples"`
	Median  float64   `json:"median"`
	Min     float64   `json:"min"`
	Max     float64   `json:"max"`
	Q1      float64   `json:"q1"`
	Q3      float64   `json:"q3"`
	// Loads are the 1-minute load averages read at each sample.
	Loads []float64 `json:"loadavg_1m,omitempty"`
}

// Target is a goal: a ratio of two medians (ours / reference), or one
// median (Den empty), compared with Limit by Op.
type Target struct {
	Name  string  `json:"name"`
	Num   string  `json:"numerator"`
	Den   string  `json:"denominator,omitempty"`
	Op    string  `json:"op,omitempty"` // "<=", ">=", "~=" (within Tol relative); "" = information only
	Limit float64 `json:"limit"`
	Tol   float64 `json:"tolerance,omitempty"`
	Value float64 `json:"value"`
	// Status is PASS, FAIL or "n/a" when a side is missing.
	Status string `json:"status"`
	Note   string `json:"note,omitempty"`
}

func (r *Results) suite(name string) *Suite {
	for _, s := range r.Suites {
		if s.Name == name {
			return s
		}
	}
	s := &Suite{Name: name}
	r.Suites = append(r.Suites, s)
	return s
}

// add appends one sample to the measure key, creating it.
func (s *Suite) add(cas, tool, metric, unit string, v float64) {
	key := cas + "/" + tool + "/" + metric
	for _, m := range s.Measures {
		if m.Key == key {
			m.Samples = append(m.Samples, v)
			m.Loads = append(m.Loads, load1())
			return
		}
	}
	s.Measures = append(s.Measures, &Measure{Key: key, Case: cas, Tool: tool, Metric: metric, Unit: unit,
		Samples: []float64{v}, Loads: []float64{load1()}})
}

func (s *Suite) skip(format string, args ...any) {
	s.Skipped = append(s.Skipped, fmt.Sprintf(format, args...))
}

func (s *Suite) note(format string, args ...any) {
	s.Notes = append(s.Notes, fmt.Sprintf(format, args...))
}

func (s *Suite) target(t Target) { s.Targets = append(s.Targets, &t) }

func (s *Suite) measure(key string) *Measure {
	for _, m := range s.Measures {
		if m.Key == key {
			return m
		}
	}
	return nil
}

// evaluate computes the statistics of every measure and the value and
// status of every target.
func (r *Results) evaluate() {
	for _, s := range r.Suites {
		for _, m := range s.Measures {
			m.Median, m.Min, m.Max, m.Q1, m.Q3 = summarize(m.Samples)
		}
		for _, t := range s.Targets {
			t.Status = "n/a"
			num := s.measure(t.Num)
			if num == nil || len(num.Samples) == 0 {
				continue
			}
			t.Value = num.Median
			if t.Den != "" {
				den := s.measure(t.Den)
				if den == nil || len(den.Samples) == 0 || den.Median == 0 {
					continue
				}
				t.Value = num.Median / den.Median
			}
			switch {
			case t.Op == "":
				t.Status = "info"
			case t.pass():
				t.Status = "PASS"
			default:
				t.Status = "FAIL"
			}
		}
	}
}

func (t *Target) pass() bool {
	switch t.Op {
	case "<=":
		return t.Value <= t.Limit
	case ">=":
		return t.Value >= t.Limit
	case "~=":
		return math.Abs(t.Value-t.Limit) <= t.Tol*math.Max(math.Abs(t.Limit), 1e-9)
	}
	return false
}

func (t *Target) goal() string {
	switch t.Op {
	case "<=":
		return "≤ " + trimFloat(t.Limit)
	case ">=":
		return "≥ " + trimFloat(t.Limit)
	case "~=":
		return fmt.Sprintf("%s ±%.0f%%", trimFloat(t.Limit), t.Tol*100)
	case "":
		return "–"
	}
	return t.Op + " " + trimFloat(t.Limit)
}

// summarize returns the median, min, max and quartiles of xs (linear
// interpolation between order statistics, as numpy's default).
func summarize(xs []float64) (median, lo, hi, q1, q3 float64) {
	if len(xs) == 0 {
		return
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return quantile(s, 0.5), s[0], s[len(s)-1], quantile(s, 0.25), quantile(s, 0.75)
}

func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 1 {
		return sorted[0]
	}
	pos := q * float64(len(sorted)-1)
	i := int(pos)
	if i >= len(sorted)-1 {
		return sorted[len(sorted)-1]
	}
	f := pos - float64(i)
	return sorted[i] + f*(sorted[i+1]-sorted[i])
}

// format prints v with 3 significant digits (more for large numbers,
// without exponent).
func format(v float64) string {
	a := math.Abs(v)
	switch {
	case v == 0:
		return "0"
	case a >= 1000:
		return fmt.Sprintf("%.0f", v)
	case a >= 100:
		return fmt.Sprintf("%.1f", v)
	case a >= 10:
		return fmt.Sprintf("%.2f", v)
	case a >= 1:
		return fmt.Sprintf("%.3f", v)
	default:
		return fmt.Sprintf("%.3g", v)
	}
}

func trimFloat(v float64) string {
	s := fmt.Sprintf("%.2f", v)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s
}

func (r *Results) writeText(w io.Writer) {
	m := r.Machine
	fmt.Fprintf(w, "ngxbench run %s – %s\n", r.Started, r.Finished)
	fmt.Fprintf(w, "machine: %d CPU (%s), %s RAM, kernel %s, %s\n", m.NProc, m.CPU, m.Memory, m.Kernel, m.GoVersion)
	fmt.Fprintf(w, "tools: %s\n", strings.Join(m.toolList(), "; "))
	fmt.Fprintf(w, "load average (1/5/15 min): before %s, after %s\n", r.LoadBefore, r.LoadAfter)
	if r.Ours != "" {
		fmt.Fprintf(w, "our servers: %s\n", r.Ours)
	}
	fmt.Fprintf(w, "method: %d runs per measurement, alternating ours and the references; median and min–max over the runs; ratios are ratios of medians; wrk runs %s\n", r.Runs, r.Duration)
	for _, s := range r.Suites {
		fmt.Fprintf(w, "\n== %s\n", s.Name)
		if len(s.Measures) > 0 {
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "case\ttool\tmetric\tmedian\tmin–max\tIQR\tunit\tn\tload 1m\t")
			for _, m := range s.Measures {
				_, lmin, lmax, _, _ := summarize(m.Loads)
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s–%s\t%s–%s\t%s\t%d\t%.1f–%.1f\t\n", m.Case, m.Tool, m.Metric,
					format(m.Median), format(m.Min), format(m.Max), format(m.Q1), format(m.Q3), m.Unit, len(m.Samples), lmin, lmax)
			}
			tw.Flush()
		}
		if len(s.Targets) > 0 {
			fmt.Fprintln(w)
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "target\tvalue\tgoal\tresult\t")
			for _, t := range s.Targets {
				val := "–"
				if t.Status != "n/a" {
					val = format(t.Value)
				}
				line := fmt.Sprintf("%s\t%s\t%s\t%s\t", t.Name, val, t.goal(), t.Status)
				if t.Note != "" {
					line += " " + t.Note
				}
				fmt.Fprintln(tw, line)
			}
			tw.Flush()
		}
		for _, sk := range s.Skipped {
			fmt.Fprintf(w, "skipped: %s\n", sk)
		}
		for _, n := range s.Notes {
			fmt.Fprintf(w, "note: %s\n", n)
		}
	}
	var missed []string
	for _, s := range r.Suites {
		for _, t := range s.Targets {
			if t.Status == "FAIL" {
				missed = append(missed, fmt.Sprintf("%s: %s = %s (goal %s)", s.Name, t.Name, format(t.Value), t.goal()))
			}
		}
	}
	if len(missed) > 0 {
		fmt.Fprintf(w, "\nTargets not reached (%d):\n", len(missed))
		for _, x := range missed {
			fmt.Fprintf(w, "  - %s\n", x)
		}
	}
}
