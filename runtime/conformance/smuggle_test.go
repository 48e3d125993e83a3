package conformance

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestSmuggleMatrixForwardsUnambiguously checks the recorded transcripts of
// the request smuggling matrix (testdata/conformance/smuggle-*.txtar):
// there are at least 30 scenarios, and every request a backend received
// has at most one framing header line (never Content-Length with
// Transfer-Encoding, never two of either) and none of the hop-by-hop
// headers nginx drops (Keep-Alive, TE, Upgrade). ngxkeep is held to these
// transcripts by TestConformance, so it inherits the guarantee.
func TestSmuggleMatrixForwardsUnambiguously(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(scenarioDir, "smuggle-*.txtar"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 30 {
		t.Fatalf("%d smuggle scenarios, want at least 30", len(files))
	}
	framing := regexp.MustCompile(` framing=(\S+)`)
	hop := regexp.MustCompile(` hop=(\S+)`)
	forwarded := 0
	for _, name := range files {
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(src), "\n") {
			if !strings.HasPrefix(line, "> back1 #") {
				continue
			}
			// One line per backend connection: "GET / HTTP/1.1 ... , POST ...".
			for _, req := range strings.Split(line, ", ") {
				f := framing.FindStringSubmatch(req)
				if f == nil {
					t.Errorf("%s: no framing in %q (backend needs show=framing,hop)", filepath.Base(name), req)
					continue
				}
				forwarded++
				if strings.Contains(f[1], "+") {
					t.Errorf("%s: ambiguous framing forwarded: %q", filepath.Base(name), req)
				}
				if h := hop.FindStringSubmatch(req); h != nil {
					for _, name := range strings.Split(h[1], "+") {
						switch name {
						case "keep-alive", "te", "upgrade":
							t.Errorf("%s: hop-by-hop %s forwarded: %q", filepath.Base(name), name, req)
						}
					}
				}
			}
		}
	}
	if forwarded == 0 {
		t.Fatal("no forwarded request in the matrix")
	}
}
