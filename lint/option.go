package lint

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Option is a rule setting users can change in .ngxkeep.hcl, inside the
// rule's block: rule "TO01" { backend_idle_timeout = "30s" }.
type Option struct {
	// Name is the attribute name in .ngxkeep.hcl (snake_case).
	Name string
	// Doc says what the option changes; shown by "ngxkeep explain".
	Doc string
	// Kind is the value's type.
	Kind OptionKind
	// Default is the value when the user sets none, written as a user
	// would write it ("75s", "1000", "true").
	Default string
}

// OptionKind is the type of an Option's value.
type OptionKind uint8

const (
	// OptionString is any string.
	OptionString OptionKind = iota
	// OptionInt is a non-negative integer.
	OptionInt
	// OptionBool is true or false.
	OptionBool
	// OptionDuration is an nginx time ("75s", "1m30s", "500ms", "65").
	OptionDuration
	// OptionSize is an nginx size ("8k", "1m", "4096").
	OptionSize
)

func (k OptionKind) String() string {
	switch k {
	case OptionInt:
		return "integer"
	case OptionBool:
		return "bool"
	case OptionDuration:
		return "duration"
	case OptionSize:
		return "size"
	}
	return "string"
}

// parse checks s and returns it converted to the kind's Go type.
func (k OptionKind) parse(s string) (any, error) {
	switch k {
	case OptionInt:
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 0 {
			return nil, fmt.Errorf("%q is not a non-negative integer", s)
		}
		return n, nil
	case OptionBool:
		b, err := strconv.ParseBool(strings.TrimSpace(s))
		if err != nil {
			return nil, fmt.Errorf("%q is not true or false", s)
		}
		return b, nil
	case OptionDuration:
		return ParseTime(s)
	case OptionSize:
		return ParseSize(s)
	}
	return s, nil
}

// ParseTime parses an nginx time value in milliseconds resolution the way
// ngx_parse_time (is_sec = 0) does: "75s", "1m30s", "500ms", "1h", "2d",
// "1w"; a bare number is seconds. Months and years are rejected, as nginx
// rejects them for millisecond directives such as keepalive_timeout.
func ParseTime(s string) (time.Duration, error) {
	d, err := parseTime(s, false)
	if err != nil {
		return 0, err
	}
	return d, nil
}

// ParseSeconds parses an nginx time value the way ngx_parse_time with
// is_sec = 1 does (directives such as keepalive_time in seconds resolution:
// "1h", "1y", "1M"; "ms" is rejected). A bare number is seconds.
func ParseSeconds(s string) (time.Duration, error) {
	return parseTime(s, true)
}

// parseTime mirrors ngx_parse_time.
func parseTime(s string, isSec bool) (time.Duration, error) {
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
	bad := fmt.Errorf("invalid time %q", s)
	step := stMonth
	if isSec {
		step = stStart
	}
	var total, value int64
	valid := false
	const maxInt = int64(1<<63 - 1)
	for i := 0; i < len(s); {
		c := s[i]
		if c >= '0' && c <= '9' {
			if value > (maxInt-int64(c-'0'))/10 {
				return 0, bad
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
				return 0, bad
			}
			step, scale = stYear, 365*24*3600
		case 'M':
			if step >= stMonth {
				return 0, bad
			}
			step, scale = stMonth, 30*24*3600
		case 'w':
			if step >= stWeek {
				return 0, bad
			}
			step, scale = stWeek, 7*24*3600
		case 'd':
			if step >= stDay {
				return 0, bad
			}
			step, scale = stDay, 24*3600
		case 'h':
			if step >= stHour {
				return 0, bad
			}
			step, scale = stHour, 3600
		case 'm':
			if i < len(s) && s[i] == 's' {
				if isSec || step >= stMsec {
					return 0, bad
				}
				i++
				step, scale = stMsec, 1
				break
			}
			if step >= stMin {
				return 0, bad
			}
			step, scale = stMin, 60
		case 's':
			if step >= stSec {
				return 0, bad
			}
			step, scale = stSec, 1
		case ' ':
			if step >= stSec {
				return 0, bad
			}
			step, scale = stLast, 1
		default:
			return 0, bad
		}
		if step != stMsec && !isSec {
			scale *= 1000
		}
		if value > maxInt/scale {
			return 0, bad
		}
		total += value * scale
		value = 0
		for i < len(s) && s[i] == ' ' {
			i++
		}
	}
	if !valid {
		return 0, bad
	}
	if !isSec {
		value *= 1000
	}
	total += value
	if isSec {
		return time.Duration(total) * time.Second, nil
	}
	return time.Duration(total) * time.Millisecond, nil
}

// ParseSize parses an nginx size the way ngx_parse_size does: "8k", "1m",
// "4096" (bytes).
func ParseSize(s string) (int64, error) {
	if s == "" {
		return 0, fmt.Errorf("invalid size %q", s)
	}
	scale := int64(1)
	num := s
	switch s[len(s)-1] {
	case 'k', 'K':
		scale, num = 1024, s[:len(s)-1]
	case 'm', 'M':
		scale, num = 1024*1024, s[:len(s)-1]
	case 'g', 'G':
		scale, num = 1024*1024*1024, s[:len(s)-1]
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 || num[0] == '+' {
		return 0, fmt.Errorf("invalid size %q", s)
	}
	return n * scale, nil
}

// FormatDuration writes d the way nginx users write times: "75s", "1h",
// "500ms", "1m30s".
func FormatDuration(d time.Duration) string {
	if d == 0 {
		return "0s"
	}
	if d%time.Second != 0 {
		return strconv.FormatInt(d.Milliseconds(), 10) + "ms"
	}
	s := int64(d / time.Second)
	var b strings.Builder
	for _, u := range []struct {
		n    int64
		unit string
	}{{24 * 3600, "d"}, {3600, "h"}, {60, "m"}, {1, "s"}} {
		if s >= u.n {
			fmt.Fprintf(&b, "%d%s", s/u.n, u.unit)
			s %= u.n
		}
	}
	return b.String()
}
