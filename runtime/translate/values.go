package translate

import (
	"strconv"
	"strings"

	"github.com/ngxkeep/ngxkeep/parser"
	"github.com/ngxkeep/ngxkeep/runtime/config"
)

// eff returns the value nginx uses for name at level (inheritance and the
// target's defaults, see parser.Node.Effective) and marks the directives
// it came from as preserved. A directive the target version does not have
// counts as unset (finish reports it).
func (t *translator) eff(level *parser.Node, name string) parser.Setting {
	s := level.Effective(name, t.target)
	if s.Spec != nil && !s.Spec.ExistsIn(t.target) {
		return parser.Setting{Name: name, Version: t.target}
	}
	if len(s.Nodes) > 0 {
		for _, n := range s.Nodes {
			t.use(n)
		}
	} else if s.Node != nil {
		t.use(s.Node)
	}
	if s.Node != nil {
		t.collectNode(s.Node)
	}
	return s
}

// useSetting marks n preserved and records it as a setting's source.
func (t *translator) useSetting(n *parser.Node) {
	t.use(n)
	t.collectNode(n)
}

func (t *translator) collectNode(n *parser.Node) {
	if t.collect != nil {
		*t.collect = append(*t.collect, n)
	}
}

// defaultArg returns argument i of the target's default for s, or "".
func (t *translator) defaultArg(s parser.Setting, i int) string {
	if s.Spec == nil {
		return ""
	}
	if d := s.Spec.Default(t.target); len(d) > 0 && i < len(d[0]) {
		return d[0][i]
	}
	return ""
}

// arg returns argument i of the setting, or "" when it has none.
func arg(s parser.Setting, i int) string {
	if i < len(s.Args) {
		return s.Args[i]
	}
	return ""
}

// invalid marks the directive of s as not run because nginx would reject
// its value, and returns the target's default instead.
func (t *translator) invalid(s parser.Setting, i int, what string) string {
	def := t.defaultArg(s, i)
	if def == "" {
		t.set(s.Node, Unsupported, "invalid %s %q (nginx -t rejects it); left unset", what, arg(s, i))
	} else {
		t.set(s.Node, Unsupported, "invalid %s %q (nginx -t rejects it); the default %s is used", what, arg(s, i), def)
	}
	return def
}

// msec returns argument i of a time setting in milliseconds context
// (ngx_conf_set_msec_slot), as written, or def when unset.
func (t *translator) msec(s parser.Setting, i int, def string) string {
	if !s.IsSet() || i >= len(s.Args) {
		return def
	}
	v := s.Args[i]
	if _, err := parser.ParseTime(v); err != nil {
		return t.invalid(s, i, "time")
	}
	if _, err := config.ParseMsec(v); err != nil {
		t.set(s.Node, Unsupported, "the runtime cannot read the time %q: %v", v, err)
		return t.defaultArg(s, i)
	}
	return v
}

// sec returns argument i of a time setting in seconds context
// (ngx_conf_set_sec_slot and the second keepalive_timeout parameter).
func (t *translator) sec(s parser.Setting, i int, def string) string {
	if !s.IsSet() || i >= len(s.Args) {
		return def
	}
	v := s.Args[i]
	if _, err := parser.ParseTimeSec(v); err != nil {
		return t.invalid(s, i, "time")
	}
	if _, err := config.ParseSec(v); err != nil {
		t.set(s.Node, Unsupported, "the runtime cannot read the time %q: %v", v, err)
		return t.defaultArg(s, i)
	}
	return v
}

// size returns argument i of a size setting (ngx_parse_size, or
// ngx_parse_offset when offset is true), as written.
func (t *translator) size(s parser.Setting, i int, offset bool, def string) string {
	if !s.IsSet() || i >= len(s.Args) {
		return def
	}
	v := s.Args[i]
	var err error
	if offset {
		_, err = parser.ParseOffset(v)
	} else {
		_, err = parser.ParseSize(v)
	}
	if err != nil {
		return t.invalid(s, i, "size")
	}
	return v
}

// flag returns an on|off setting, or def when unset.
func (t *translator) flag(s parser.Setting, def *bool) *bool {
	if !s.IsSet() || len(s.Args) == 0 {
		return def
	}
	b, err := parser.ParseFlag(s.Args[0])
	if err != nil {
		d := t.invalid(s, 0, "flag")
		if d == "" {
			return def
		}
		b, _ = parser.ParseFlag(d)
	}
	return &b
}

// number returns argument i of an integer setting (ngx_atoi: digits
// only), or def when unset or invalid.
func (t *translator) number(s parser.Setting, i int, def *int) *int {
	if !s.IsSet() || i >= len(s.Args) {
		return def
	}
	n, err := atoi(s.Args[i])
	if err != nil {
		d := t.invalid(s, i, "number")
		if n, err := atoi(d); err == nil {
			return &n
		}
		return def
	}
	return &n
}

// atoi parses a non-negative decimal number the way ngx_atoi does.
func atoi(s string) (int, error) {
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0, strconv.ErrSyntax
	}
	return strconv.Atoi(s)
}

// oneOf returns argument 0 if it is one of the allowed words (case
// sensitive, as nginx's enum slots compare), else the default.
func (t *translator) oneOf(s parser.Setting, allowed ...string) string {
	if !s.IsSet() || len(s.Args) == 0 {
		return ""
	}
	for _, a := range allowed {
		if s.Args[0] == a {
			return a
		}
	}
	return t.invalid(s, 0, "value")
}

// values flattens the argument lists of an array or bitmask setting.
func values(s parser.Setting) []string {
	var out []string
	for _, v := range s.Values {
		out = append(out, v...)
	}
	return out
}

func ptr[T any](v T) *T { return &v }

// hasVariable reports whether an nginx value contains a variable.
func hasVariable(s string) bool { return strings.IndexByte(s, '$') >= 0 }
