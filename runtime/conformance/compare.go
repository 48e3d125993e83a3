package conformance

import (
	"fmt"
	"os"
	"regexp"
	"strings"
)

// Equal reports whether two transcripts have the same observations.
func Equal(a, b []Obs) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// SideBySide renders two transcripts of sc in two columns. Lines are paired
// within the step that produced them, under that step's script line; rows
// that differ are marked "!".
func SideBySide(sc *Scenario, leftName string, left []Obs, rightName string, right []Obs) string {
	type row struct {
		step int
		l, r string
	}
	const none = "(nothing)"
	var rows []row
	i, j := 0, 0
	for i < len(left) || j < len(right) {
		step := -1
		switch {
		case i < len(left) && j < len(right):
			step = min(left[i].Step, right[j].Step)
		case i < len(left):
			step = left[i].Step
		default:
			step = right[j].Step
		}
		var ls, rs []string
		for ; i < len(left) && left[i].Step == step; i++ {
			ls = append(ls, left[i].Text)
		}
		for ; j < len(right) && right[j].Step == step; j++ {
			rs = append(rs, right[j].Text)
		}
		for k := 0; k < max(len(ls), len(rs)); k++ {
			rw := row{step: step, l: none, r: none}
			if k < len(ls) {
				rw.l = ls[k]
			}
			if k < len(rs) {
				rw.r = rs[k]
			}
			rows = append(rows, rw)
		}
	}
	width := len(leftName)
	for _, r := range rows {
		width = max(width, len(r.l))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s)\n", sc.Name, sc.File)
	fmt.Fprintf(&b, "  %-*s │ %s\n", width, leftName, rightName)
	lastStep := -2
	for _, r := range rows {
		if r.step != lastStep {
			lastStep = r.step
			if r.step >= 0 && r.step < len(sc.Steps) {
				fmt.Fprintf(&b, "  line %d: %s\n", sc.Steps[r.step].Line, sc.Steps[r.step].Text)
			}
		}
		mark := " "
		if r.l != r.r {
			mark = "!"
		}
		fmt.Fprintf(&b, "%s %-*s │ %s\n", mark, width, r.l, r.r)
	}
	return b.String()
}

// KnownDifference is one documented, accepted difference between ngxkeep and
// nginx for a scenario.
type KnownDifference struct {
	Scenario string
	Reason   string
}

var knownRE = regexp.MustCompile("^- `([^`]+)`: *(.+)$")

// LoadKnownDifferences reads the list kept in KNOWN_DIFFERENCES.md: one
// "- `scenario`: reason" line per entry.
func LoadKnownDifferences(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if os.IsNotExist(err) {
			return map[string]string{}, nil
		}
		return nil, err
	}
	out := map[string]string{}
	for i, line := range strings.Split(string(data), "\n") {
		if !strings.HasPrefix(line, "- `") {
			continue
		}
		m := knownRE.FindStringSubmatch(strings.TrimSpace(line))
		if m == nil || strings.TrimSpace(m[2]) == "" {
			return nil, fmt.Errorf("%s:%d: want \"- `scenario`: reason\"", path, i+1)
		}
		out[m[1]] = m[2]
	}
	return out, nil
}

// Rewrite returns the scenario file with its "> " observation lines replaced
// by obs (used by -conformance.update to record what nginx did).
func Rewrite(sc *Scenario, obs []Obs) []byte {
	raw := string(sc.raw)
	marker := "-- script --\n"
	start := strings.Index(raw, marker)
	if start < 0 {
		return sc.raw
	}
	start += len(marker)
	end := len(raw)
	if k := strings.Index(raw[start:], "\n-- "); k >= 0 {
		end = start + k + 1
	}
	byStep := map[int][]string{}
	for _, o := range obs {
		byStep[o.Step] = append(byStep[o.Step], o.Text)
	}
	stepAt := map[int]int{}
	for i, st := range sc.Steps {
		stepAt[st.Line] = i
	}
	lines := strings.SplitAfter(raw[start:end], "\n")
	var b strings.Builder
	for k, line := range lines {
		if strings.HasPrefix(strings.TrimSpace(line), ">") {
			continue
		}
		b.WriteString(line)
		if i, ok := stepAt[sc.scriptLine+k]; ok {
			if !strings.HasSuffix(line, "\n") {
				b.WriteString("\n")
			}
			for _, t := range byStep[i] {
				b.WriteString("> " + t + "\n")
			}
		}
	}
	return []byte(raw[:start] + b.String() + raw[end:])
}
