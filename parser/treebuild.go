package parser

import (
	"fmt"
	"strings"
	"unsafe"
)

// maxNodes bounds the expanded tree. Real configurations stay far below
// (the 10,000-server benchmark tree has about 270,000 nodes); include
// graphs that multiply (a file included twice by a file included twice ...)
// stop here with an error instead of exhausting memory.
const maxNodes = 1 << 22

// treeRoot is shared by all Nodes of one tree. The root Node holds it,
// without a field of its own: root.Chain is empty, with a capacity of one
// whose element is &treeRoot.mark (see tree). Every Node finds it from the
// root of its tree; a field in each Node would cost 8 bytes per Node
// (0.4 MB on the 2,000-server benchmark tree).
type treeRoot struct {
	// mark must stay the first field: tree converts &mark back to the
	// treeRoot. It is recognized by its name (treeMarkName) and by
	// Trailing pointing at tag, inside this treeRoot, where no parsed
	// directive's comment can be.
	mark Directive
	tag  Comment
	// markChain is root.Chain: mark, sliced to length 0.
	markChain [1]*Directive

	cfg       *Config
	upstreams map[string]*Node // http upstream{} blocks by lower-case name
	// levels counts the Nodes that hold directives (the root and every
	// block), which Node.level numbers from 1.
	levels int32
	// byName indexes the children of the few nodes with many (an http
	// block with thousands of servers) by name, so Find stays cheap; it
	// is kept here rather than in every Node. Written while the tree is
	// built, read-only afterwards.
	byName map[*Node]map[string][]*Node
}

// treeBuilder expands includes into Nodes and checks every directive
// against the directive table in the context of its use.
type treeBuilder struct {
	l        *loader
	root     *treeRoot
	slab     []Node
	count    int
	overflow bool
	// checked records the (file, context) pairs already checked, so a file
	// included many times from the same context is checked once.
	checked map[fileUse]bool
	// ptrs is a slab for Children slices; fileCounts memoizes expandedLen
	// per included file.
	ptrs       []*Node
	fileCounts map[*File]int
	// dupSeen holds the pairs of directives already reported as
	// duplicates.
	dupSeen map[[2]*Directive]bool
	// depth is the block nesting of the directives being expanded, across
	// includes; tooDeep is set once nesting past MaxNesting was reported.
	depth   int
	tooDeep bool
}

type fileUse struct {
	file *File
	ctx  Context
}

func (l *loader) buildTree() *Node {
	b := &treeBuilder{
		l:          l,
		root:       newTreeRoot(l.cfg),
		checked:    make(map[fileUse]bool),
		fileCounts: make(map[*File]int),
	}
	root := b.node(nil, nil, nil, 0)
	root.Chain = b.root.markChain[:0:1]
	root.Children = b.children(l.cfg.Main.Directives)
	b.expand(root, l.cfg.Main.Directives, CtxMain, nil, true)
	b.checkDuplicates(root)
	b.indexChildren(root)
	return root
}

// treeMarkName is the Name of treeRoot.mark, which no configuration
// uses (it starts with a NUL byte).
const treeMarkName = "\x00ngxkeep tree"

func newTreeRoot(cfg *Config) *treeRoot {
	t := &treeRoot{cfg: cfg, upstreams: make(map[string]*Node)}
	t.mark.Name = treeMarkName
	t.mark.Trailing = &t.tag
	t.markChain[0] = &t.mark
	return t
}

// tree returns what n's tree shares, nil for a Node that Load or Parse
// did not build.
func (n *Node) tree() *treeRoot {
	for n.Parent != nil {
		n = n.Parent
	}
	if n.Directive != nil || len(n.Chain) != 0 || cap(n.Chain) != 1 {
		return nil
	}
	d := n.Chain[:1][0]
	if d == nil || d.Name != treeMarkName ||
		uintptr(unsafe.Pointer(d.Trailing)) != uintptr(unsafe.Pointer(d))+tagOffset {
		return nil
	}
	return (*treeRoot)(unsafe.Pointer(d))
}

// tagOffset is the offset of treeRoot.tag from treeRoot.mark.
const tagOffset = unsafe.Offsetof(treeRoot{}.tag)

// indexMin is the number of children from which a node gets a name index.
const indexMin = 32

func (b *treeBuilder) indexChildren(n *Node) {
	if len(n.Children) < indexMin {
		return
	}
	idx := make(map[string][]*Node)
	for _, c := range n.Children {
		idx[c.Name] = append(idx[c.Name], c)
	}
	if b.root.byName == nil {
		b.root.byName = make(map[*Node]map[string][]*Node)
	}
	b.root.byName[n] = idx
}

func (b *treeBuilder) node(d *Directive, parent *Node, chain []*Directive, ctx Context) *Node {
	if len(b.slab) == cap(b.slab) {
		b.slab = make([]Node, 0, 1024)
	}
	b.slab = append(b.slab, Node{Directive: d, Parent: parent, Chain: chain, Ctx: ctx})
	n := &b.slab[len(b.slab)-1]
	if d == nil || d.Block != nil {
		b.root.levels++
		n.level = b.root.levels
	}
	return n
}

// children returns an empty slice with room for the Nodes dirs expand to,
// so that appending never reallocates.
func (b *treeBuilder) children(dirs []*Directive) []*Node {
	n := min(b.expandedLen(dirs), b.l.maxNodes-b.count)
	if n <= 0 {
		return nil
	}
	if len(b.ptrs) < n {
		b.ptrs = make([]*Node, max(4096, n))
	}
	c := b.ptrs[:0:n]
	b.ptrs = b.ptrs[n:]
	return c
}

