package config

import (
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/hashicorp/hcl/v2"
)

func decodeFile(t *testing.T, name string) *Config {
	t.Helper()
	src, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	cfg, diags := Decode(name, src)
	if diags.HasErrors() {
		t.Fatalf("decode: %v", diags)
	}
	return cfg
}

func TestDecodeFull(t *testing.T) {
	cfg := decodeFile(t, "testdata/full.hcl")
	if d := cfg.Validate(); d.HasErrors() {
		t.Fatalf("validate: %v", d)
	}
	inst := cfg.Instances[0]
	if inst.Name != "edge" || *inst.WorkerProcesses != 2 || len(inst.Servers) != 1 {
		t.Fatalf("unexpected instance: %+v", inst)
	}
	s := inst.Servers[0]
	if len(s.Listens) != 2 || !s.Listens[0].DefaultServer || s.Listens[0].Backlog != 128 {
		t.Errorf("listens: %+v %+v", s.Listens[0], s.Listens[1])
	}
	root := s.Locations[0]
	if *root.KeepaliveRequests != 10485760 || root.Types["css"] != "text/css" || len(root.Locations) != 1 {
		t.Errorf("location /: %+v", root)
	}
	if ep := root.ErrorPages[0]; ep.ResponseCode == nil || *ep.ResponseCode != 0 || ep.Codes[1] != 502 {
		t.Errorf("error_page: %+v", ep)
	}
	if got := s.Locations[2].Return; got.Code != 200 || got.Text != "accepted\n" {
		t.Errorf("return: %+v", got)
	}
	// Ranges point into the file.
	if r := root.KeepaliveTimeoutRange; r.Filename != "testdata/full.hcl" || r.Start.Line != 39 || r.Start.Column != 34 {
		t.Errorf("keepalive_timeout range = %v", r)
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	cfg := decodeFile(t, "testdata/full.hcl")
	out := Encode(cfg)
	back, diags := Decode("encoded.hcl", out)
	if diags.HasErrors() {
		t.Fatalf("decode of encoded: %v\n%s", diags, out)
	}
	if diff := cmp.Diff(cfg, back, cmpopts.IgnoreTypes(hcl.Range{})); diff != "" {
		t.Errorf("round trip changed the model (-want +got):\n%s\n%s", diff, out)
	}
	// Deterministic output.
	if again := Encode(back); string(again) != string(out) {
		t.Errorf("second encode differs:\n%s\n---\n%s", out, again)
	}
	// Unset optional settings are not written.
	if strings.Contains(string(out), "send_timeout") || strings.Contains(string(out), "internal") {
		t.Errorf("encode wrote unset settings:\n%s", out)
	}
}

func TestEncodeDefaultsRoundTrip(t *testing.T) {
	// A model with every setting explicit, as the translator writes it.
	v := Version{1, 22, 1}
	loc := Defaults(v)
	loc.Match, loc.Path = MatchPrefix, "/"
	srv := ServerDefaults()
	srv.Listens = []*Listen{{Address: "80"}}
	srv.Locations = []*Location{loc}
	cfg := &Config{Instances: []*Instance{{Name: "x", Version: "1.22.1", Servers: []*Server{srv}}}}
	back, diags := Decode("d.hcl", Encode(cfg))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if diff := cmp.Diff(cfg, back, cmpopts.IgnoreTypes(hcl.Range{})); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if d := back.Validate(); d.HasErrors() {
		t.Errorf("defaults do not validate: %v", d)
	}
}

func TestDecodeErrors(t *testing.T) {
	cases := []struct {
		name, src, want string
	}{
		{"typo", `instance "a" {
  version = "1.22.1"
  server {
    listen { address = "80" }
    location {
      match = "prefix"
      path = "/"
      keepalive_timout = "5s"
    }
  }
}`, `x.hcl:8,7-23: Unsupported argument; An argument named "keepalive_timout" is not expected here. Did you mean "keepalive_timeout"?`},
		{"syntax", "instance \"a\" {\n  version = \"1.22\n}\n", `x.hcl:2`},
		{"type", `instance "a" {
  version = "1.22"
  worker_processes = "two"
}`, `x.hcl:3,23-26: Unsuitable value type`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, diags := Decode("x.hcl", []byte(c.src))
			if !diags.HasErrors() {
				t.Fatal("no error")
			}
			if got := diags.Error(); !strings.Contains(got, c.want) {
				t.Errorf("got %q, want it to contain %q", got, c.want)
			}
		})
	}
}

func TestValidatePositions(t *testing.T) {
	src := `instance "a" {
  version = "1.22.1"
  server {
    listen { address = "127.0.0.1:99999" }
    location {
      match = "prefix"
      path = "/"
      keepalive_timeout = "5x"
      lingering_close = "sometimes"
      client_max_body_size = "1q"
      location {
        match = "regex"
        path = "(["
      }
    }
    location {
      match = "prefix"
      path = "/"
    }
    location {
      match = "exact"
      path = "/x"
      return { code = 1000 }
      error_page {
        codes = [200]
        uri = "/e"
      }
    }
  }
}`
	cfg, diags := Decode("v.hcl", []byte(src))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	got := map[string]string{}
	for _, d := range cfg.Validate() {
		got[d.Summary] = d.Subject.String()
	}
	want := map[string]string{
		"Invalid listen address":       "v.hcl:4,24-41",
		"Invalid keepalive_timeout":    "v.hcl:8,27-31",
		"Invalid lingering_close":      "v.hcl:9,25-36",
		"Invalid client_max_body_size": "v.hcl:10,30-34",
		"Invalid location regex":       "v.hcl:13,16-20",
		"Duplicate location":           "v.hcl:16,5-13",
		"Invalid return code":          "v.hcl:23,23-27",
		"Invalid error_page code":      "v.hcl:25,17-22",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("diagnostics (-want +got):\n%s", diff)
	}
}

func TestValidateInstance(t *testing.T) {
	two := 2
	cfg := &Config{Instances: []*Instance{{
		Name: "a", Version: "1.22.1", WorkerConnections: &two,
		Servers: []*Server{
			{Listens: []*Listen{{Address: "80", DefaultServer: true}, {Address: "81"}}},
			{Listens: []*Listen{{Address: "0.0.0.0:80", DefaultServer: true}}},
		},
	}}}
	var sums []string
	for _, d := range cfg.Validate() {
		sums = append(sums, d.Summary)
	}
	want := []string{"Duplicate default server", "worker_connections too small"}
	if diff := cmp.Diff(want, sums); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
