package lint

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestClipExcerptLongLine(t *testing.T) {
	line := strings.Repeat("a;", 300000)
	start := 100001 // the 'a' at byte 100000 is 0-based column 100000
	got, s, e := clipExcerpt(line, start, start+1)
	if n := len(got); n > excerptMax+2*len("…") {
		t.Fatalf("excerpt is %d bytes, want at most %d", n, excerptMax+2*len("…"))
	}
	if !strings.HasPrefix(got, "…") || !strings.HasSuffix(got, "…") {
		t.Errorf("cut excerpt lacks its … markers: %q", got)
	}
	if got[s:e] != line[start:start+1] {
		t.Errorf("window columns [%d,%d) hold %q, want %q", s, e, got[s:e], line[start:start+1])
	}
	short := "proxy_pass http://box2;"
	if g, s, e := clipExcerpt(short, 11, 22); g != short || s != 11 || e != 22 {
		t.Errorf("short line changed: %q %d %d", g, s, e)
	}
}

func TestClipExcerptKeepsUTF8(t *testing.T) {
	line := strings.Repeat("é", 200) // 2 bytes each
	got, s, _ := clipExcerpt(line, 200, 202)
	if !utf8.ValidString(got) {
		t.Fatalf("excerpt cut inside a rune: %q", got)
	}
	if !strings.HasPrefix(got[s:], "é") {
		t.Errorf("column moved off the reported rune: %q", got[s:])
	}
}
