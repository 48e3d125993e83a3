package parser

// Setting is the value nginx uses for one directive at one place, after
// inheritance, with where it came from.
type Setting struct {
	Name string
	// Args are the effective arguments' values: those of Node, or the
	// default's. Nil when the directive is unset and has no default.
	Args []string
	// Node is the directive the value came from; nil for a default.
	Node *Node
	// Nodes, for array directives (proxy_set_header, add_header, ...), are
	// every directive of the one level whose list applies (all-or-nothing
	// inheritance); Node is then the first of them.
	Nodes []*Node
	// Default is true when the value is the target version's default.
	Default bool
	// Version is the target version the setting was computed for.
	Version Version
	// Values holds one argument list per directive that makes up the
	// value: one for scalars, every directive of the applying level (or
	// every implied default, such as proxy_set_header's Host and
	// Connection) for array and bitmask directives.
	Values [][]string
	// Spec is the table entry the lookup used; nil for an unknown name.
	Spec *Spec
}

// IsSet reports whether the directive has a value (explicit or default).
func (s Setting) IsSet() bool { return s.Node != nil || s.Default }
