package parser

// Context is where a directive appears, as a bit so that a directive's
// allowed contexts form a mask (like nginx's NGX_HTTP_MAIN_CONF | ...).
type Context uint32

const (
	CtxMain           Context = 1 << iota // top level of nginx.conf
	CtxEvents                             // events {}
	CtxHTTP                               // http {}
	CtxServer                             // http server {}
	CtxLocation                           // location {} (also nested)
	CtxUpstream                           // http upstream {}
	CtxServerIf                           // if {} in server
	CtxLocationIf                         // if {} in location
	CtxLimitExcept                        // limit_except {}
	CtxStream                             // stream {}
	CtxStreamServer                       // stream server {}
	CtxStreamUpstream                     // stream upstream {}
	CtxMail                               // mail {}
	CtxMailServer                         // mail server {}
	CtxOpaque                             // bodies whose lines are data, not directives: map, geo, types, split_clients, match, ...
)

// Node is one directive at one place of use, after include expansion: a file
// included from three locations yields three Nodes for each of its
// directives, each with its own Parent, Chain and Ctx. The include directive
// itself does not appear in the tree; its files' directives take its place.
type Node struct {
	*Directive // nil for the root node

	Parent   *Node
	Children []*Node
	// Chain lists the include directives through which this use was reached,
	// outermost first; empty for directives of the main file.
	Chain []*Directive
	// Ctx is the context the directive appears in (the root node has CtxMain
	// as the context of its children).
	Ctx Context
	// level numbers the Nodes that hold directives (root and blocks) of
	// one tree from 1, for the effective-settings memo; 0 for the others.
	// It fills the padding after Ctx. A Node has no pointer to what its
	// tree shares (treeRoot): tree finds it from the root, which keeps a
	// Node at 72 bytes where a field would make 80.
	level int32
}

// childIndex returns n's children by name when the tree indexed them
// (nodes with at least indexMin children), else nil.
func (n *Node) childIndex() map[string][]*Node {
	if len(n.Children) < indexMin {
		return nil
	}
	if t := n.tree(); t != nil {
		return t.byName[n]
	}
	return nil
}

// IsRoot reports whether n is the root of a tree.
func (n *Node) IsRoot() bool { return n.Directive == nil }
