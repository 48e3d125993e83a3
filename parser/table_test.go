package parser

import (
	"testing"
)

func TestArity(t *testing.T) {
	tests := []struct {
		a        Arity
		allowed  []int
		min, max int
	}{
		{ArgsNone, []int{0}, 0, 0},
		{Args1, []int{1}, 1, 1},
		{Args12, []int{1, 2}, 1, 2},
		{Args13, []int{1, 3}, 1, 3},
		{Args1234, []int{1, 2, 3, 4}, 1, 4},
		{Args7, []int{7}, 7, 7},
		{ArgsFlag, []int{1}, 1, 1},
		{Args1More, []int{1, 2, 8, 100}, 1, -1},
		{Args2More, []int{2, 3, 9}, 2, -1},
		{ArgsAny, []int{0, 1, 50}, 0, -1},
	}
	for _, tt := range tests {
		allowed := map[int]bool{}
		for _, n := range tt.allowed {
			allowed[n] = true
		}
		for n := 0; n <= 10; n++ {
			want := allowed[n] || (tt.max == -1 && n >= tt.min)
			if got := tt.a.Allows(n); got != want {
				t.Errorf("%b.Allows(%d) = %v", tt.a, n, got)
			}
		}
		if tt.a.Min() != tt.min || tt.a.Max() != tt.max {
			t.Errorf("%b: Min %d Max %d, want %d %d", tt.a, tt.a.Min(), tt.a.Max(), tt.min, tt.max)
		}
	}
	if Args7.Allows(8) || ArgsNone.Allows(-1) {
		t.Error("out-of-range counts allowed")
	}
}

func TestLookupByNameAndContext(t *testing.T) {
	tests := []struct {
		name   string
		ctx    Context
		ok     bool
		module string
		args   Arity
	}{
		{"keepalive_timeout", CtxLocation, true, "http_core", Args12},
		{"keepalive_timeout", CtxUpstream, true, "http_upstream_keepalive", Args1},
		{"keepalive_timeout", CtxMain, false, "", 0},
		{"server", CtxHTTP, true, "http_core", ArgsNone},
		{"server", CtxUpstream, true, "http_upstream", Args1More},
		{"server", CtxStream, true, "stream_core", ArgsNone},
		{"keepalive", CtxUpstream, true, "http_upstream_keepalive", Args12},
		{"keepalive", CtxLocation, false, "", 0},
		{"proxy_pass", CtxLocationIf, true, "http_proxy", Args1},
		{"proxy_pass", CtxStreamServer, true, "stream_proxy", Args1},
		{"proxy_pass", CtxServer, false, "", 0},
		{"include", CtxOpaque, true, "conf_file", Args1},
		{"worker_connections", CtxEvents, true, "event", Args1},
		{"no_such_directive", CtxHTTP, false, "", 0},
	}
	for _, tt := range tests {
		s, ok := Lookup(tt.name, tt.ctx)
		if ok != tt.ok {
			t.Errorf("Lookup(%s, %b) ok = %v", tt.name, tt.ctx, ok)
			continue
		}
		if ok && (s.Module != tt.module || s.Args != tt.args) {
			t.Errorf("Lookup(%s, %b) = module %s args %b", tt.name, tt.ctx, s.Module, s.Args)
		}
	}
	if s, ok := Lookup("content_by_lua_block", CtxLocation); !ok || !s.Loose {
		t.Error("gonginx-known names must be accepted loosely")
	}
	if len(Specs("if")) != 2 {
		t.Error(`"if" has a Spec per body context`)
	}
}

func TestVersionFacts(t *testing.T) {
	spec := func(name string, ctx Context) *Spec {
		t.Helper()
		s, ok := Lookup(name, ctx)
		if !ok {
			t.Fatalf("no %s in %b", name, ctx)
		}
		return s
	}
	facts := []struct {
		what      string
		got, want Version
	}{
		{"upstream keepalive_timeout since", spec("keepalive_timeout", CtxUpstream).Since, V1_15_3},
		{"upstream keepalive_requests since", spec("keepalive_requests", CtxUpstream).Since, V1_15_3},
		{"keepalive_time since", spec("keepalive_time", CtxServer).Since, V1_19_10},
		{"upstream keepalive_time since", spec("keepalive_time", CtxUpstream).Since, V1_19_10},
		{"keepalive_min_timeout since", spec("keepalive_min_timeout", CtxHTTP).Since, V1_27_4},
		{"http2_idle_timeout obsolete", spec("http2_idle_timeout", CtxServer).Obsolete, Version{1, 19, 7}},
		{"http2_max_requests obsolete", spec("http2_max_requests", CtxServer).Obsolete, Version{1, 19, 7}},
		{"ssl removed", spec("ssl", CtxServer).Until, Version{1, 25, 1}},
	}
	for _, f := range facts {
		if f.got != f.want {
			t.Errorf("%s = %v, want %v", f.what, f.got, f.want)
		}
	}
	ka := spec("keepalive", CtxUpstream)
	if v, p := ka.ParamsSince([]string{"16", "local"}); v != V1_29_7 || p.Value != "local" {
		t.Errorf("keepalive 16 local needs %v (%v)", v, p)
	}
	if v, _ := ka.ParamsSince([]string{"0"}); v != V1_29_7 {
		t.Errorf("keepalive 0 needs %v", v)
	}
	if v, _ := ka.ParamsSince([]string{"16"}); !v.IsZero() {
		t.Errorf("keepalive 16 needs %v", v)
	}
	if v, _ := spec("server", CtxUpstream).ParamsSince([]string{"app.internal", "resolve"}); v != (Version{1, 27, 3}) {
		t.Errorf("server ... resolve needs %v", v)
	}
	if v, _ := spec("proxy_next_upstream", CtxLocation).ParamsSince([]string{"error", "non_idempotent"}); v != (Version{1, 9, 13}) {
		t.Errorf("non_idempotent needs %v", v)
	}
	if spec("keepalive_time", CtxServer).ExistsIn(Version{1, 18, 0}) || !spec("keepalive_time", CtxServer).ExistsIn(Version{1, 22, 0}) {
		t.Error("ExistsIn for keepalive_time")
	}
}

// TestTableCoversGonginx checks that every name gonginx knows is in the
// table, so no directive gonginx accepts is "unknown" here.
func TestTableCoversGonginx(t *testing.T) {
	for name := range gonginxNames() {
		if name != "" && name != "default" && len(Specs(name)) == 0 {
			t.Errorf("%q is known to gonginx but not to the table", name)
		}
	}
}

func TestContextString(t *testing.T) {
	for c, want := range map[Context]string{
		CtxLocation:               "location",
		CtxHTTP | CtxServer:       "http|server",
		CtxStreamUpstream:         "stream upstream",
		ctxAll:                    "any",
		0:                         "none",
		CtxLocationIf | CtxOpaque: "location if|data block",
	} {
		if got := c.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", c, got, want)
		}
	}
}
