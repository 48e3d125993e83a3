package config

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecodeHCL feeds arbitrary bytes to Decode and, when they decode,
// Validate: neither may panic, diagnostics must carry a position inside the
// input, and a configuration that decodes survives Encode and Decode again
// unchanged (Encode is the translator's output format).
func FuzzDecodeHCL(f *testing.F) {
	for _, glob := range []string{"testdata/*.hcl", "../server/testdata/*.hcl", "../translate/testdata/*.hcl"} {
		files, _ := filepath.Glob(glob)
		for _, name := range files {
			if src, err := os.ReadFile(name); err == nil {
				f.Add(src)
			}
		}
	}
	f.Add([]byte(`instance "a" { version = "1.22" }`))
	f.Add([]byte("instance \"\" {\n server {\n listen = [\"127.0.0.1:0\"]\n location \"/\" { return = \"200 ok\" }\n }\n}\n"))
	f.Add([]byte("instance \"x\" { upstream \"u\" { server \"127.0.0.1:1\" { weight = -1 } } }"))
	f.Add([]byte("\xff\xfe\x00${\"\"}%{ for x in y }"))
	f.Fuzz(func(t *testing.T, src []byte) {
		cfg, diags := Decode("fuzz.hcl", src)
		for _, d := range diags {
			if d.Subject != nil && (d.Subject.Start.Byte < 0 || d.Subject.Start.Byte > len(src)) {
				t.Fatalf("diagnostic %q at byte %d outside the %d-byte input", d.Summary, d.Subject.Start.Byte, len(src))
			}
		}
		if cfg == nil {
			if !diags.HasErrors() {
				t.Fatal("nil configuration without an error")
			}
			return
		}
		cfg.Validate()
		out := Encode(cfg)
		again, diags := Decode("again.hcl", out)
		if diags.HasErrors() {
			t.Fatalf("Encode output does not decode: %v\n%s", diags, out)
		}
		if out2 := Encode(again); !bytes.Equal(out, out2) {
			t.Fatalf("Encode is not stable:\n%s\n---\n%s", out, out2)
		}
	})
}
