package lint

import (
	"crypto/sha256"
	"strings"
	"testing"
)

// TestSum256 compares sum256 with crypto/sha256 at every length around
// the block and padding boundaries, and on a long input.
func TestSum256(t *testing.T) {
	var inputs []string
	for n := 0; n <= 200; n++ {
		inputs = append(inputs, strings.Repeat("ab\x00\xff", 50)[:n])
	}
	inputs = append(inputs, strings.Repeat("KA02|a.conf|http/server[listen=80]/location(/)/proxy_pass(http://up)|", 500))
	for _, in := range inputs {
		if got, want := sum256([]byte(in)), sha256.Sum256([]byte(in)); got != want {
			t.Fatalf("sum256 of %d bytes = %x, want %x", len(in), got, want)
		}
	}
}
