package parser

import (
	"strings"
	"sync"
)

// Arity is the set of argument counts a directive accepts, as nginx encodes
// it in ngx_command_t.type (NGX_CONF_NOARGS, NGX_CONF_TAKE1, ...,
// NGX_CONF_FLAG, NGX_CONF_1MORE, ...). Counts exclude the directive name.
type Arity uint32

// Arity bits, one per nginx NGX_CONF_* argument flag.
const (
	ArgsNone  Arity = 1 << iota // NGX_CONF_NOARGS
	Args1                       // NGX_CONF_TAKE1
	Args2                       // NGX_CONF_TAKE2
	Args3                       // NGX_CONF_TAKE3
	Args4                       // NGX_CONF_TAKE4
	Args5                       // NGX_CONF_TAKE5
	Args6                       // NGX_CONF_TAKE6
	Args7                       // NGX_CONF_TAKE7
	ArgsFlag                    // NGX_CONF_FLAG: exactly one argument, "on" or "off"
	ArgsAny                     // NGX_CONF_ANY: any number, including none
	Args1More                   // NGX_CONF_1MORE
	Args2More                   // NGX_CONF_2MORE

	Args12   = Args1 | Args2
	Args13   = Args1 | Args3
	Args23   = Args2 | Args3
	Args123  = Args1 | Args2 | Args3
	Args1234 = Args1 | Args2 | Args3 | Args4
)

// maxTakeArgs mirrors NGX_CONF_MAX_ARGS - 1: the most arguments a
// fixed-count (TAKEn) directive can have.
const maxTakeArgs = 7

// Allows reports whether a directive with n arguments (name excluded) passes
// nginx's argument-count check (ngx_conf_handler).
func (a Arity) Allows(n int) bool {
	switch {
	case a&ArgsAny != 0:
		return true
	case a&ArgsFlag != 0:
		return n == 1
	case a&Args1More != 0:
		return n >= 1
	case a&Args2More != 0:
		return n >= 2
	case n < 0 || n > maxTakeArgs:
		return false
	}
	return a&(1<<uint(n)) != 0
}

// Min returns the smallest accepted argument count.
func (a Arity) Min() int {
	switch {
	case a&ArgsAny != 0:
		return 0
	case a&(ArgsFlag|Args1More) != 0:
		return 1
	case a&Args2More != 0:
		return 2
	}
	for n := 0; n <= maxTakeArgs; n++ {
		if a&(1<<uint(n)) != 0 {
			return n
		}
	}
	return 0
}

// Max returns the largest accepted argument count, or -1 when unbounded.
func (a Arity) Max() int {
	switch {
	case a&(ArgsAny|Args1More|Args2More) != 0:
		return -1
	case a&ArgsFlag != 0:
		return 1
	}
	for n := maxTakeArgs; n >= 0; n-- {
		if a&(1<<uint(n)) != 0 {
			return n
		}
	}
	return 0
}

// MergeKind says how a directive's value is inherited from enclosing levels
// (the ngx_*_merge_*_conf functions of its module).
type MergeKind uint8

const (
	// MergeScalar: the value of the nearest level that sets the directive
	// (location → enclosing locations → server → http, and main where
	// allowed); nginx's ngx_conf_merge_*_value.
	MergeScalar MergeKind = iota
	// MergeArray: every occurrence at the nearest level that has at least
	// one; levels never combine (proxy_set_header, add_header, ...).
	MergeArray
	// MergeBitmask: like MergeArray, the nearest level with at least one
	// occurrence wins and its occurrences are OR-ed together; the result
	// replaces, never extends, the inherited mask (keepalive_disable,
	// proxy_next_upstream, ...).
	MergeBitmask
	// MergeNone: not inherited at all; only the level itself counts
	// (rewrite-module directives, try_files, listen, upstream-block
	// directives, ...).
	MergeNone
	// MergeNoname: a content handler such as proxy_pass, inherited only by
	// the nameless locations nginx creates for "if" and "limit_except".
	MergeNoname
)

func (k MergeKind) String() string {
	switch k {
	case MergeScalar:
		return "scalar"
	case MergeArray:
		return "array"
	case MergeBitmask:
		return "bitmask"
	case MergeNone:
		return "none"
	case MergeNoname:
		return "noname"
	}
	return "unknown"
}

// ValueKind is how nginx reads a directive's argument when the directive
// uses one of its generic handlers (ngx_conf_set_*_slot); ValueOther for
// directives with their own handler.
type ValueKind uint8

const (
	ValueOther   ValueKind = iota
	ValueFlag              // "on" or "off" (ngx_conf_set_flag_slot); see ParseFlag
	ValueTime              // milliseconds (ngx_conf_set_msec_slot); see ParseTime
	ValueTimeSec           // seconds (ngx_conf_set_sec_slot); see ParseTimeSec
	ValueSize              // size_t (ngx_conf_set_size_slot); see ParseSize
	ValueOffset            // off_t (ngx_conf_set_off_slot); see ParseOffset
	ValueNumber            // non-negative integer (ngx_conf_set_num_slot)
	ValueEnum              // one of fixed words (ngx_conf_set_enum_slot)
	ValueString            // any string (ngx_conf_set_str_slot)
	ValueBitmask           // fixed words OR-ed together (ngx_conf_set_bitmask_slot)
)

