package config

import (
	"testing"
	"time"
)

func TestParseMsec(t *testing.T) {
	good := map[string]time.Duration{
		"75s":       75 * time.Second,
		"75":        75 * time.Second,
		"0":         0,
		"500ms":     500 * time.Millisecond,
		"1h30m":     90 * time.Minute,
		"1h 30m":    90 * time.Minute,
		"1d":        24 * time.Hour,
		"2w":        14 * 24 * time.Hour,
		"1m30s":     90 * time.Second,
		"1s500ms":   1500 * time.Millisecond,
		"86400s":    86400 * time.Second,
		"10s 250ms": 10*time.Second + 250*time.Millisecond,
	}
	for in, want := range good {
		got, err := ParseMsec(in)
		if err != nil || got != want {
			t.Errorf("ParseMsec(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	// Order must decrease, months/years are not allowed for msec values,
	// and garbage is rejected, as in ngx_parse_time(line, 0).
	for _, in := range []string{"", "s", "1x", "1s1m", "1M", "1y", "-1", "1.5s", "1ms1s", "99999999999999999999"} {
		if got, err := ParseMsec(in); err == nil {
			t.Errorf("ParseMsec(%q) = %v, want error", in, got)
		}
	}
}

func TestParseSec(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"9": 9 * time.Second, "1m": time.Minute, "1M": 30 * 24 * time.Hour, "1y": 365 * 24 * time.Hour,
	} {
		got, err := ParseSec(in)
		if err != nil || got != want {
			t.Errorf("ParseSec(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := ParseSec("10ms"); err == nil {
		t.Error("ParseSec accepted ms")
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"1k": 1024, "8K": 8192, "1m": 1 << 20, "512": 512, "0": 0} {
		got, err := ParseSize(in)
		if err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "k", "1g", "1kb", "-1", " 1"} {
		if _, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) accepted", in)
		}
	}
	if got, err := ParseOffset("2g"); err != nil || got != 2<<30 {
		t.Errorf("ParseOffset(2g) = %d, %v", got, err)
	}
}

func TestParseVersion(t *testing.T) {
	v, err := ParseVersion("nginx/1.22.1")
	if err != nil || v != (Version{1, 22, 1}) {
		t.Fatalf("got %v %v", v, err)
	}
	if !v.AtLeast(V1_21_6) || v.AtLeast(V1_23_4) {
		t.Errorf("version ordering wrong for %v", v)
	}
	for _, in := range []string{"1", "1.x", "1.2.3.4", ""} {
		if _, err := ParseVersion(in); err == nil {
			t.Errorf("ParseVersion(%q) accepted", in)
		}
	}
}
