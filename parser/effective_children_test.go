package parser

import "testing"

// TestChildrenNamed checks the lookup behind the memo's values: every
// child of the name in order (only the first when one is set), and a
// result that appending to cannot write into the block's children.
func TestChildrenNamed(t *testing.T) {
	cfg := Parse("t.conf", []byte(`http { server { location / {
		proxy_set_header A 1; proxy_set_header B 2; proxy_pass http://x;
	} location /b {
		proxy_set_header A 1; proxy_pass http://x; proxy_set_header C 3; proxy_set_header D 4;
	} } }`), Options{})
	var locs []*Node
	cfg.Tree().Walk(func(n *Node) bool {
		if n.Directive != nil && n.Name == "location" {
			locs = append(locs, n)
		}
		return true
	})
	if len(locs) != 2 {
		t.Fatalf("found %d locations, want 2", len(locs))
	}
	for _, tc := range []struct {
		loc  int
		one  bool
		want []string // first argument of each result node
	}{
		{0, false, []string{"A", "B"}}, // one run
		{0, true, []string{"A"}},
		{1, false, []string{"A", "C", "D"}}, // two runs
		{1, true, []string{"A"}},
	} {
		got := childrenNamed(locs[tc.loc], "proxy_set_header", tc.one)
		var args []string
		for _, n := range got {
			args = append(args, n.Args[0].Value)
		}
		if len(args) != len(tc.want) {
			t.Fatalf("location %d one=%v: got %v, want %v", tc.loc, tc.one, args, tc.want)
		}
		for i := range args {
			if args[i] != tc.want[i] {
				t.Fatalf("location %d one=%v: got %v, want %v", tc.loc, tc.one, args, tc.want)
			}
		}
		next := locs[tc.loc].Children[len(got)]
		_ = append(got, locs[0])
		if locs[tc.loc].Children[len(got)] != next {
			t.Fatalf("location %d one=%v: appending to the result overwrote a child", tc.loc, tc.one)
		}
	}
	if got := childrenNamed(locs[0], "proxy_read_timeout", false); got != nil {
		t.Fatalf("absent name: got %d nodes, want none", len(got))
	}
}
