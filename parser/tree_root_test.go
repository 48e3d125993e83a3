package parser

import (
	"testing"
	"testing/fstest"
	"unsafe"
)

// TestNodeFindsItsTree checks how a Node finds what its tree shares
// without a field of its own: every Node of a built tree finds the same
// treeRoot (and through it the Config), a copy of the root too, and Nodes
// built by hand or with a look-alike root find none.
func TestNodeFindsItsTree(t *testing.T) {
	cfg := Parse("nginx.conf", []byte(`http { upstream u { server 127.0.0.1; }
		server { location / { include none; proxy_pass http://u; } } }`), Options{FS: fstest.MapFS{}})
	root := cfg.Tree()
	want := root.tree()
	if want == nil || want.cfg != cfg {
		t.Fatalf("root.tree() = %v, want the tree of cfg", want)
	}
	n := 0
	root.Walk(func(m *Node) bool {
		n++
		if m.tree() != want || m.Config() != cfg {
			t.Errorf("%s: finds another tree", m.Name)
		}
		return true
	})
	if n < 6 {
		t.Fatalf("walked %d nodes", n)
	}
	if len(root.Chain) != 0 || len(root.ChainLinks()) != 0 {
		t.Errorf("the root has an include chain: %v", root.ChainLinks())
	}
	if cfg.Upstream("U") == nil {
		t.Errorf("Config.Upstream lost the upstream index")
	}
	copied := *root
	if copied.tree() != want {
		t.Errorf("a copy of the root does not find the tree")
	}

	// Nodes not built by Load or Parse have no tree and are answered
	// by the plain walk.
	d := &Directive{Name: "keepalive_timeout", Args: []Arg{{Value: "5s"}}}
	hand := &Node{Children: []*Node{{Directive: d}}}
	hand.Children[0].Parent = hand
	if hand.tree() != nil || hand.Children[0].tree() != nil || hand.Config() != nil {
		t.Errorf("a hand-built node finds a tree")
	}
	forged := &Node{Chain: []*Directive{{Name: treeMarkName}}[:0:1]}
	if forged.tree() != nil {
		t.Errorf("a root whose chain holds a directive named like the mark finds a tree")
	}

	// The point of it all: no pointer field per Node.
	if s := unsafe.Sizeof(Node{}); s != 72 {
		t.Errorf("Node is %d bytes, want 72", s)
	}
}
