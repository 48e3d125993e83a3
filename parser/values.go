package parser

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// errValue is wrapped by every value parsing error.
var errValue = errors.New("invalid value")

// ParseTime parses a time the way nginx's millisecond directives do
// (ngx_parse_time with is_sec = 0, used by keepalive_timeout,
// proxy_read_timeout, ...): a number with an optional unit, units in
// decreasing order and each at most once: "w" weeks, "d" days, "h" hours,
// "m" minutes, "s" seconds, "ms" milliseconds, e.g. "1h30m", "1m 30s",
// "500ms". A bare number is seconds. "M" and "y" are rejected here as nginx
// rejects them for millisecond values; see ParseTimeSec.
func ParseTime(s string) (time.Duration, error) {
	ms, err := parseTime(s, false)
	if err != nil {
		return 0, err
	}
	if ms > math.MaxInt64/int64(time.Millisecond) {
		return 0, fmt.Errorf("%w: time %q is too large", errValue, s)
	}
	return time.Duration(ms) * time.Millisecond, nil
}

// ParseTimeSec parses a time the way nginx's second-resolution directives
// do (ngx_parse_time with is_sec = 1: ssl_session_timeout,
// open_file_cache_valid, ...): like ParseTime but with "y" (365 days) and
// "M" (30 days) allowed and "ms" rejected.
func ParseTimeSec(s string) (time.Duration, error) {
	sec, err := parseTime(s, true)
	if err != nil {
		return 0, err
	}
	if sec > math.MaxInt64/int64(time.Second) {
		return 0, fmt.Errorf("%w: time %q is too large", errValue, s)
	}
	return time.Duration(sec) * time.Second, nil
}

// parseTime mirrors ngx_parse_time; it returns milliseconds, or seconds
// when isSec.
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
	bad := func() (int64, error) { return 0, fmt.Errorf("%w: invalid time %q", errValue, s) }
	const maxInt = math.MaxInt64
	step := stStart
	if !isSec {
		step = stMonth
	}
	var value, total int64
	valid := false
	for i := 0; i < len(s); {
		c := s[i]
		if c >= '0' && c <= '9' {
			if value > (maxInt-int64(c-'0'))/10 {
				return bad()
			}
			value = value*10 + int64(c-'0')
			valid = true
			i++
			continue
		}
		i++
		var scale int64
		switch c {
		case 'y':
			if step > stStart {
				return bad()
			}
			step, scale = stYear, 60*60*24*365
		case 'M':
			if step >= stMonth {
				return bad()
			}
			step, scale = stMonth, 60*60*24*30
		case 'w':
			if step >= stWeek {
				return bad()
			}
			step, scale = stWeek, 60*60*24*7
		case 'd':
			if step >= stDay {
				return bad()
			}
			step, scale = stDay, 60*60*24
		case 'h':
			if step >= stHour {
				return bad()
			}
			step, scale = stHour, 60*60
		case 'm':
			if i < len(s) && s[i] == 's' {
				if isSec || step >= stMsec {
					return bad()
				}
				i++
				step, scale = stMsec, 1
				break
			}
			if step >= stMin {
				return bad()
			}
			step, scale = stMin, 60
		case 's':
			if step >= stSec {
				return bad()
			}
			step, scale = stSec, 1
		case ' ':
			if step >= stSec {
				return bad()
			}
			step, scale = stLast, 1
		default:
			return bad()
		}
		if step != stMsec && !isSec {
			scale *= 1000
		}
		if value > maxInt/scale {
			return bad()
		}
		value *= scale
		if total > maxInt-value {
			return bad()
		}
		total += value
		value = 0
		for i < len(s) && s[i] == ' ' {
			i++
		}
	}
	if !valid {
		return bad()
	}
	if !isSec {
		if value > maxInt/1000 {
			return bad()
		}
		value *= 1000
	}
	if total > maxInt-value {
		return bad()
	}
	return total + value, nil
}

// ParseSize parses a size the way nginx's size directives do
// (ngx_parse_size: client_body_buffer_size, proxy_buffer_size, ...):
// digits with an optional "k"/"K" or "m"/"M" suffix.
func ParseSize(s string) (int64, error) {
	return parseScaled(s, "km")
}

// ParseOffset parses a size that may also use "g"/"G" (ngx_parse_offset:
// client_max_body_size, proxy_max_temp_file_size, ...).
func ParseOffset(s string) (int64, error) {
	return parseScaled(s, "kmg")
}

func parseScaled(s, units string) (int64, error) {
	if s == "" {
		return 0, fmt.Errorf("%w: empty size", errValue)
	}
	num := s
	scale := int64(1)
	switch u := s[len(s)-1] | 0x20; {
	case u == 'k' && strings.IndexByte(units, 'k') >= 0:
		scale, num = 1<<10, s[:len(s)-1]
	case u == 'm' && strings.IndexByte(units, 'm') >= 0:
		scale, num = 1<<20, s[:len(s)-1]
	case u == 'g' && strings.IndexByte(units, 'g') >= 0:
		scale, num = 1<<30, s[:len(s)-1]
	}
	if num == "" {
		return 0, fmt.Errorf("%w: invalid size %q", errValue, s)
	}
	var n int64
	for i := 0; i < len(num); i++ {
		c := num[i]
		if c < '0' || c > '9' || n > (math.MaxInt64-int64(c-'0'))/10 {
			return 0, fmt.Errorf("%w: invalid size %q", errValue, s)
		}
		n = n*10 + int64(c-'0')
	}
	if n > math.MaxInt64/scale {
		return 0, fmt.Errorf("%w: invalid size %q", errValue, s)
	}
	return n * scale, nil
}

// ParseFlag parses "on" or "off", in any letter case
// (ngx_conf_set_flag_slot).
func ParseFlag(s string) (bool, error) {
	switch {
	case strings.EqualFold(s, "on"):
		return true, nil
	case strings.EqualFold(s, "off"):
		return false, nil
	}
	return false, fmt.Errorf("%w: %q, it must be \"on\" or \"off\"", errValue, s)
}
