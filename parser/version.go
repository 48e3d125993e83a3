package parser

import (
	"fmt"
	"strconv"
	"strings"
)

// Version is an nginx version such as 1.22.1. Rules, defaults and the
// directive table are keyed on it. The zero Version means "unbounded" where a
// range is expected.
type Version struct {
	Major, Minor, Patch int
}

// Versions where keep-alive relevant behaviour or defaults changed.
var (
	V1_15_3  = Version{1, 15, 3}  // upstream keepalive_timeout, keepalive_requests
	V1_19_10 = Version{1, 19, 10} // keepalive_time; keepalive_requests default 1000
	V1_23_4  = Version{1, 23, 4}  // lingering close after any pipelining
	V1_27_4  = Version{1, 27, 4}  // keepalive_min_timeout
	V1_29_7  = Version{1, 29, 7}  // upstream keep-alive on by default, HTTP/1.1, no Connection header
)

// DefaultVersion is the target when none is given.
var DefaultVersion = Version{1, 30, 0}

// ParseVersion parses "1.22", "1.22.1" or "nginx/1.22.1". A missing patch
// number is 0.
func ParseVersion(s string) (Version, error) {
	t := strings.TrimPrefix(strings.TrimSpace(s), "nginx/")
	parts := strings.Split(t, ".")
	if len(parts) < 2 || len(parts) > 3 {
		return Version{}, fmt.Errorf("invalid nginx version %q: want MAJOR.MINOR or MAJOR.MINOR.PATCH", s)
	}
	var n [3]int
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil || v < 0 || p == "" {
			return Version{}, fmt.Errorf("invalid nginx version %q: %q is not a number", s, p)
		}
		n[i] = v
	}
	return Version{n[0], n[1], n[2]}, nil
}

// IsZero reports whether v is the zero Version.
func (v Version) IsZero() bool { return v == Version{} }

// Compare returns -1, 0 or +1.
func (v Version) Compare(o Version) int {
	switch {
	case v.Major != o.Major:
		return cmpInt(v.Major, o.Major)
	case v.Minor != o.Minor:
		return cmpInt(v.Minor, o.Minor)
	default:
		return cmpInt(v.Patch, o.Patch)
	}
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// AtLeast reports whether v >= o.
func (v Version) AtLeast(o Version) bool { return v.Compare(o) >= 0 }

// Before reports whether v < o.
func (v Version) Before(o Version) bool { return v.Compare(o) < 0 }

// String formats v as "1.22" when the patch is 0 and as "1.22.1" otherwise.
func (v Version) String() string {
	if v.Patch == 0 {
		return fmt.Sprintf("%d.%d", v.Major, v.Minor)
	}
	return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch)
}
