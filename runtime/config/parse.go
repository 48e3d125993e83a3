package config

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Version is the nginx version whose behaviour an Instance emulates.
type Version struct {
	Major, Minor, Patch int
}

// Versions where client-side behaviour the runtime emulates changed.
var (
	V1_19_2  = Version{1, 19, 2}  // idle connections reclaimed when < 1/16 of worker_connections are free
	V1_19_7  = Version{1, 19, 7}  // connections in lingering close are reusable (reclaimable)
	V1_19_9  = Version{1, 19, 9}  // client EOF while discarding a body closes the connection
	V1_19_10 = Version{1, 19, 10} // keepalive_time; keepalive_requests default 1000
	V1_21_6  = Version{1, 21, 6}  // no "Connection: keep-alive" while the worker shuts down
	V1_23_4  = Version{1, 23, 4}  // lingering close whenever the client pipelined
	V1_27_4  = Version{1, 27, 4}  // keepalive_min_timeout
)

// DefaultVersion is the version used when an Instance names none.
const DefaultVersion = "1.22.1"

// ParseVersion parses "1.22", "1.22.1" or "nginx/1.22.1".
func ParseVersion(s string) (Version, error) {
	t := strings.TrimPrefix(strings.TrimSpace(s), "nginx/")
	parts := strings.Split(t, ".")
	if len(parts) < 2 || len(parts) > 3 {
		return Version{}, fmt.Errorf("invalid nginx version %q: want MAJOR.MINOR or MAJOR.MINOR.PATCH", s)
	}
	var n [3]int
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil || v < 0 || p == "" || p[0] == '+' {
			return Version{}, fmt.Errorf("invalid nginx version %q: %q is not a number", s, p)
		}
		n[i] = v
	}
	return Version{n[0], n[1], n[2]}, nil
}

// AtLeast reports whether v >= o.
func (v Version) AtLeast(o Version) bool {
	if v.Major != o.Major {
		return v.Major > o.Major
	}
	if v.Minor != o.Minor {
		return v.Minor > o.Minor
	}
	return v.Patch >= o.Patch
}

// String formats v as "1.22.1" (or "1.22" when the patch is 0).
func (v Version) String() string {
	if v.Patch == 0 {
		return fmt.Sprintf("%d.%d", v.Major, v.Minor)
	}
	return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch)
}

var errTime = errors.New("invalid time value")

// ParseMsec parses an nginx time value in a millisecond context
// ("75s", "1h30m", "500ms", "30" = 30 seconds), like ngx_parse_time(s, 0):
// units ms, s, m, h, d, w in decreasing order, optionally separated by
// spaces; "M" (month) and "y" (year) are not accepted in this context.
func ParseMsec(s string) (time.Duration, error) {
	v, err := parseTime(s, false)
	if err != nil {
		return 0, fmt.Errorf("invalid time %q", s)
	}
	return time.Duration(v) * time.Millisecond, nil
}

// ParseSec parses an nginx time value in a seconds context (the second
// parameter of keepalive_timeout), like ngx_parse_time(s, 1): units s, m, h,
// d, w, M (30 days), y (365 days); "ms" is not accepted.
func ParseSec(s string) (time.Duration, error) {
	v, err := parseTime(s, true)
	if err != nil {
		return 0, fmt.Errorf("invalid time %q", s)
	}
	if v > math.MaxInt64/int64(time.Second) {
		return 0, fmt.Errorf("invalid time %q: too large", s)
	}
	return time.Duration(v) * time.Second, nil
}

