package parser

import (
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"75", 75 * time.Second, true},
		{"75s", 75 * time.Second, true},
		{"500ms", 500 * time.Millisecond, true},
		{"1h30m", 90 * time.Minute, true},
		{"1h 30m", 90 * time.Minute, true},
		{"2d", 48 * time.Hour, true},
		{"1w", 7 * 24 * time.Hour, true},
		{"1m30", 90 * time.Second, true}, // a trailing bare number is seconds
		{"0", 0, true},
		{"1s500ms", 1500 * time.Millisecond, true},
		{"30m1h", 0, false}, // units must decrease
		{"1h1h", 0, false},
		{"1y", 0, false}, // not for millisecond directives
		{"1M", 0, false},
		{"", 0, false},
		{"s", 0, false},
		{"1x", 0, false},
		{"-1s", 0, false},
		{"99999999999999999999", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseTime(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseTime(%q) = %v, %v; want %v, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
	if got, err := ParseTimeSec("1y"); err != nil || got != 365*24*time.Hour {
		t.Errorf("ParseTimeSec(1y) = %v, %v", got, err)
	}
	if got, err := ParseTimeSec("1M2d"); err != nil || got != 32*24*time.Hour {
		t.Errorf("ParseTimeSec(1M2d) = %v, %v", got, err)
	}
	if _, err := ParseTimeSec("10ms"); err == nil {
		t.Error("ParseTimeSec accepts ms")
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in     string
		size   int64
		sizeOK bool
		off    int64
		offOK  bool
	}{
		{"512", 512, true, 512, true},
		{"8k", 8192, true, 8192, true},
		{"8K", 8192, true, 8192, true},
		{"1m", 1 << 20, true, 1 << 20, true},
		{"2g", 0, false, 2 << 30, true},
		{"", 0, false, 0, false},
		{"k", 0, false, 0, false},
		{"1.5m", 0, false, 0, false},
		{"-1", 0, false, 0, false},
		{"1t", 0, false, 0, false},
	}
	for _, tt := range tests {
		if got, err := ParseSize(tt.in); (err == nil) != tt.sizeOK || got != tt.size {
			t.Errorf("ParseSize(%q) = %d, %v", tt.in, got, err)
		}
		if got, err := ParseOffset(tt.in); (err == nil) != tt.offOK || got != tt.off {
			t.Errorf("ParseOffset(%q) = %d, %v", tt.in, got, err)
		}
	}
}

func TestParseFlag(t *testing.T) {
	for in, want := range map[string]bool{"on": true, "ON": true, "Off": false, "off": false} {
		if got, err := ParseFlag(in); err != nil || got != want {
			t.Errorf("ParseFlag(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseFlag("yes"); err == nil {
		t.Error("ParseFlag(yes) succeeded")
	}
}