// VersionedDefault is the default value of a directive from a version on,
// until the next VersionedDefault of the same Spec.
type VersionedDefault struct {
	Since Version // zero: since the directive exists
	// Values holds one argument list per implied directive: one for a scalar
	// default ("75s"), several for array defaults (proxy_set_header's
	// implicit headers). Nil means "no default" from Since on.
	Values [][]string
}

// Spec describes one directive in one family of contexts, as nginx's
// ngx_command_t does. A name can have several Specs (upstream "server" vs
// http "server", upstream "keepalive_timeout" vs http "keepalive_timeout"):
// they are different directives that share a name.
type Spec struct {
	Name     string
	Module   string  // nginx module, e.g. "http_upstream_keepalive"
	Contexts Context // where it may appear
	Args     Arity
	Block    bool    // takes a { } body
	Body     Context // context of the body's directives (block directives only)
	Since    Version // first release that has it (zero: known before 0.7.0)
	Until    Version // first release without it (zero: still present)
	// Obsolete is the first release that accepts the directive only to warn
	// that it is obsolete and ignore it (http2_idle_timeout since 1.19.7).
	Obsolete Version
	Merge    MergeKind
	// Value is how nginx reads the argument, for directives with a generic
	// handler.
	Value ValueKind
	// Defaults, oldest first; the one that applies to a version is the last
	// whose Since is not after it.
	Defaults []VersionedDefault
	// Params are version facts about argument values ("keepalive 16
	// local" needs 1.29.7).
	Params []ParamFact
	// Loose is true for names known only as names (third-party, commercial
	// or OpenResty directives listed by gonginx): contexts and argument
	// counts are not checked.
	Loose bool
}

// ParamFact is a version fact about one argument value of a directive.
type ParamFact struct {
	// Value is the argument; a trailing "=" matches any "name=..." argument.
	Value string
	// Index is the argument position it applies to (0 is the first
	// argument), or -1 for any position.
	Index int
	Since Version
	// Note says what the value means, for messages.
	Note string
}

func (p ParamFact) matches(i int, arg string) bool {
	if p.Index >= 0 && p.Index != i {
		return false
	}
	if name, ok := strings.CutSuffix(p.Value, "="); ok {
		return strings.HasPrefix(arg, name+"=")
	}
	return arg == p.Value
}

// ParamsSince returns the newest version any of args needs according to
// s.Params, with the fact that demands it; the zero Version when none
// does.
func (s *Spec) ParamsSince(args []string) (Version, *ParamFact) {
	var need Version
	var which *ParamFact
	for i, a := range args {
		for k := range s.Params {
			p := &s.Params[k]
			if p.matches(i, a) && p.Since.Compare(need) > 0 {
				need, which = p.Since, p
			}
		}
	}
	return need, which
}

// Default returns the default argument lists for version v, or nil when the
// directive has no default (or does not exist) in v.
func (s *Spec) Default(v Version) [][]string {
	if !s.ExistsIn(v) {
		return nil
	}
	var vals [][]string
	for _, d := range s.Defaults {
		if v.AtLeast(d.Since) {
			vals = d.Values
		}
	}
	return vals
}

// ExistsIn reports whether the directive exists in version v.
func (s *Spec) ExistsIn(v Version) bool {
	if !s.Since.IsZero() && v.Before(s.Since) {
		return false
	}
	return s.Until.IsZero() || v.Before(s.Until)
}

// Lookup returns the Spec of the directive name as it may appear in ctx.
// When the name is known but not allowed in ctx, Lookup returns false;
// use Specs to tell "not allowed here" from "unknown".
func Lookup(name string, ctx Context) (*Spec, bool) {
	for _, s := range directiveTable().byName[name] {
		if s.Loose || s.Contexts&ctx != 0 {
			return s, true
		}
	}
	return nil, false
}

// Specs returns every Spec with the given name (nil for an unknown name).
// The returned slice must not be modified.
func Specs(name string) []*Spec {
	return directiveTable().byName[name]
}

// AllSpecs returns every Spec of the table in a stable order (by name, then
// context). The returned slice must not be modified.
func AllSpecs() []*Spec {
	return directiveTable().all
}

type specTable struct {
	byName map[string][]*Spec
	all    []*Spec
}

// directiveTable builds the read-only directive table once.
var directiveTable = sync.OnceValue(func() *specTable {
	specs := nginxDirectives()
	facts := directiveFacts()
	t := &specTable{byName: make(map[string][]*Spec, len(specs)+len(looseDirectiveNames))}
	for i := range specs {
		s := &specs[i]
		applyFacts(s, facts)
		t.byName[s.Name] = append(t.byName[s.Name], s)
		t.all = append(t.all, s)
	}
	for _, name := range looseDirectiveNames {
		if _, ok := t.byName[name]; ok {
			continue
		}
		s := &Spec{Name: name, Contexts: ^Context(0), Args: ArgsAny, Loose: true, Merge: MergeScalar}
		t.byName[name] = append(t.byName[name], s)
		t.all = append(t.all, s)
	}
	return t
})

// internName returns the table's copy of name when it is a known directive
// name, so the many Directive.Name strings share storage.
func internName(b []byte) (string, bool) {
	if specs, ok := directiveTable().byName[string(b)]; ok {
		return specs[0].Name, true
	}
	return "", false
}
