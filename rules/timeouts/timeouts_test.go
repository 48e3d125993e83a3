package timeouts

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ngxkeep/ngxkeep/lint/linttest"
)

func TestAnalyzers(t *testing.T) {
	for _, a := range Analyzers {
		t.Run(a.ID, func(t *testing.T) {
			if err := a.Validate(); err != nil {
				t.Fatal(err)
			}
			linttest.Examples(t, a)
			linttest.Run(t, filepath.Join("..", "testdata", a.ID), a)
		})
	}
}

// TestFoundingScenario lints the two founding-scenario configs together
// with every rule of the package: AH01 must explain BOX2's closes (on both
// "forever" settings, naming BOX1's pool and the 413 location), AH02 must
// say that keepalive_time ends connections first, and nothing else may be
// reported.
func TestFoundingScenario(t *testing.T) {
	var text strings.Builder
	for _, name := range []string{"box1-frontend.conf", "box2-backend.conf"} {
		src, err := os.ReadFile(filepath.Join("..", "..", "testdata", "scenarios", name))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&text, "-- %s --\n%s", name, src)
	}
	res := linttest.Lint(t, text.String(), Analyzers...)
	if len(res.Errors) > 0 {
		t.Fatalf("config errors: %v", res.Errors)
	}
	got := map[string]int{}
	for _, f := range res.Findings {
		key := fmt.Sprintf("%s %s:%d", f.Rule, f.File, f.Pos.Line)
		got[key]++
		if f.Rule == "AH01" {
			for _, want := range []string{"keepalive_time 1h (default)", "location = /too-big", "reload", "worker_connections", "box1-frontend.conf"} {
				if !strings.Contains(f.Message, want) {
					t.Errorf("%s: message lacks %q: %s", key, want, f.Message)
				}
			}
			related := false
			for _, r := range f.Related {
				related = related || (r.File == "box1-frontend.conf" && r.Pos.Line == 8)
			}
			if !related {
				t.Errorf("%s: no related position at BOX1's keepalive 512", key)
			}
		}
	}
	want := map[string]int{
		"AH01 box2-backend.conf:6": 1, // keepalive_timeout 86400s
		"AH01 box2-backend.conf:7": 1, // keepalive_requests 10485760
		"AH02 box2-backend.conf:6": 1, // 86400s > keepalive_time 1h
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%s: got %d findings, want %d", k, got[k], n)
		}
	}
	for k, n := range got {
		if want[k] == 0 {
			t.Errorf("unexpected finding %s (%d)", k, n)
		}
	}
}
