package parser

import (
	"strings"
	"sync"
	"sync/atomic"
)

// effIndex memoizes Node.Effective for one tree, so that a linter asking
// for the same settings at thousands of locations, for several target
// versions and from several goroutines, resolves each (level, directive)
// pair once: which directives make up a value is computed once per block
// and reused by every block below it, so the http level with thousands of
// servers is scanned once per directive name, not once per location.
//
// The index is created on the first Effective call on a tree that Load or
// Parse built, and is safe for concurrent use: the table of levels is
// read-only once built, and each level's answers are appended under the
// level's lock (one of 64 the levels share) and published atomically, so
// lookups take no lock. Nodes of
// other trees are answered by the plain walk (effectiveUncached), which
// TestEffectiveIndexMatchesWalk compares with the index on every block of
// the test corpus.
type effIndex struct {
	// levels has an entry per level of the tree (every block and the
	// root), numbered by Node.level when the tree is built, so a level's
	// entry is found without a map from Node to index, whose lookups
	// missed the cache on large trees.
	levels []effLevel
	// leaf marks the levels without blocks below them (most locations):
	// no level asks them for an inherited value, so they keep only the
	// values their own directives make (see effective).
	leaf []bool
	// locks serialize the writers of a level (lockFor): a mutex per
	// level would add 8 bytes to each of the tens of thousands of levels,
	// and writes are rare (a level's entries are added once).
	locks [64]sync.Mutex
}

// lockFor returns the lock of level i.
func (ix *effIndex) lockFor(i int32) *sync.Mutex { return &ix.locks[i%int32(len(ix.locks))] }

// effLevel holds the answers memoized at one level: few (the names rules
// ask about), so they are found by a linear scan of small chunks.
type effLevel struct {
	head atomic.Pointer[effChunk] // writers hold effIndex.lockFor; readers take no lock
}

// effChunk is a run of entries; a full chunk is never written again and
// the newest chunk is the head. The first chunk of a level holds two
// entries and each next one twice as many as the one before: most levels
// are asked about one or two names (a location that sets them), a few
// (http, server) about dozens.
type effChunk struct {
	n       atomic.Int32
	entries []effEntry // len is the capacity; the first n are written
	next    *effChunk
}

const effFirstChunk = 2

// effEntry is the value of the directive spec describes at a level, one
// per (level, spec). own marks an entry whose spec is effectiveSpec(name,
// level): the one Effective answers with; the others are asked only by
// the levels below, whose spec may differ (an upstream's
// keepalive_timeout is not the http one). An entry names its directive by
// spec.Name: for a name the table does not know, spec is a stand-in
// holding only the name, and unknown is set. (24 bytes: the memo has an
// entry per name asked at most blocks of a tree.)
type effEntry struct {
	spec    *Spec
	val     *effVal
	own     bool
	unknown bool
}

// tableSpec is the Spec an Effective answer reports: nil for an unknown
// name.
func (e *effEntry) tableSpec() *Spec {
	if e.unknown {
		return nil
	}
	return e.spec
}

// effVal is the version-independent part of a Setting: the directives
// that make up the value at a level (nil for none). Levels that inherit
// share their parent's effVal. The argument copies are made on first use,
// so callers that only need the nodes never pay for them.
type effVal struct {
	nodes  []*Node
	once   sync.Once
	values [][]string // values[0] is the Args of the Setting
}

func (f *effVal) argLists() ([]string, [][]string) {
	f.once.Do(func() {
		f.values = make([][]string, len(f.nodes))
		for i, n := range f.nodes {
			f.values[i] = argValues(n)
		}
	})
	return f.values[0], f.values
}

// effIndex returns the memo of n's tree, building it on first use; nil for
// a node that no Config owns.
func (n *Node) effIndex() *effIndex {
	t := n.tree()
	if t == nil || t.cfg == nil {
		return nil
	}
	c := t.cfg
	if ix := c.eff.Load(); ix != nil {
		return ix
	}
	if c.tree == nil {
		return nil
	}
	c.eff.CompareAndSwap(nil, newEffIndex(c.tree, t))
	return c.eff.Load()
}

func newEffIndex(root *Node, t *treeRoot) *effIndex {
	n := t.levels
	ix := &effIndex{levels: make([]effLevel, n), leaf: make([]bool, n)}
	root.Walk(func(m *Node) bool {
		if m.level == 0 {
			return false // a simple directive: no level below it
		}
		leaf := true
		for _, c := range m.Children {
			if c.Block != nil {
				leaf = false
				break
			}
		}
		ix.leaf[m.level-1] = leaf
		return !leaf
	})
	return ix
}

