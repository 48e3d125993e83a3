package lint

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/ngxkeep/ngxkeep/parser"
)

func optAnalyzer() *Analyzer {
	a := fakeAnalyzer("TO91", "idle-test", "keepalive_timeout")
	a.Options = []Option{
		{Name: "backend_idle_timeout", Kind: OptionDuration, Default: "75s", Doc: "assumed backend idle timeout"},
		{Name: "min_requests", Kind: OptionInt, Default: "1000", Doc: "x"},
	}
	return a
}

func TestParseConfig(t *testing.T) {
	src := `
nginx_version = "1.22.1"
fail_on       = "error"
baseline      = "base.json"
disable       = ["zz-one", "NK02"]
backend_idle_timeout = "30s"

rule "TO91" {
  severity     = "info"
  min_requests = 10
}

tier "alb" {
  in_front_of  = "edge.conf"
  idle_timeout = "60s"
}
tier "node" {
  address         = ["127.0.0.1:3000", "unix:/run/app.sock"]
  idle_timeout    = "5s"
  request_timeout = "2m"
  max_requests    = 100
}
`
	as := []*Analyzer{optAnalyzer(), fakeAnalyzer("ZZ01", "zz-one", "x")}
	c, err := ParseConfig([]byte(src), "/p/.ngxkeep.hcl", as)
	if err != nil {
		t.Fatal(err)
	}
	if c.Target != (parser.Version{Major: 1, Minor: 22, Patch: 1}) || c.FailOn != SeverityError || c.Baseline != "/p/base.json" {
		t.Errorf("target %v fail_on %v baseline %q", c.Target, c.FailOn, c.Baseline)
	}
	if !c.disabledID("ZZ01") || !c.disabledID("NK02") || c.disabledID("TO91") {
		t.Errorf("disable list not applied: %v", c.disable)
	}
	rc := c.Rules["TO91"]
	if rc == nil || rc.Severity != SeverityInfo {
		t.Fatalf("rule TO91 config = %+v", rc)
	}
	opts, err := analyzerOptions(as[0], rc, c)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(map[string]any{"backend_idle_timeout": 30 * time.Second, "min_requests": 10}, opts); d != "" {
		t.Errorf("options (-want +got):\n%s", d)
	}
	if len(c.Tiers) != 2 {
		t.Fatalf("tiers = %d", len(c.Tiers))
	}
	alb, node := c.Tiers[0], c.Tiers[1]
	if alb.IdleTimeout != time.Minute || len(alb.inFrontOf) != 1 || alb.inFrontOf[0] != "edge.conf" || alb.Pos.Line != 13 {
		t.Errorf("alb = %+v", alb)
	}
	wantAddr := []Addr{{Host: "127.0.0.1", Port: 3000}, {Unix: "/run/app.sock"}}
	if d := cmp.Diff(wantAddr, node.Addresses); d != "" || node.RequestTimeout != 2*time.Minute || node.MaxRequests != 100 {
		t.Errorf("node = %+v %s", node, d)
	}
}

func TestParseConfigErrors(t *testing.T) {
	as := []*Analyzer{optAnalyzer()}
	for _, tc := range []struct{ src, want string }{
		{"nginx_versoin = \"1.22\"\n", `c.hcl:1:1: Unsupported argument: An argument named "nginx_versoin" is not expected here. Did you mean "nginx_version"?`},
		{"nginx_version = \"1.x\"\n", `c.hcl:1:17: Invalid nginx_version: invalid nginx version "1.x"`},
		{"fail_on = \"fatal\"\n", `c.hcl:1:11: Invalid fail_on`},
		{"disable = [\"TO9\"]\n", `c.hcl:1:11: Unknown rule in disable: no rule "TO9". Did you mean "TO91"?`},
		{"rule \"idle-tset\" {}\n", `c.hcl:1:6: Unknown rule: no rule "idle-tset". Did you mean "idle-test"?`},
		{"rule \"TO91\" {\n  backend_idle_timout = \"5s\"\n}\n", `c.hcl:2:3: Unsupported argument: Rule TO91 has no option "backend_idle_timout". Did you mean "backend_idle_timeout"?`},
		{"rule \"TO91\" {\n  min_requests = \"many\"\n}\n", `c.hcl:2:18: Invalid value for min_requests: "many" is not a non-negative integer (want a integer)`},
		{"rule \"TO91\" {\n  severity = \"loud\"\n}\n", `c.hcl:2:14: Invalid severity`},
		{"rule \"TO91\" {}\nrule \"idle-test\" {}\n", `c.hcl:2:6: Duplicate rule block`},
		{"tier \"x\" {\n  idle_timeout = \"5s\"\n}\n", `c.hcl:1:1: Tier without a place`},
		{"tier \"x\" {\n  address = \"h:0\"\n  idle_timeout = \"5s\"\n}\n", `c.hcl:2:13: Invalid tier address`},
		{"tier \"x\" {\n  address = \"h:1\"\n  idle_timeout = \"5 s\"\n}\n", `c.hcl:3:18: Invalid idle_timeout`},
		{"tier \"x\" {\n  address = 5\n  idle_timeout = \"5s\"\n}\n", `c.hcl:2:13: Invalid value: A string or a list of strings is required.`},
		{"tier \"x\" {\n  address = \"h:1\"\n}\n", `c.hcl:1:10: Missing required argument: The argument "idle_timeout" is required`},
		{"tiers \"x\" {}\n", `c.hcl:1:1: Unsupported block type: Blocks of type "tiers" are not expected here. Did you mean "tier"?`},
		{"backend_idle_timeout = \"soon\"\n", `c.hcl:1:24: Invalid value for backend_idle_timeout`},
		{"nginx_version = \"1.22\n", `c.hcl:1:22: Invalid multi-line string`},
	} {
		_, err := ParseConfig([]byte(tc.src), "c.hcl", as)
		var ce *ConfigError
		if !errors.As(err, &ce) {
			t.Errorf("%q: err = %v, want a ConfigError", tc.src, err)
			continue
		}
		if !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%q:\n got %s\nwant %s", tc.src, err, tc.want)
		}
		if es := ce.Errors(); len(es) == 0 || es[0].File != "c.hcl" || !es[0].Pos.IsValid() {
			t.Errorf("%q: Errors() = %+v, want positions", tc.src, es)
		}
	}
}

