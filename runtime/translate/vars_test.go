package translate

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/hashicorp/hcl/v2"
	"github.com/ngxkeep/ngxkeep/runtime/config"
)

var ignoreRanges = cmpopts.IgnoreTypes(config.MapEntry{}.DefRange)

func TestMapsAndSets(t *testing.T) {
	const src = `events {}
http {
    map $http_upgrade $connection_upgrade {
        default upgrade;
        ''      close;
    }
    map $http_x_site $site {
        hostnames;
        volatile;
        default      none;
        example.com  exact;
        *.example.com star;
        \default     literal;
        ~*^(?<sub>\w+)\.re\.test$ "re:$sub";
        ~(?<=a)b     lookbehind;
        Example.COM  dup;
    }
    map $uri $later { default first; }
    map $uri $later { default second; }
    map $uri $ext { default "$upstream_status"; }
    server {
        listen 127.0.0.1:8080;
        set $a 1;
        set $b "${a}2";
        location / {
            set $c $connection_upgrade;
            return 200 "$a$b$c$site$sub";
            set $never x;
        }
        location /brk {
            set $d 1;
            break;
            set $e 2;
            return 204;
        }
        location /bad {
            set $host x;
            set $args y;
            add_header X-Up $upstream_addr;
            error_page 404 /e?u=$uri;
            return 404;
        }
    }
}
`
	inst, rep := translateSrc(t, v122, src)
	roundTrip(t, inst, rep)
	if len(inst.Maps) != 4 {
		t.Fatalf("maps: %d, want 4 (the second $later replaces the first)", len(inst.Maps))
	}
	up := inst.Maps[0]
	if d := cmp.Diff(&config.Map{Variable: "connection_upgrade", Source: "$http_upgrade", Default: "upgrade",
		Entries: []*config.MapEntry{{Key: "", Value: "close"}}}, up, ignoreRanges); d != "" {
		t.Errorf("websocket map (-want +got):\n%s", d)
	}
	site := inst.Maps[1]
	want := &config.Map{Variable: "site", Source: "$http_x_site", Default: "none", Hostnames: true, Volatile: true,
		Entries: []*config.MapEntry{
			{Key: "example.com", Value: "exact"},
			{Key: "*.example.com", Value: "star"},
			{Key: "default", Value: "literal"},
			{Key: `^(?<sub>\w+)\.re\.test$`, Value: "re:$sub", Regex: true, CaseInsensitive: true},
		}}
	if d := cmp.Diff(want, site, ignoreRanges); d != "" {
		t.Errorf("hostnames map (-want +got):\n%s", d)
	}
	if inst.Maps[2].Variable != "later" || inst.Maps[2].Default != "second" {
		t.Errorf("a later map of the same variable replaces the first: %+v", inst.Maps[2])
	}
	s := inst.Servers[0]
	sets := func(ss []*config.Set) []string {
		var out []string
		for _, x := range ss {
			out = append(out, x.Variable+"="+x.Value)
		}
		return out
	}
	if d := cmp.Diff([]string{"a=1", "b=${a}2"}, sets(s.Sets)); d != "" {
		t.Errorf("server sets (-want +got):\n%s", d)
	}
	root, brk, bad := s.Locations[0], s.Locations[1], s.Locations[2]
	if d := cmp.Diff([]string{"c=$connection_upgrade"}, sets(root.Sets)); d != "" {
		t.Errorf("location sets stop at return (-want +got):\n%s", d)
	}
	if root.Return == nil || root.Return.Text != "$a$b$c$site$sub" {
		t.Errorf("return = %+v", root.Return)
	}
	if d := cmp.Diff([]string{"d=1"}, sets(brk.Sets)); d != "" || brk.Return != nil {
		t.Errorf("break stops the rewrite directives: sets %v return %+v", sets(brk.Sets), brk.Return)
	}
	if len(bad.Sets) != 0 {
		t.Errorf("sets of built-in variables are not run: %v", sets(bad.Sets))
	}

	for _, c := range []struct {
		name string
		line int
		want Verdict
		note string
	}{
		{"map", 3, Preserved, ""},
		{"", 5, Preserved, ""},
		{"map", 7, Approximated, "not valid for Go's RE2"},
		{"hostnames", 8, Preserved, ""},
		{"volatile", 9, Preserved, ""},
		{`~*^(?<sub>\w+)\.re\.test$`, 14, Preserved, ""},
		{"~(?<=a)b", 15, Unsupported, "RE2"},
		{"Example.COM", 16, Unsupported, "conflicting parameter"},
		{"map", 18, Preserved, "replaced by the map of $later at"},
		{"map", 20, Approximated, "$upstream_status"},
		{"set", 23, Preserved, ""},
		{"set", 24, Preserved, ""},
		{"set", 26, Preserved, ""},
		{"return", 27, Preserved, ""},
		{"set", 28, Preserved, "never reached"},
		{"break", 32, Preserved, "not run"},
		{"set", 33, Preserved, "never reached"},
		{"return", 34, Preserved, "never reached"},
		{"set", 37, Unsupported, "duplicate"},
		{"set", 38, Unsupported, "not implemented"},
		{"add_header", 39, Approximated, "$upstream_addr"},
		{"error_page", 40, Preserved, ""},
	} {
		v, note := verdict(t, rep, c.name, c.line)
		if v != c.want || !strings.Contains(note, c.note) {
			t.Errorf("%s on line %d: %s %q, want %s with %q", c.name, c.line, v, note, c.want, c.note)
		}
	}
}

