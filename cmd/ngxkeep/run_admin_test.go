package main

import "testing"

func TestAdminAddrDefaultsToLoopback(t *testing.T) {
	for in, want := range map[string]string{
		":9900":          "127.0.0.1:9900",
		"9900":           "127.0.0.1:9900",
		"127.0.0.1:9900": "127.0.0.1:9900",
		"0.0.0.0:9900":   "0.0.0.0:9900",
		"[::1]:9900":     "[::1]:9900",
		"localhost:0":    "localhost:0",
	} {
		if got := adminAddr(in); got != want {
			t.Errorf("adminAddr(%q) = %q, want %q", in, got, want)
		}
	}
}
