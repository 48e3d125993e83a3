package lint

import (
	"sync"

	"github.com/ngxkeep/ngxkeep/parser"
)

// effCache answers Pass.Effective for a whole run. It gives the same
// Settings as parser.Node.Effective (TestEffectiveMatchesParser checks this
// on every node of the test corpus) but shares the work: which directives
// make up a value is computed once per (level, spec) and reused by every
// location below that level, for every rule and every compared version, so
// the http level with thousands of children is scanned once per directive
// name, not once per location.
type effCache struct {
	mu    sync.RWMutex
	found map[foundKey]*foundVal
}

type foundKey struct {
	m    *parser.Node
	spec *parser.Spec
}

// foundVal is the version-independent part of a Setting; the argument
// copies are made on first use (the topology only needs the nodes).
type foundVal struct {
	nodes  []*parser.Node
	once   sync.Once
	args   []string
	values [][]string
}

func (f *foundVal) argLists() ([]string, [][]string) {
	f.once.Do(func() {
		f.args = argValues(f.nodes[0])
		f.values = make([][]string, len(f.nodes))
		for i, n := range f.nodes {
			f.values[i] = argValues(n)
		}
	})
	return f.args, f.values
}

func newEffCache() *effCache {
	return &effCache{found: make(map[foundKey]*foundVal, 1024)}
}

// effective mirrors parser.Node.Effective.
func (c *effCache) effective(n *parser.Node, name string, v parser.Version) parser.Setting {
	level := n
	if n.Directive != nil && n.Block == nil && n.Parent != nil {
		level = n.Parent
	}
	s := parser.Setting{Name: name, Version: v}
	spec := findSpec(level, name)
	if spec == nil {
		return s
	}
	s.Spec = spec
	if fv := c.lookup(level, spec, name); fv != nil {
		s.Node = fv.nodes[0]
		s.Args, s.Values = fv.argLists()
		if spec.Merge == parser.MergeArray || spec.Merge == parser.MergeBitmask {
			s.Nodes = fv.nodes
		}
	} else if vals := spec.Default(v); vals != nil {
		s.Default = true
		s.Args = vals[0]
		s.Values = vals
	}
	return s
}

// nodes returns the directives that make up the value of name at n (nil
// when unset or when only a default applies), without copying arguments.
func (c *effCache) nodes(n *parser.Node, name string) []*parser.Node {
	level := n
	if n.Directive != nil && n.Block == nil && n.Parent != nil {
		level = n.Parent
	}
	spec := findSpec(level, name)
	if spec == nil {
		return nil
	}
	if fv := c.lookup(level, spec, name); fv != nil {
		return fv.nodes
	}
	return nil
}

// findSpec mirrors parser's effectiveSpec: the Spec of name allowed at
// level or at the nearest enclosing level that allows it.
func findSpec(level *parser.Node, name string) *parser.Spec {
	for m := level; m != nil; m = m.Parent {
		ctx := m.ChildContext()
		if ctx == parser.CtxOpaque {
			continue
		}
		if s, ok := parser.Lookup(name, ctx); ok && !s.Loose {
			return s
		}
	}
	for _, s := range parser.Specs(name) {
		if s.Contexts == parser.CtxEvents {
			return s
		}
	}
	return nil
}

// lookup mirrors parser's lookupLevels, memoized per level: the value at a
// level that does not set the directive is its parent's. nil means unset.
func (c *effCache) lookup(m *parser.Node, spec *parser.Spec, name string) *foundVal {
	if spec.Contexts == parser.CtxEvents {
		m = m.Root()
	}
	k := foundKey{m, spec}
	c.mu.RLock()
	f, ok := c.found[k]
	c.mu.RUnlock()
	if ok {
		return f
	}
	var nodes []*parser.Node
	if spec.Contexts == parser.CtxEvents {
		if ev := m.First("events"); ev != nil {
			nodes = ev.Find(name)
		}
	} else {
		nodes = c.levelNodes(m, spec, name)
	}
	if len(nodes) > 0 {
		f = &foundVal{nodes: nodes}
	}
	c.mu.Lock()
	c.found[k] = f
	c.mu.Unlock()
	return f
}

func (c *effCache) levelNodes(m *parser.Node, spec *parser.Spec, name string) []*parser.Node {
	ctx := m.ChildContext()
	if ctx&spec.Contexts != 0 {
		if found := m.Find(name); len(found) > 0 {
			if spec.Merge == parser.MergeScalar || spec.Merge == parser.MergeNoname || spec.Merge == parser.MergeNone {
				return found[:1]
			}
			return found
		}
	}
	switch spec.Merge {
	case parser.MergeNone:
		return nil
	case parser.MergeNoname:
		if ctx != parser.CtxLocationIf && ctx != parser.CtxLimitExcept {
			return nil
		}
	}
	if m.Parent == nil {
		return nil
	}
	if f := c.lookup(m.Parent, spec, name); f != nil {
		return f.nodes
	}
	return nil
}

func argValues(n *parser.Node) []string {
	out := make([]string, len(n.Args))
	for i, a := range n.Args {
		out[i] = a.Value
	}
	return out
}