func TestProxyRedirect(t *testing.T) {
	const src = `events {}
http {
    upstream app { server 127.0.0.1:9000; }
    server {
        listen 127.0.0.1:8080;
        location / { proxy_pass http://app; }
        location /api/ { proxy_pass http://127.0.0.1:9001/v1/; }
        location /off { proxy_redirect off; proxy_pass http://app; }
        location /own {
            proxy_pass http://app;
            proxy_redirect ~*^http://app(:\d+)?/(.*)$ /own/$2;
            proxy_redirect http://$host/ /;
            location /own/nested { proxy_pass http://127.0.0.1:9002; }
        }
        location /outer {
            proxy_pass http://app/o/;
            location /outer/inner { proxy_pass http://127.0.0.1:9003; }
        }
        location /var { set $u app; proxy_pass http://$u; }
        location /early { proxy_redirect default; proxy_pass http://app; }
    }
    server {
        listen 127.0.0.1:8081;
        proxy_redirect http://app/ /s/;
        location / { proxy_pass http://app; }
        location /d { proxy_pass http://app; proxy_redirect default; }
    }
}
`
	inst, rep := translateSrc(t, v122, src)
	roundTrip(t, inst, rep)
	type rule struct{ From, To string }
	rules := func(l *config.Location) []rule {
		var out []rule
		for _, r := range l.Proxy.Redirects {
			f := r.From
			if r.Regex {
				f = "~" + f
				if r.CaseInsensitive {
					f = "~*" + r.From
				}
			}
			out = append(out, rule{f, r.To})
		}
		return out
	}
	s1, s2 := inst.Servers[0], inst.Servers[1]
	for _, c := range []struct {
		name string
		loc  *config.Location
		want []rule
	}{
		{"no URI part: the URL plus / becomes /", s1.Locations[0], []rule{{"http://app/", "/"}}},
		{"URI part: the URL becomes the location", s1.Locations[1], []rule{{"http://127.0.0.1:9001/v1/", "/api/"}}},
		{"off", s1.Locations[2], nil},
		{"explicit rules in order", s1.Locations[3], []rule{{`~*^http://app(:\d+)?/(.*)$`, "/own/$2"}, {"http://$host/", "/"}}},
		{"a nested location inherits explicit rules", s1.Locations[3].Locations[0], []rule{{`~*^http://app(:\d+)?/(.*)$`, "/own/$2"}, {"http://$host/", "/"}}},
		// ngx_http_proxy_merge_loc_conf: the default made at the outer
		// proxy_pass is inherited by the nested one.
		{"a nested location inherits its parent's default", s1.Locations[4].Locations[0], []rule{{"http://app/o/", "/outer"}}},
		{"proxy_pass with variables has no default", s1.Locations[5], nil},
		{"server-level rules", s2.Locations[0], []rule{{"http://app/", "/s/"}}},
		{"explicit default", s2.Locations[1], []rule{{"http://app/", "/"}}},
	} {
		if d := cmp.Diff(c.want, rules(c.loc)); d != "" {
			t.Errorf("%s: (-want +got):\n%s", c.name, d)
		}
	}
	if got := rules(s1.Locations[4]); len(got) != 1 || got[0] != (rule{"http://app/o/", "/outer"}) {
		t.Errorf("/outer: %v", got)
	}
	if v, note := verdict(t, rep, "proxy_redirect", 20); v != Unsupported || !strings.Contains(note, "after the \"proxy_pass\"") {
		t.Errorf("proxy_redirect default before proxy_pass: %s %q", v, note)
	}
	if v, note := verdict(t, rep, "proxy_pass", 6); v != Preserved || note != "" {
		t.Errorf("proxy_pass: %s %q, want preserved (proxy_redirect default is run)", v, note)
	}
	hcl := string(Encode(&config.Config{Instances: []*config.Instance{inst}}, rep))
	if !strings.Contains(hcl, "# nginx default: proxy_redirect default for the proxy_pass at") {
		t.Errorf("the default rule is not marked as a default:\n%s", hcl)
	}
}

// roundTrip checks that the HCL of inst decodes to inst ("${" escaped,
// regex backslashes kept) and validates.
func roundTrip(t *testing.T, inst *config.Instance, rep *Report) {
	t.Helper()
	model := &config.Config{Instances: []*config.Instance{inst}}
	src := Encode(model, rep)
	back, diags := config.Decode("vars.hcl", src)
	if diags.HasErrors() {
		t.Fatalf("decode: %v\n%s", diags, src)
	}
	if d := cmp.Diff(model, back, cmpopts.IgnoreTypes(hcl.Range{})); d != "" {
		t.Errorf("nginx → model differs from nginx → HCL → model (-direct +via HCL):\n%s", d)
	}
	if d := back.Validate(); d.HasErrors() {
		t.Errorf("the translated model does not validate: %v", d)
	}
}
