package parser

import (
	"testing"
	"unsafe"
)

// TestSizes pins the sizes of the types the tree holds by the hundred
// thousand (a 10,000-server configuration has about 400,000 words), so
// that a field added or widened is a decision rather than an accident.
// Pos is three int32s; Arg, Directive and Block have no padding to gain
// by reordering (Arg's Quote and Block's Opaque leave 7 bytes that only
// another small field could fill).
func TestSizes(t *testing.T) {
	for _, c := range []struct {
		name      string
		got, want uintptr
	}{
		{"Pos", unsafe.Sizeof(Pos{}), 12},
		{"Arg", unsafe.Sizeof(Arg{}), 64},
		{"Directive", unsafe.Sizeof(Directive{}), 136},
		{"Block", unsafe.Sizeof(Block{}), 72},
		{"Comment", unsafe.Sizeof(Comment{}), 40},
		{"Node", unsafe.Sizeof(Node{}), 72},
	} {
		if c.got != c.want {
			t.Errorf("%s is %d bytes, want %d", c.name, c.got, c.want)
		}
	}
}
