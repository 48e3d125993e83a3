package parser

// ChildContext returns the context of n's children: CtxMain for the root,
// the body context of a block directive, and 0 for a simple directive.
func (n *Node) ChildContext() Context {
	switch {
	case n.Directive == nil:
		return CtxMain
	case n.Block == nil:
		return 0
	case n.Block.Opaque:
		return CtxOpaque
	}
	return bodyContext(n.Directive, n.Ctx)
}

// File returns the file n's directive is written in; for the root, the
// main file.
func (n *Node) File() *File {
	if n.Directive != nil {
		return n.Directive.File
	}
	if t := n.tree(); t != nil {
		return t.cfg.Main
	}
	return nil
}

// Config returns the configuration n belongs to.
func (n *Node) Config() *Config {
	if t := n.tree(); t != nil {
		return t.cfg
	}
	return nil
}

// Root returns the root of n's tree.
func (n *Node) Root() *Node {
	for n.Parent != nil {
		n = n.Parent
	}
	return n
}

// Walk calls fn for n and its descendants in source order (depth first).
// When fn returns false, the children of that node are skipped.
func (n *Node) Walk(fn func(*Node) bool) {
	if !fn(n) {
		return
	}
	for _, c := range n.Children {
		c.Walk(fn)
	}
}

// Find returns n's direct children named name, in order. The result must
// not be modified.
func (n *Node) Find(name string) []*Node {
	if idx := n.childIndex(); idx != nil {
		return idx[name]
	}
	var out []*Node
	for _, c := range n.Children {
		if c.Name == name {
			out = append(out, c)
		}
	}
	return out
}

// First returns n's first direct child named name, or nil.
func (n *Node) First(name string) *Node {
	if idx := n.childIndex(); idx != nil {
		if found := idx[name]; len(found) > 0 {
			return found[0]
		}
		return nil
	}
	for _, c := range n.Children {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// Enclosing returns the nearest ancestor of n (n itself included) whose
// children are in a context of ctx, e.g. Enclosing(CtxServer) is the
// "server" block around a location, Enclosing(CtxLocation) the innermost
// location. It returns nil when there is none.
func (n *Node) Enclosing(ctx Context) *Node {
	for m := n; m != nil; m = m.Parent {
		if m.ChildContext()&ctx != 0 {
			return m
		}
	}
	return nil
}

// ChainLinks returns n's include chain as Links, outermost first.
func (n *Node) ChainLinks() []Link { return links(n.Chain) }