// TestParseConfigTooLarge: a config file over MaxConfigSize is refused at
// 1:1, also when LoadConfig reads it from disk (only up to the limit).
func TestParseConfigTooLarge(t *testing.T) {
	src := []byte(strings.Repeat("\n", MaxConfigSize+1))
	path := filepath.Join(t.TempDir(), "c.hcl")
	if err := os.WriteFile(path, src, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadConfig(path, nil); err == nil || !strings.Contains(err.Error(), "Config file too large") {
		t.Errorf("LoadConfig: err = %v, want Config file too large", err)
	}
	if _, err := ParseConfig(src[:MaxConfigSize], "c.hcl", nil); err != nil {
		t.Errorf("a config of exactly MaxConfigSize bytes: %v", err)
	}
	_, err := ParseConfig(src, "c.hcl", nil)
	var ce *ConfigError
	const want = "c.hcl:1:1: Config file too large: file is larger than 1 MiB, ngxkeep's limit"
	if !errors.As(err, &ce) || err.Error() != want {
		t.Fatalf("err = %v, want %s", err, want)
	}
	if es := ce.Errors(); len(es) != 1 || es[0].Pos != (parser.Pos{Line: 1, Col: 1}) {
		t.Errorf("Errors() = %+v, want one at 1:1", es)
	}
}

func TestParseTimeOptionKinds(t *testing.T) {
	for _, tc := range []struct {
		k   OptionKind
		in  string
		out any
		err bool
	}{
		{OptionDuration, "1m30s", 90 * time.Second, false},
		{OptionDuration, "75", 75 * time.Second, false},
		{OptionDuration, "1y", nil, true},
		{OptionSize, "8k", int64(8192), false},
		{OptionBool, "true", true, false},
		{OptionBool, "yes", nil, true},
		{OptionInt, "-1", nil, true},
		{OptionString, "x", "x", false},
	} {
		v, err := tc.k.parse(tc.in)
		if (err != nil) != tc.err || (err == nil && v != tc.out) {
			t.Errorf("%s %q = %v, %v", tc.k, tc.in, v, err)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0s", 75 * time.Second: "1m15s", time.Hour: "1h", 86400 * time.Second: "1d",
		500 * time.Millisecond: "500ms", 90 * time.Minute: "1h30m",
	} {
		if got := FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestTopLevelOptionMustBeShared(t *testing.T) {
	a := optAnalyzer()
	b := fakeAnalyzer("TO92", "other", "x")
	b.Options = []Option{{Name: "min_requests", Kind: OptionInt, Default: "1000000", Doc: "y"},
		{Name: "backend_idle_timeout", Kind: OptionDuration, Default: "75s", Doc: "z"}}
	_, err := ParseConfig([]byte("min_requests = 5\n"), "c.hcl", []*Analyzer{a, b})
	if err == nil || !strings.Contains(err.Error(), `c.hcl:1:1: Ambiguous option: Rules TO91, TO92 each have an option "min_requests"`) {
		t.Fatalf("err = %v", err)
	}
	c, err := ParseConfig([]byte("backend_idle_timeout = \"5s\"\n"), "c.hcl", []*Analyzer{a, b})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"TO91", "TO92"} {
		if c.Rules[id] == nil || c.Rules[id].Options["backend_idle_timeout"] != "5s" {
			t.Errorf("%s: shared option not applied: %+v", id, c.Rules[id])
		}
	}
}
