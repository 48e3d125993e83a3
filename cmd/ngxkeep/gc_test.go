package main

import (
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
)

// TestLintGCPolicy checks that a lint run starts without collections and
// that the first collection (the one the limit triggers) turns the
// default pacing back on without a limit, so a huge configuration cannot
// make the collector run continuously against the limit.
func TestLintGCPolicy(t *testing.T) {
	oldPercent := debug.SetGCPercent(100)
	oldLimit := debug.SetMemoryLimit(math.MaxInt64)
	defer func() {
		debug.SetGCPercent(oldPercent)
		debug.SetMemoryLimit(oldLimit)
	}()

	lintGCPolicy()
	if p, l := gcSettings(); p != -1 || l != gcFreeHeap {
		t.Fatalf("after lintGCPolicy: GOGC %d, limit %d; want -1 (off), %d", p, l, gcFreeHeap)
	}

	runtime.GC() // stands for the collection the limit triggers
	deadline := time.Now().Add(5 * time.Second)
	for {
		p, l := gcSettings()
		if p == 100 && l == math.MaxInt64 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the first collection: GOGC %d, limit %d; want 100, none", p, l)
		}
		time.Sleep(time.Millisecond)
	}
}

// gcSettings reads GOGC and the memory limit without changing them.
func gcSettings() (percent int64, limit int64) {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}, {Name: "/gc/gomemlimit:bytes"}}
	metrics.Read(s)
	return int64(s[0].Value.Uint64()), int64(s[1].Value.Uint64())
}
