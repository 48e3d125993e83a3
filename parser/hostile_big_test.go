//go:build slow

package parser

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

// TestHostileBigFiles loads a 100 MB file (refused by its size) and a
// 60 MB one under the size limit but past the word limit, from disk,
// measuring the live heap each leaves: the input plus about 150 bytes per
// word read.
func TestHostileBigFiles(t *testing.T) {
	dir := t.TempDir()
	line := []byte("server_name a.example b.example c.example;\n")
	for _, tc := range []struct {
		name    string
		size    int
		want    string
		maxHeap int64
	}{
		{"100mb.conf", 100 << 20, "file is larger than 64 MiB", 1 << 20},
		{"60mb.conf", 60 << 20, "words and comments in the configuration (ngxkeep's limit)", 60<<20 + MaxWords*160},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.name)
			data := bytes.Repeat(line, tc.size/len(line))
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			data = nil
			var cfg *Config
			var err error
			before, after := heapAfter(func() any {
				cfg, err = Load(path, Options{})
				return cfg
			})
			msg := ""
			switch {
			case err != nil:
				msg = err.Error()
			case hasDiag(cfg, tc.want):
				checkSane(t, cfg)
				msg = tc.want
			}
			if !strings.Contains(msg, tc.want) {
				t.Errorf("got %q, want %q", msg, tc.want)
			}
			grown := int64(after) - int64(before)
			t.Logf("%s: live heap grew by %d MB", tc.name, grown>>20)
			if grown > tc.maxHeap {
				t.Errorf("live heap grew by %d MB, more than %d MB", grown>>20, tc.maxHeap>>20)
			}
		})
	}
}

func TestHostileWordLimit(t *testing.T) {
	// More words than MaxWords in statements of 1000 words, and in
	// comments: the load stops at the limit.
	for name, src := range map[string][]byte{
		"words":    bytes.Repeat([]byte(strings.Repeat("a ", 999)+"a;\n"), MaxWords/1000+10),
		"comments": bytes.Repeat([]byte("#\n"), MaxWords+10),
	} {
		t.Run(name, func(t *testing.T) {
			var cfg *Config
			before, after := heapAfter(func() any {
				cfg = Parse("x.conf", src, Options{FS: fstest.MapFS{}})
				return cfg
			})
			checkSane(t, cfg)
			if !hasDiag(cfg, "words and comments in the configuration (ngxkeep's limit)") {
				t.Errorf("no word-limit diagnostic among %d", len(cfg.Diagnostics))
			}
			// About 100 bytes per word, 24 for the input.
			if grown := int64(after) - int64(before); grown > 400<<20 {
				t.Errorf("heap grew by %d MB", grown>>20)
			}
		})
	}
}