// parseTime mirrors ngx_parse_time: it returns milliseconds (isSec false) or
// seconds (isSec true).
func parseTime(s string, isSec bool) (int64, error) {
	const (
		stStart = iota
		stYear
		stMonth
		stWeek
		stDay
		stHour
		stMin
		stSec
		stMsec
		stLast
	)
	const maxInt = math.MaxInt64
	step := stStart
	if !isSec {
		step = stMonth
	}
	var value, total int64
	valid := false
	cutoff, cutlim := int64(maxInt/10), int64(maxInt%10)
	p := 0
	for p < len(s) {
		ch := s[p]
		if ch >= '0' && ch <= '9' {
			d := int64(ch - '0')
			if value >= cutoff && (value > cutoff || d > cutlim) {
				return 0, errTime
			}
			value = value*10 + d
			valid = true
			p++
			continue
		}
		p++
		var max, scale int64
		switch ch {
		case 'y':
			if step > stStart {
				return 0, errTime
			}
			step, max, scale = stYear, maxInt/(60*60*24*365), 60*60*24*365
		case 'M':
			if step >= stMonth {
				return 0, errTime
			}
			step, max, scale = stMonth, maxInt/(60*60*24*30), 60*60*24*30
		case 'w':
			if step >= stWeek {
				return 0, errTime
			}
			step, max, scale = stWeek, maxInt/(60*60*24*7), 60*60*24*7
		case 'd':
			if step >= stDay {
				return 0, errTime
			}
			step, max, scale = stDay, maxInt/(60*60*24), 60*60*24
		case 'h':
			if step >= stHour {
				return 0, errTime
			}
			step, max, scale = stHour, maxInt/(60*60), 60*60
		case 'm':
			if p < len(s) && s[p] == 's' {
				if isSec || step >= stMsec {
					return 0, errTime
				}
				p++
				step, max, scale = stMsec, maxInt, 1
				break
			}
			if step >= stMin {
				return 0, errTime
			}
			step, max, scale = stMin, maxInt/60, 60
		case 's':
			if step >= stSec {
				return 0, errTime
			}
			step, max, scale = stSec, maxInt, 1
		case ' ':
			if step >= stSec {
				return 0, errTime
			}
			step, max, scale = stLast, maxInt, 1
		default:
			return 0, errTime
		}
		if step != stMsec && !isSec {
			scale *= 1000
			max /= 1000
		}
		if value > max {
			return 0, errTime
		}
		value *= scale
		if total > maxInt-value {
			return 0, errTime
		}
		total += value
		value = 0
		for p < len(s) && s[p] == ' ' {
			p++
		}
	}
	if !valid {
		return 0, errTime
	}
	if !isSec {
		if value > maxInt/1000 {
			return 0, errTime
		}
		value *= 1000
	}
	if total > maxInt-value {
		return 0, errTime
	}
	return total + value, nil
}

// ParseSize parses an nginx size ("1k", "8K", "1m", "512") like
// ngx_parse_size: units k and m, no g.
func ParseSize(s string) (int64, error) {
	return parseSize(s, false)
}

// ParseOffset parses an nginx offset ("1m", "2g", "0") like ngx_parse_offset:
// units k, m and g. client_max_body_size uses it.
func ParseOffset(s string) (int64, error) {
	return parseSize(s, true)
}

func parseSize(s string, allowG bool) (int64, error) {
	if s == "" {
		return 0, fmt.Errorf("invalid size %q", s)
	}
	scale := int64(1)
	num := s
	switch s[len(s)-1] {
	case 'k', 'K':
		scale, num = 1<<10, s[:len(s)-1]
	case 'm', 'M':
		scale, num = 1<<20, s[:len(s)-1]
	case 'g', 'G':
		if allowG {
			scale, num = 1<<30, s[:len(s)-1]
		}
	}
	if num == "" {
		return 0, fmt.Errorf("invalid size %q", s)
	}
	var v int64
	for i := 0; i < len(num); i++ {
		c := num[i]
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("invalid size %q", s)
		}
		if v > (math.MaxInt64-int64(c-'0'))/10 {
			return 0, fmt.Errorf("invalid size %q: too large", s)
		}
		v = v*10 + int64(c-'0')
	}
	if v > math.MaxInt64/scale {
		return 0, fmt.Errorf("invalid size %q: too large", s)
	}
	return v * scale, nil
}
