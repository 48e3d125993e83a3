package main

import (
	"context"
	"fmt"
	"math"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// wrkResult is what one wrk run reports.
type wrkResult struct {
	RPS      float64
	Requests int64
	P50, P99 time.Duration // from --latency's distribution
	Errors   string        // socket errors and non-2xx/3xx responses, "" if none
}

// parseWrk reads wrk's text report (with --latency).
func parseWrk(out string) (wrkResult, error) {
	var r wrkResult
	var have50, have99, haveRPS bool
	var errs []string
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		switch {
		case f[0] == "Requests/sec:" && len(f) >= 2:
			v, err := strconv.ParseFloat(f[1], 64)
			if err != nil {
				return r, fmt.Errorf("wrk: bad Requests/sec %q", f[1])
			}
			r.RPS, haveRPS = v, true
		case (f[0] == "50%" || f[0] == "99%") && len(f) >= 2:
			d, err := parseWrkDuration(f[1])
			if err != nil {
				return r, err
			}
			if f[0] == "50%" {
				r.P50, have50 = d, true
			} else {
				r.P99, have99 = d, true
			}
		case len(f) >= 3 && f[1] == "requests" && f[2] == "in":
			n, err := strconv.ParseInt(f[0], 10, 64)
			if err == nil {
				r.Requests = n
			}
		case f[0] == "Socket" && len(f) >= 2 && f[1] == "errors:":
			errs = append(errs, strings.TrimSpace(line))
		case strings.HasPrefix(strings.TrimSpace(line), "Non-2xx or 3xx responses:"):
			errs = append(errs, strings.TrimSpace(line))
		}
	}
	if !haveRPS || !have50 || !have99 {
		return r, fmt.Errorf("wrk: no Requests/sec or latency distribution in its output: %s", firstLines(out, 4))
	}
	r.Errors = strings.Join(errs, "; ")
	return r, nil
}

// parseWrkDuration parses wrk's "512.00us", "1.23ms", "2.01s", "1.00m".
func parseWrkDuration(s string) (time.Duration, error) {
	units := []struct {
		suffix string
		d      time.Duration
	}{{"us", time.Microsecond}, {"ms", time.Millisecond}, {"s", time.Second}, {"m", time.Minute}, {"h", time.Hour}}
	for _, u := range units {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return 0, fmt.Errorf("wrk: bad duration %q", s)
			}
			return time.Duration(math.Round(f * float64(u.d))), nil
		}
	}
	return 0, fmt.Errorf("wrk: bad duration %q", s)
}

// runWrk runs `wrk -t2 -c64 -dD --latency URL`.
func (b *bench) runWrk(wrk, url string, d time.Duration, latency bool) (wrkResult, error) {
	args := []string{"-t2", "-c64", "-d" + wrkSeconds(d), "--timeout", "5s"}
	if latency {
		args = append(args, "--latency")
	}
	args = append(args, url)
	ctx, cancel := context.WithTimeout(b.ctx, d+30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, wrk, args...).CombinedOutput()
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk %s: %v: %s", strings.Join(args, " "), err, firstLines(string(out), 3))
	}
	if !latency {
		return wrkResult{}, nil
	}
	return parseWrk(string(out))
}

// wrkSeconds renders a duration for wrk's -d, which takes whole seconds
// (rounded up, at least 1).
func wrkSeconds(d time.Duration) string {
	s := int((d + time.Second - 1) / time.Second)
	return fmt.Sprintf("%ds", max(s, 1))
}
