package upstream

import (
	"fmt"
	"strconv"
	"time"
)

// parseDuration parses an nginx time value ("500ms", "10s", "1h30m", "2" =
// seconds), as ngx_parse_time does. Empty input yields def.
func parseDuration(s string, def time.Duration) (time.Duration, error) {
	if s == "" {
		return def, nil
	}
	var total time.Duration
	num := -1
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			if num < 0 {
				num = 0
			}
			num = num*10 + int(c-'0')
			if num > 1<<31 {
				return 0, fmt.Errorf("invalid time %q", s)
			}
			continue
		case c == ' ':
			continue
		}
		if num < 0 {
			return 0, fmt.Errorf("invalid time %q", s)
		}
		var unit time.Duration
		switch c {
		case 'y':
			unit = 365 * 24 * time.Hour
		case 'M':
			unit = 30 * 24 * time.Hour
		case 'w':
			unit = 7 * 24 * time.Hour
		case 'd':
			unit = 24 * time.Hour
		case 'h':
			unit = time.Hour
		case 'm':
			if i+1 < len(s) && s[i+1] == 's' {
				unit = time.Millisecond
				i++
			} else {
				unit = time.Minute
			}
		case 's':
			unit = time.Second
		default:
			return 0, fmt.Errorf("invalid time %q", s)
		}
		total += time.Duration(num) * unit
		num = -1
	}
	if num >= 0 {
		total += time.Duration(num) * time.Second
	}
	return total, nil
}

// parseSize parses an nginx size ("4k", "1m", "512"), as ngx_parse_size
// does. Empty input yields def.
func parseSize(s string, def int64) (int64, error) {
	if s == "" {
		return def, nil
	}
	mult := int64(1)
	switch s[len(s)-1] {
	case 'k', 'K':
		mult, s = 1<<10, s[:len(s)-1]
	case 'm', 'M':
		mult, s = 1<<20, s[:len(s)-1]
	case 'g', 'G':
		mult, s = 1<<30, s[:len(s)-1]
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("invalid size %q", s)
	}
	return n * mult, nil
}
