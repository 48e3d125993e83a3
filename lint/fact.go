package lint

import "sync"

// A Fact is a value derived from the configs once per run and target
// version, and shared by every rule that asks for it (the role of required
// analyzers' results in go/analysis). Rule families use facts for what
// several rules need at the same place: the parsed header list of a
// location, the cache an upstream gets, the route a request takes.
//
// Declare a fact as a package-level variable and read it through the pass:
//
//	var headers = lint.NewFact(func(p *lint.Pass, loc *parser.Node) headerList {
//		... // may call p.Effective and other facts' Get
//	})
//
//	func runKA02(pass *lint.Pass) error {
//		h := headers.Get(pass, p.Block())
//
// compute must depend only on its key, the configs and pass.Target (never
// on the calling rule or its options), must not report findings, and must
// treat what it returns as read-only once returned: the value is shared
// between goroutines. Get computes at most once per key in the common
// case; two rules asking for the same missing key at the same moment may
// both compute it, and one result wins.
type Fact[K comparable, V any] struct {
	compute func(*Pass, K) V
}

// NewFact declares a fact computed by compute.
func NewFact[K comparable, V any](compute func(*Pass, K) V) *Fact[K, V] {
	return &Fact[K, V]{compute: compute}
}

type factKey struct {
	fact any // *Fact[K, V]
	key  any
}

// factStore holds the facts of one run and target version.
type factStore struct {
	mu sync.RWMutex
	m  map[factKey]any
}

// Get returns the fact for k, computing it on first use.
func (f *Fact[K, V]) Get(p *Pass, k K) V {
	st := &p.shared.facts
	fk := factKey{f, k}
	st.mu.RLock()
	v, ok := st.m[fk]
	st.mu.RUnlock()
	if ok {
		return v.(V)
	}
	val := f.compute(p, k)
	st.mu.Lock()
	if st.m == nil {
		st.m = map[factKey]any{}
	}
	if old, ok := st.m[fk]; ok {
		val = old.(V)
	} else {
		st.m[fk] = val
	}
	st.mu.Unlock()
	return val
}
