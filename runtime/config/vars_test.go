package config

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseValue(t *testing.T) {
	lit := func(s string) ValuePart { return ValuePart{Text: s} }
	v := func(s string) ValuePart { return ValuePart{Var: s} }
	c := func(n int) ValuePart { return ValuePart{Capture: n} }
	tests := []struct {
		in   string
		want []ValuePart
		err  string
	}{
		{in: "", want: nil},
		{in: "close", want: []ValuePart{lit("close")}},
		{in: "$http_upgrade", want: []ValuePart{v("http_upgrade")}},
		{in: "$Host:$server_port", want: []ValuePart{v("host"), lit(":"), v("server_port")}},
		{in: "${scheme}s://x", want: []ValuePart{v("scheme"), lit("s://x")}},
		// one digit only: $10 is capture 1 followed by "0"
		{in: "/$1/$10", want: []ValuePart{lit("/"), c(1), lit("/"), c(1), lit("0")}},
		{in: "a$b-c", want: []ValuePart{lit("a"), v("b"), lit("-c")}},
		{in: "x$", err: "at the end"},
		{in: "$-", err: "invalid variable name"},
		{in: "${a", err: "closing bracket"},
		{in: "${a-b}", err: "closing bracket"},
	}
	for _, tt := range tests {
		got, err := ParseValue(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseValue(%q) error %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseValue(%q): %v", tt.in, err)
			continue
		}
		if d := cmp.Diff(tt.want, got); d != "" {
			t.Errorf("ParseValue(%q) (-want +got):\n%s", tt.in, d)
		}
	}
}

func TestVarsRoundTripAndValidate(t *testing.T) {
	const src = `
instance "front" {
  version = "1.22.1"
  map "connection_upgrade" {
    source  = "$http_upgrade"
    default = "upgrade"
    entry {
      key   = ""
      value = "close"
    }
    entry {
      key              = "^web(.*)"
      value            = "$1"
      regex            = true
      case_insensitive = true
    }
  }
  server {
    listen { address = "127.0.0.1:8080" }
    set "t" { value = "u" }
    location {
      match = "prefix"
      path  = "/"
      set "x" { value = "$${t}x" }
      proxy {
        pass = "http://$t"
        redirect {
          from = "http://u/"
          to   = "/"
        }
      }
    }
  }
}
`
	cfg, diags := Decode("t.hcl", []byte(src))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	inst := cfg.Instances[0]
	if d := inst.Validate(); d.HasErrors() {
		t.Fatalf("valid configuration rejected: %v", d)
	}
	m := inst.Maps[0]
	if m.Variable != "connection_upgrade" || m.Source != "$http_upgrade" || len(m.Entries) != 2 || m.Entries[0].Key != "" || !m.Entries[1].CaseInsensitive {
		t.Errorf("map decoded as %+v", m)
	}
	loc := inst.Servers[0].Locations[0]
	if inst.Servers[0].Sets[0].Value != "u" || loc.Sets[0].Value != "${t}x" {
		t.Errorf("sets decoded as %q %q", inst.Servers[0].Sets[0].Value, loc.Sets[0].Value)
	}
	if r := loc.Proxy.Redirects; len(r) != 1 || r[0].From != "http://u/" || r[0].To != "/" {
		t.Errorf("redirects decoded as %+v", r)
	}
	back, diags := Decode("t2.hcl", Encode(cfg))
	if diags.HasErrors() {
		t.Fatalf("re-decoding the encoded configuration: %v", diags)
	}
	if got := back.Instances[0].Servers[0].Locations[0].Sets[0].Value; got != "${t}x" {
		t.Errorf("round trip of a ${var} value: %q", got)
	}

	// Errors point at the HCL source.
	bad := strings.NewReplacer(`"^web(.*)"`, `"^web(.*"`, `value = "u"`, `value = "$"`, `key   = ""`, `key   = "dup"`).Replace(src)
	bad = strings.Replace(bad, `    entry {
      key              =`, `    entry {
      key   = "DUP"
      value = "y"
    }
    entry {
      key              =`, 1)
	cfg, diags = Decode("bad.hcl", []byte(bad))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	var all []string
	for _, d := range cfg.Instances[0].Validate() {
		all = append(all, d.Subject.String()+": "+d.Summary+"; "+d.Detail)
	}
	got := strings.Join(all, "\n")
	for _, want := range []string{"bad.hcl:16,", "Invalid map regex", "bad.hcl:24,", "Invalid set value", "Conflicting map key"} {
		if !strings.Contains(got, want) {
			t.Errorf("diagnostics lack %q:\n%s", want, got)
		}
	}
}

func TestHostKeys(t *testing.T) {
	for k, ok := range map[string]bool{
		"example.com": true, "*.example.com": true, ".example.com": true, "www.example.*": true,
		"*": false, "a.*.com": false, "*.a.*": false, "w*.example.com": false,
	} {
		if err := checkHostKey(k); (err == nil) != ok {
			t.Errorf("checkHostKey(%q) = %v, want ok=%v", k, err, ok)
		}
	}
}