// index returns the position of level m in ix.levels; false for a node
// that is not a level. m must belong to ix's tree, as every node does
// that effective, nodes and lookup see: ix is the one of the tree of the
// node Effective was asked about, and lookup only climbs from it.
func (ix *effIndex) index(m *Node) (int32, bool) {
	if m.level == 0 {
		return 0, false
	}
	return m.level - 1, true
}

// find returns the entry that matches; spec nil asks for the own entry of
// name.
func (l *effLevel) find(name string, spec *Spec) (effEntry, bool) {
	for c := l.head.Load(); c != nil; c = c.next {
		n := c.n.Load()
		for i := range c.entries[:n] {
			e := &c.entries[i]
			if spec == nil {
				if e.own && e.spec.Name == name {
					return *e, true
				}
			} else if e.spec == spec {
				return *e, true
			}
		}
	}
	return effEntry{}, false
}

// add records e unless an entry for the same spec (or, for an own entry,
// the same name) exists, and returns the entry in the memo: the first one
// recorded wins. mu is the level's lock (effIndex.lockFor).
func (l *effLevel) add(mu *sync.Mutex, e effEntry) effEntry {
	mu.Lock()
	defer mu.Unlock()
	if e.own {
		if old, ok := l.find(e.spec.Name, nil); ok {
			return old
		}
	} else if old, ok := l.find(e.spec.Name, e.spec); ok {
		return old
	}
	c := l.head.Load()
	if c == nil || int(c.n.Load()) == len(c.entries) {
		size := effFirstChunk
		if c != nil {
			size = 2 * len(c.entries)
		}
		c = &effChunk{next: c, entries: make([]effEntry, size)}
		c.entries[0] = e
		c.n.Store(1)
		l.head.Store(c)
		return e
	}
	n := c.n.Load()
	c.entries[n] = e
	c.n.Store(n + 1)
	return e
}

// childContext is Node.ChildContext, read from the children when there
// are some (they were built in that context), which spares a directive
// table lookup on every level of every Effective call.
func childContext(m *Node) Context {
	if m.Directive != nil && len(m.Children) > 0 {
		return m.Children[0].Ctx
	}
	return m.ChildContext()
}

// settingLevel is the level whose value Effective reports for n: n
// itself for the root and blocks, else the block that holds n.
func settingLevel(n *Node) *Node {
	if n.Directive != nil && n.Block == nil && n.Parent != nil {
		return n.Parent
	}
	return n
}

// effective is Node.Effective answered from the memo. It returns the same
// Setting as effectiveUncached, except that Args, Values and Nodes are
// shared between calls.
func (ix *effIndex) effective(n *Node, name string, v Version) Setting {
	level := settingLevel(n)
	i, ok := ix.index(level)
	if !ok {
		return n.effectiveUncached(name, v)
	}
	e, ok := ix.levels[i].find(name, nil)
	if !ok {
		e = ix.newEntry(level, i, name, effectiveSpec(name, level))
	}
	spec := e.tableSpec()
	s := Setting{Name: name, Version: v, Spec: spec}
	switch {
	case spec == nil:
	case e.val != nil:
		s.Node = e.val.nodes[0]
		s.Args, s.Values = e.val.argLists()
		if spec.Merge == MergeArray || spec.Merge == MergeBitmask {
			s.Nodes = e.val.nodes
		}
	default:
		if vals := spec.Default(v); vals != nil {
			s.Default = true
			s.Args = vals[0]
			s.Values = vals
		}
	}
	return s
}

// nodes is Node.EffectiveNodes answered from the memo. A leaf level that
// sets the directive itself answers from its children, without an entry
// (the common case of a location asked about its own proxy_set_header
// lines costs no allocation); every other answer goes through the memo as
// in effective, without the argument copies.
func (ix *effIndex) nodes(n *Node, name string) []*Node {
	level := settingLevel(n)
	i, ok := ix.index(level)
	if !ok {
		return n.effectiveNodesUncached(name)
	}
	if e, ok := ix.levels[i].find(name, nil); ok {
		return e.val.list()
	}
	spec := effectiveSpec(name, level)
	if ix.leaf[i] && spec != nil && spec.Contexts != CtxEvents {
		if own := ownNodes(level, spec, name); len(own) > 0 {
			return own
		}
	}
	return ix.newEntry(level, i, name, spec).val.list()
}

// list returns the directives of f; nil for nil (unset).
func (f *effVal) list() []*Node {
	if f == nil {
		return nil
	}
	return f.nodes
}

