package lint

import (
	"fmt"
	"github.com/ngxkeep/ngxkeep/parser"
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
	// OptionDuration is an nginx time ("75s", "1m30s", "500ms", "65"),
	// read with parser.ParseTime.
	OptionDuration
	// OptionSize is an nginx size ("8k", "1m", "4096"), read with
	// parser.ParseSize.
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
		return parser.ParseTime(s)
	case OptionSize:
		return parser.ParseSize(s)
	}
	return s, nil
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
