package parser

import "fmt"

// Effective returns the value nginx uses for the directive name at n (a
// block such as a location, server, upstream or if; for a simple directive,
// the block around it) for target version v, following the merge rules of
// the directive's module:
//
//   - scalars come from the nearest level that sets them: location, then
//     enclosing locations, server, http (and main where the directive is
//     allowed there); "if" and "limit_except" blocks inherit from their
//     location;
//   - array and bitmask directives (proxy_set_header, add_header,
//     proxy_next_upstream, keepalive_disable, ...) come all-or-nothing from
//     the nearest level that has at least one;
//   - directives that are not inherited (upstream{} contents, rewrite
//     module, try_files, ...) come from n's level only; content handlers
//     (proxy_pass, ...) reach "if" and "limit_except" blocks only.
//
// Upstream-block directives are distinct from http directives of the same
// name: Effective("keepalive_timeout") on an upstream node reads the
// upstream's, on a location the client-side one. When the directive is not
// set, the result is v's default (Default true), or unset.
//
// Results are memoized per tree (effective_index.go); the slices of a
// Setting may be shared between calls and must not be modified.
func (n *Node) Effective(name string, v Version) Setting {
	if ix := n.effIndex(); ix != nil {
		return ix.effective(n, name, v)
	}
	return n.effectiveUncached(name, v)
}

// EffectiveNodes returns the directives that make up the value of name at
// n: what Effective(name, v).Nodes holds for array directives, and
// Effective(name, v).Node as a one-element slice for the others, for any
// v (which directives make up a value does not depend on the version;
// only the defaults do). Nil when no directive sets the value (it is then
// a default, if any). Unlike Effective it copies no arguments, so callers
// that need only the directives, or whether one is set, pay nothing at
// the levels that set them. The slice must not be modified.
func (n *Node) EffectiveNodes(name string) []*Node {
	if ix := n.effIndex(); ix != nil {
		return ix.nodes(n, name)
	}
	return n.effectiveNodesUncached(name)
}

// effectiveNodesUncached is EffectiveNodes computed by walking the levels.
func (n *Node) effectiveNodesUncached(name string) []*Node {
	level := settingLevel(n)
	spec := effectiveSpec(name, level)
	if spec == nil {
		return nil
	}
	return lookupLevels(name, spec, level)
}

// effectiveUncached is Effective computed by walking the levels.
func (n *Node) effectiveUncached(name string, v Version) Setting {
	s := Setting{Name: name, Version: v}
	level := n
	if n.Directive != nil && n.Block == nil && n.Parent != nil {
		level = n.Parent
	}
	spec := effectiveSpec(name, level)
	if spec == nil {
		return s
	}
	s.Spec = spec
	if found := lookupLevels(name, spec, level); len(found) > 0 {
		s.Node = found[0]
		s.Args = argValues(found[0])
		s.Values = make([][]string, len(found))
		for i, f := range found {
			s.Values[i] = argValues(f)
		}
		if spec.Merge == MergeArray || spec.Merge == MergeBitmask {
			s.Nodes = found
		}
		return s
	}
	if vals := spec.Default(v); vals != nil {
		s.Default = true
		s.Args = vals[0]
		s.Values = vals
	}
	return s
}

// effectiveSpec finds the Spec of name as it applies at level: the one
// allowed at level or, failing that, at the nearest enclosing level that
// allows it (an "if" asks its location).
func effectiveSpec(name string, level *Node) *Spec {
	for m := level; m != nil; m = m.Parent {
		ctx := childContext(m)
		if ctx == CtxOpaque {
			continue
		}
		if s, ok := Lookup(name, ctx); ok && !s.Loose {
			return s
		}
	}
	for _, s := range Specs(name) {
		if s.Contexts == CtxEvents {
			return s
		}
	}
	return nil
}

// lookupLevels returns the directives that make up the value of name at
// level according to spec.Merge, nearest level first.
func lookupLevels(name string, spec *Spec, level *Node) []*Node {
	if spec.Contexts == CtxEvents {
		if ev := level.Root().First("events"); ev != nil {
			return ev.Find(name)
		}
		return nil
	}
	for m := level; m != nil; m = m.Parent {
		ctx := m.ChildContext()
		if ctx&spec.Contexts != 0 {
			if found := m.Find(name); len(found) > 0 {
				if spec.Merge == MergeScalar || spec.Merge == MergeNoname || spec.Merge == MergeNone {
					return found[:1]
				}
				return found
			}
		}
		switch spec.Merge {
		case MergeNone:
			return nil
		case MergeNoname:
			// Only the nameless locations of "if" and "limit_except"
			// inherit a content handler from their location.
			if ctx != CtxLocationIf && ctx != CtxLimitExcept {
				return nil
			}
		}
	}
	return nil
}

func argValues(n *Node) []string {
	out := make([]string, len(n.Args))
	for i, a := range n.Args {
		out[i] = a.Value
	}
	return out
}

// Origin says where the value came from: "file:line" of the directive, or
// "default for 1.22", or "not set (no default in 1.22)".
func (s Setting) Origin() string {
	switch {
	case s.Node != nil:
		return fmt.Sprintf("%s:%d", s.Node.File().Name, s.Node.Pos.Line)
	case s.Default:
		return "default for " + s.Version.String()
	}
	return "not set (no default in " + s.Version.String() + ")"
}