// newEntry computes the own entry of name at level (index i), whose
// effective spec is spec, and memoizes it unless level is a leaf that
// does not set the directive itself.
func (ix *effIndex) newEntry(level *Node, i int32, name string, spec *Spec) effEntry {
	l := &ix.levels[i]
	e := effEntry{spec: spec, own: true}
	if spec == nil {
		// The stand-in keeps a copy: the memo never holds the caller's
		// string, so a name built per call can stay on its stack.
		e.spec, e.unknown = &Spec{Name: strings.Clone(name)}, true
	}
	switch {
	case spec == nil:
	case spec.Contexts == CtxEvents:
		e.val = ix.lookup(level, spec, name) // asks the root
	default:
		if old, ok := l.find(name, spec); ok {
			e.val = old.val
		} else {
			e.val = ix.compute(level, spec, name)
		}
	}
	// A leaf level records only a value of its own: an inherited one
	// (or none) is found again at the parent, which memoizes it, for
	// the cost of a scan of the leaf's few children. Most levels are
	// leaves, and they would otherwise hold one entry per name asked.
	if !ix.leaf[i] || (e.val != nil && e.val.nodes[0].Parent == level) {
		e = l.add(ix.lockFor(i), e)
	}
	return e
}

// lookup is lookupLevels memoized per level: the value at a level that
// does not set the directive is its parent's. nil means unset.
func (ix *effIndex) lookup(m *Node, spec *Spec, name string) *effVal {
	if spec.Contexts == CtxEvents {
		m = m.Root()
	}
	i, ok := ix.index(m)
	if !ok {
		return ix.compute(m, spec, name)
	}
	l := &ix.levels[i]
	if e, ok := l.find(name, spec); ok {
		return e.val
	}
	// One entry per (level, spec): marked own when it is also the answer
	// for Effective at this level, so that asking there later adds
	// nothing.
	own := effectiveSpec(name, m) == spec
	return l.add(ix.lockFor(i), effEntry{spec: spec, val: ix.compute(m, spec, name), own: own}).val
}

// compute finds the value at level m, which the memo does not have yet.
func (ix *effIndex) compute(m *Node, spec *Spec, name string) *effVal {
	if spec.Contexts == CtxEvents {
		if ev := m.First("events"); ev != nil {
			if nodes := ev.Find(name); len(nodes) > 0 {
				return &effVal{nodes: nodes}
			}
		}
		return nil
	}
	return ix.levelVal(m, spec, name)
}

// levelVal computes the value at level m: its own directives, or what it
// inherits according to spec.Merge (see lookupLevels).
func (ix *effIndex) levelVal(m *Node, spec *Spec, name string) *effVal {
	if found := ownNodes(m, spec, name); len(found) > 0 {
		return &effVal{nodes: found}
	}
	ctx := childContext(m)
	switch spec.Merge {
	case MergeNone:
		return nil
	case MergeNoname:
		if ctx != CtxLocationIf && ctx != CtxLimitExcept {
			return nil
		}
	}
	if m.Parent == nil {
		return nil
	}
	return ix.lookup(m.Parent, spec, name)
}

// ownNodes returns the directives of level m that make up the value of
// name by themselves: its children called name when spec allows them in
// m's body (only the first for a single-valued directive).
func ownNodes(m *Node, spec *Spec, name string) []*Node {
	if childContext(m)&spec.Contexts == 0 {
		return nil
	}
	one := spec.Merge == MergeScalar || spec.Merge == MergeNoname || spec.Merge == MergeNone
	return childrenNamed(m, name, one)
}

// childrenNamed returns m's children called name, or only the first one
// when one is set, like Find but without allocating when they are one run
// of consecutive children (the usual case: one directive, or the
// proxy_set_header lines of a snippet): the result is then a slice of
// m.Children whose capacity ends with it, so appending to it copies.
func childrenNamed(m *Node, name string, one bool) []*Node {
	if idx := m.childIndex(); idx != nil {
		found := idx[name]
		if one && len(found) > 1 {
			found = found[:1:1]
		}
		return found
	}
	kids := m.Children
	i := 0
	for i < len(kids) && kids[i].Name != name {
		i++
	}
	if i == len(kids) {
		return nil
	}
	if one {
		return kids[i : i+1 : i+1]
	}
	j := i + 1
	for j < len(kids) && kids[j].Name == name {
		j++
	}
	rest := j
	for rest < len(kids) && kids[rest].Name != name {
		rest++
	}
	if rest == len(kids) {
		return kids[i:j:j]
	}
	out := append([]*Node(nil), kids[i:j]...)
	for _, c := range kids[rest:] {
		if c.Name == name {
			out = append(out, c)
		}
	}
	return out
}