// expandedLen returns how many Nodes dirs expand to at their level: an
// include stands for the top-level directives of its files.
func (b *treeBuilder) expandedLen(dirs []*Directive) int {
	n := 0
	for _, d := range dirs {
		if d.Name != "include" || d.Block != nil {
			n++
			continue
		}
		for _, f := range d.Include {
			c, ok := b.fileCounts[f]
			if !ok {
				b.fileCounts[f] = 0 // include cycles are cut while loading; be safe anyway
				c = b.expandedLen(f.Directives)
				b.fileCounts[f] = c
			}
			n += c
			if n > b.l.maxNodes {
				return n
			}
		}
	}
	return n
}

// expand adds the Nodes of dirs, which appear in ctx, under parent.
func (b *treeBuilder) expand(parent *Node, dirs []*Directive, ctx Context, chain []*Directive, check bool) {
	for _, d := range dirs {
		if b.overflow {
			return
		}
		// Every directive, include or not, counts toward the bound, so
		// that include-only files cannot multiply unseen.
		b.count++
		if b.count > b.l.maxNodes {
			b.overflow = true
			b.error(d, d.Pos, fmt.Sprintf("includes expand to more than %d directives; the rest is not read", b.l.maxNodes), chain)
			return
		}
		if d.Name == "include" && d.Block == nil {
			if check {
				b.check(d, ctx, chain)
			}
			if len(d.Include) == 0 {
				continue
			}
			sub := append(chain[:len(chain):len(chain)], d)
			for _, f := range d.Include {
				use := fileUse{f, ctx}
				first := !b.checked[use]
				b.checked[use] = true
				b.expand(parent, f.Directives, ctx, sub, first)
			}
			continue
		}
		n := b.node(d, parent, chain, ctx)
		parent.Children = append(parent.Children, n)
		if check {
			b.check(d, ctx, chain)
		}
		b.checkUnique(n)
		if d.Block != nil && !d.Block.Opaque {
			if b.depth >= MaxNesting && len(d.Block.Directives) > 0 {
				// Each file stops at MaxNesting on its own; this is
				// nesting built up by blocks around includes.
				if !b.tooDeep {
					b.tooDeep = true
					b.error(d, d.Block.Open, fmt.Sprintf("blocks are nested too deeply (more than %d levels across includes)", MaxNesting), chain)
				}
				continue
			}
			b.depth++
			n.Children = b.children(d.Block.Directives)
			b.expand(n, d.Block.Directives, bodyContext(d, ctx), chain, check)
			b.depth--
			b.checkDuplicates(n)
			b.indexChildren(n)
		}
	}
}

func (b *treeBuilder) error(d *Directive, pos Pos, msg string, chain []*Directive) {
	b.l.errorAt(d, pos, msg, chain)
}

// check judges one directive the way ngx_conf_handler does: known name,
// allowed context, ";" or "{" as the directive needs, argument count.
// Bodies of map, geo, types, split_clients and charset_map are data.
func (b *treeBuilder) check(d *Directive, ctx Context, chain []*Directive) {
	if b.l.malformed[d] {
		return
	}
	if ctx == CtxOpaque {
		if d.Block != nil {
			// the custom handlers of map, types, ... (ngx_conf_parse)
			b.error(d, d.Block.Open, `unexpected "{"`, chain)
		}
		return
	}
	specs := Specs(d.Name)
	if len(specs) == 0 {
		b.error(d, d.Pos, fmt.Sprintf("unknown directive %q", d.Name), chain)
		return
	}
	var spec *Spec
	for _, s := range specs {
		if s.Loose || s.Contexts&ctx != 0 {
			spec = s
			break
		}
	}
	switch {
	case spec == nil:
		b.error(d, d.Pos, fmt.Sprintf("%q directive is not allowed here", d.Name), chain)
	case spec.Loose:
	case !spec.Block && d.Block != nil:
		b.error(d, d.Block.Open, fmt.Sprintf("directive %q is not terminated by \";\"", d.Name), chain)
	case spec.Block && d.Block == nil:
		b.error(d, d.Pos, fmt.Sprintf("directive %q has no opening \"{\"", d.Name), chain)
	case !spec.Args.Allows(len(d.Args)):
		b.error(d, d.Pos, fmt.Sprintf("invalid number of arguments in %q directive", d.Name), chain)
	default:
		if msg := checkValue(spec, d); msg != "" {
			b.error(d, d.Args[0].Pos, msg, chain)
		} else if vc, ok := valueChecks[d.Name]; ok && vc.ctx&ctx != 0 {
			if msg := vc.check(d); msg != "" {
				b.error(d, d.Pos, msg, chain)
			}
		}
	}
}

// checkUnique reports a second http upstream block of the same name,
// compared case-insensitively (ngx_http_upstream_add: "duplicate
// upstream"), and records the first.
func (b *treeBuilder) checkUnique(n *Node) {
	if n.Name != "upstream" || n.Ctx != CtxHTTP || n.Block == nil || len(n.Args) != 1 {
		return
	}
	name := n.Args[0].Value
	key := strings.ToLower(name)
	if _, dup := b.root.upstreams[key]; dup {
		b.error(n.Directive, n.Args[0].Pos, fmt.Sprintf("duplicate upstream %q", name), n.Chain)
		return
	}
	b.root.upstreams[key] = n
}

// bodyContext returns the context of the directives inside d's block.
func bodyContext(d *Directive, ctx Context) Context {
	if s, ok := Lookup(d.Name, ctx); ok {
		if s.Block && !s.Loose {
			return s.Body
		}
		return CtxOpaque
	}
	// Not allowed here (already reported): read the body as the directive's
	// own, so its contents are still checked sensibly.
	for _, s := range Specs(d.Name) {
		if s.Block {
			return s.Body
		}
	}
	return CtxOpaque
}
