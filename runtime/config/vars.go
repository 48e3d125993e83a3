package config

// This file holds the variable part of the runtime model: what nginx's
// `map` blocks, `set` directives and `proxy_redirect` become after
// translation, and the syntax of values with variables (nginx's "complex
// values") that every setting taking variables shares.

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// Map is an nginx `map SOURCE $VARIABLE {}` block: a variable whose value
// is looked up, on first use in a request, by the evaluated Source. The
// result is kept for the rest of the request (internal redirects
// included) unless Volatile is set, as nginx caches variables.
type Map struct {
	// Variable is the defined variable's name, without '$'.
	Variable string `hcl:"variable,label"`
	// Source is the value looked up, with variables: "$http_upgrade",
	// "$host$uri".
	Source string `hcl:"source"`
	// Default is the value (with variables) when no entry matches; "" when
	// the block has no default.
	Default string `hcl:"default,optional"`
	// Hostnames makes keys host names: "*.example.com", ".example.com"
	// (example.com and every subdomain) and "www.example.*" match as
	// server_name does, and a trailing dot of the source value is ignored.
	Hostnames bool `hcl:"hostnames,optional"`
	// Volatile disables the per-request cache: the map is evaluated at
	// every use.
	Volatile bool `hcl:"volatile,optional"`
	// Entries are the keys in configuration order. Exact keys are matched
	// first (case-insensitively), then wildcard host names, then regular
	// expressions in order; an empty source is never matched against a
	// regular expression.
	Entries []*MapEntry `hcl:"entry,block"`

	DefRange     hcl.Range `hcl:",def_range"`
	SourceRange  hcl.Range `hcl:"source,attr_value_range"`
	DefaultRange hcl.Range `hcl:"default,attr_value_range"`
}

// MapEntry is one line of a map block.
type MapEntry struct {
	// Key is the exact key, the host name pattern (Hostnames), or the
	// regular expression (Regex; RE2 syntax, unanchored, as nginx's PCRE
	// search). A regular expression's captures are $1..$9 and its named
	// groups variables, in Value and after the map was evaluated.
	Key string `hcl:"key"`
	// Value is the result, with variables.
	Value string `hcl:"value"`
	// Regex makes Key a regular expression ("~" in nginx).
	Regex bool `hcl:"regex,optional"`
	// CaseInsensitive matches the regular expression without regard to
	// case ("~*").
	CaseInsensitive bool `hcl:"case_insensitive,optional"`

	DefRange   hcl.Range `hcl:",def_range"`
	KeyRange   hcl.Range `hcl:"key,attr_value_range"`
	ValueRange hcl.Range `hcl:"value,attr_value_range"`
}

// Set is nginx's `set $VARIABLE VALUE`: the value is evaluated and stored
// when the rewrite phase of its server (before a location is chosen) or
// location (after) runs, in order, before the level's Return.
type Set struct {
	// Variable is the variable's name, without '$'.
	Variable string `hcl:"variable,label"`
	// Value is the value, with variables.
	Value string `hcl:"value"`

	DefRange   hcl.Range `hcl:",def_range"`
	ValueRange hcl.Range `hcl:"value,attr_value_range"`
}

// ProxyRedirect is one `proxy_redirect FROM TO` rule: a Location header,
// or the URL of a Refresh header, that starts with From (or matches the
// regular expression From) has that part replaced by To. The rules are
// tried in order; the first that matches is applied. A proxy without rules
// passes both headers unchanged (`proxy_redirect off`). The translator
// writes `proxy_redirect default` as the rule it stands for.
type ProxyRedirect struct {
	// From is a prefix with variables, or a regular expression (Regex).
	From string `hcl:"from"`
	// To is the replacement, with variables (and $1..$9 of a regular
	// expression).
	To string `hcl:"to"`
	// Regex makes From a regular expression ("~"), CaseInsensitive
	// matches it without regard to case ("~*").
	Regex           bool `hcl:"regex,optional"`
	CaseInsensitive bool `hcl:"case_insensitive,optional"`

	DefRange  hcl.Range `hcl:",def_range"`
	FromRange hcl.Range `hcl:"from,attr_value_range"`
	ToRange   hcl.Range `hcl:"to,attr_value_range"`
}

// ValuePart is one piece of a value with variables: literal text, a
// variable, or a regular expression capture.
type ValuePart struct {
	// Text is literal text when Var is "" and Capture is 0.
	Text string
	// Var is a variable's name, lower case, without '$'.
	Var string
	// Capture is 1..9 for $1..$9.
	Capture int
}

// ParseValue splits a value with variables as nginx does
// (ngx_http_script_compile): "$name" or "${name}", where a name is
// letters, digits and underscores, and "$1".."$9" (one digit) for
// captures. There is no escape for a literal '$'.
func ParseValue(s string) ([]ValuePart, error) {
	var out []ValuePart
	for len(s) > 0 {
		i := strings.IndexByte(s, '$')
		if i < 0 {
			out = append(out, ValuePart{Text: s})
			break
		}
		if i > 0 {
			out = append(out, ValuePart{Text: s[:i]})
		}
		s = s[i+1:]
		if s == "" {
			return nil, fmt.Errorf("invalid variable name: '$' at the end")
		}
		if c := s[0]; c >= '1' && c <= '9' {
			out = append(out, ValuePart{Capture: int(c - '0')})
			s = s[1:]
			continue
		}
		bracket := s[0] == '{'
		if bracket {
			s = s[1:]
		}
		j := 0
		for j < len(s) && isNameByte(s[j]) {
			j++
		}
		name := s[:j]
		s = s[j:]
		if bracket {
			if !strings.HasPrefix(s, "}") {
				return nil, fmt.Errorf("the closing bracket in %q variable is missing", name)
			}
			s = s[1:]
		}
		if name == "" {
			return nil, fmt.Errorf("invalid variable name")
		}
		out = append(out, ValuePart{Var: strings.ToLower(name)})
	}
	return out, nil
}

// HasVariables reports whether s holds a variable or capture.
func HasVariables(s string) bool { return strings.IndexByte(s, '$') >= 0 }

func isNameByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// ValidVariableName reports whether name (without '$') is a variable name
// nginx accepts in map and set.
func ValidVariableName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		if !isNameByte(name[i]) {
			return false
		}
	}
	return true
}

// CompileRegex compiles a map, proxy_redirect or location regular
// expression as the runtime runs it.
func CompileRegex(expr string, caseInsensitive bool) (*regexp.Regexp, error) {
	if caseInsensitive {
		expr = "(?i)" + expr
	}
	return regexp.Compile(expr)
}

// vars validates the maps and the set steps of an instance.
func (d *diagList) vars(inst *Instance) {
	defined := map[string]*Map{}
	for _, m := range inst.Maps {
		if !ValidVariableName(m.Variable) {
			d.errorf(&m.DefRange, "Invalid map variable", "invalid variable name %q", m.Variable)
		}
		lname := strings.ToLower(m.Variable)
		if prev, dup := defined[lname]; dup {
			d.errorf(&m.DefRange, "Duplicate map variable", "variable %q is already defined by the map at %s", m.Variable, prev.DefRange)
		}
		defined[lname] = m
		d.value(m.Source, &m.SourceRange, "map source")
		d.value(m.Default, &m.DefaultRange, "map default")
		keys := map[string]*MapEntry{}
		for _, e := range m.Entries {
			d.value(e.Value, &e.ValueRange, "map value")
			if e.Regex {
				if _, err := CompileRegex(e.Key, e.CaseInsensitive); err != nil {
					d.errorf(&e.KeyRange, "Invalid map regex", "%v", err)
				}
				continue
			}
			if e.CaseInsensitive {
				d.errorf(&e.DefRange, "Invalid map entry", "case_insensitive needs regex = true")
			}
			k := strings.ToLower(e.Key)
			if m.Hostnames {
				if err := checkHostKey(k); err != nil {
					d.errorf(&e.KeyRange, "Invalid map hostname", "%v", err)
					continue
				}
			}
			if prev, dup := keys[k]; dup {
				d.errorf(&e.KeyRange, "Conflicting map key", "key %q is already defined at %s", e.Key, prev.DefRange)
			}
			keys[k] = e
		}
	}
	for _, s := range inst.Servers {
		d.sets(s.Sets)
		if s.Unmatched != nil {
			d.locationVars(s.Unmatched)
		}
		var walk func([]*Location)
		walk = func(locs []*Location) {
			for _, l := range locs {
				d.locationVars(l)
				walk(l.Locations)
			}
		}
		walk(s.Locations)
		if s.Return != nil {
			d.value(s.Return.Text, &s.Return.DefRange, "return text")
		}
	}
}

func (d *diagList) locationVars(l *Location) {
	d.sets(l.Sets)
	if l.Return != nil {
		d.value(l.Return.Text, &l.Return.DefRange, "return text")
	}
	for _, h := range l.AddHeaders {
		d.value(h.Value, &h.DefRange, "add_header value")
	}
	for _, e := range l.ErrorPages {
		d.value(e.URI, &e.URIRange, "error_page uri")
	}
	if p := l.Proxy; p != nil {
		for _, r := range p.Redirects {
			d.value(r.To, &r.ToRange, "redirect to")
			if r.Regex {
				if _, err := CompileRegex(r.From, r.CaseInsensitive); err != nil {
					d.errorf(&r.FromRange, "Invalid redirect regex", "%v", err)
				}
			} else {
				d.value(r.From, &r.FromRange, "redirect from")
			}
		}
	}
}

func (d *diagList) sets(sets []*Set) {
	for _, s := range sets {
		if !ValidVariableName(s.Variable) {
			d.errorf(&s.DefRange, "Invalid set variable", "invalid variable name %q", s.Variable)
		}
		d.value(s.Value, &s.ValueRange, "set value")
	}
}

func (d *diagList) value(s string, r *hcl.Range, what string) {
	if _, err := ParseValue(s); err != nil {
		d.errorf(r, "Invalid "+what, "%s %q: %v", what, s, err)
	}
}

// checkHostKey checks a map key in hostnames mode as ngx_hash_add_key
// does with NGX_HASH_WILDCARD_KEY: at most one '*', only as a whole first
// or last label; a leading '.' is a wildcard too.
func checkHostKey(k string) error {
	n := strings.Count(k, "*")
	switch {
	case n == 0:
		return nil
	case n > 1:
	case strings.HasPrefix(k, "*.") && len(k) > 2:
		return nil
	case strings.HasSuffix(k, ".*") && len(k) > 2:
		return nil
	}
	return fmt.Errorf("invalid hostname or wildcard %q", k)
}
