package translate

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/ngxkeep/ngxkeep/parser"
	"github.com/ngxkeep/ngxkeep/runtime/config"
)

func TestUpstreamKeepaliveByVersion(t *testing.T) {
	const src = `events {}
http {
    upstream implicit_cache { server 127.0.0.1:1; }
    upstream before { keepalive 8; ip_hash; server 127.0.0.1:2; }
    upstream after { ip_hash; keepalive 8; server 127.0.0.1:3; }
    upstream off { server 127.0.0.1:4; keepalive 0; }
    server { listen 127.0.0.1:8080; location / { proxy_pass http://before; } }
}
`
	tests := []struct {
		v    parser.Version
		want map[string]*config.Keepalive
	}{
		{v122, map[string]*config.Keepalive{
			"implicit_cache": nil,
			"before":         {Connections: 8, Enabled: false}, // ip_hash replaced the cache
			"after":          {Connections: 8, Enabled: true},
			"off":            {Connections: 0, Enabled: false},
		}},
		{v130, map[string]*config.Keepalive{
			"implicit_cache": {Connections: 32, Local: true, Enabled: true},
			"before":         {Connections: 8, Enabled: true}, // order no longer matters
			"after":          {Connections: 8, Enabled: true},
			"off":            {Connections: 0, Enabled: false},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.v.String(), func(t *testing.T) {
			inst, rep := translateSrc(t, tt.v, src)
			got := map[string]*config.Keepalive{}
			for _, u := range inst.Upstreams {
				got[u.Name] = u.Keepalive
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("keepalive (-want +got):\n%s", d)
			}
			v, note := verdict(t, rep, "keepalive", 4)
			if tt.v == v122 && (v != Preserved || !strings.Contains(note, "ip_hash")) {
				t.Errorf("keepalive before ip_hash: %s %q, want preserved with the reason", v, note)
			}
			v, note = verdict(t, rep, "keepalive", 6)
			want := Unsupported // nginx 1.22 rejects keepalive 0
			if tt.v == v130 {
				want = Preserved
			}
			if v != want {
				t.Errorf("keepalive 0: %s %q, want %s", v, note, want)
			}
			hcl := string(Encode(&config.Config{Instances: []*config.Instance{inst}}, rep))
			if tt.v == v122 && !strings.Contains(hcl, "# disabled: nginx 1.22 drops this cache because ip_hash at") {
				t.Errorf("the disabled cache carries no comment:\n%s", hcl)
			}
			if tt.v == v130 && !strings.Contains(hcl, "# nginx 1.30 default for upstream blocks without keepalive: keepalive 32 local") {
				t.Errorf("the implicit cache carries no comment:\n%s", hcl)
			}
		})
	}
}

func TestProxyHeadersAllOrNothing(t *testing.T) {
	const src = `events {}
http {
    upstream app { server 127.0.0.1:9000; keepalive 4; }
    proxy_http_version 1.1;
    server {
        listen 127.0.0.1:8080;
        proxy_set_header Connection "";
        location /inherits { proxy_pass http://app; }
        location /own { proxy_set_header X-Foo bar; proxy_pass http://app; }
        location /plain {
            proxy_http_version 1.0;
            proxy_pass http://127.0.0.1:9001;
        }
    }
}
`
	h := func(kv ...string) []config.ProxyHeader {
		var out []config.ProxyHeader
		for i := 0; i < len(kv); i += 2 {
			out = append(out, config.ProxyHeader{Name: kv[i], Value: kv[i+1]})
		}
		return out
	}
	tests := []struct {
		v             parser.Version
		inherits, own []config.ProxyHeader
		plainVersion  string
		plainHeaders  []config.ProxyHeader
	}{
		{v: v122,
			inherits:     h("Connection", "", "Host", "$proxy_host"),
			own:          h("X-Foo", "bar", "Host", "$proxy_host", "Connection", "close"),
			plainVersion: "1.0", plainHeaders: h("Connection", "", "Host", "$proxy_host")},
		{v: v130,
			inherits:     h("Connection", "", "Host", "$proxy_host"),
			own:          h("X-Foo", "bar", "Host", "$proxy_host"),
			plainVersion: "1.0", plainHeaders: h("Connection", "", "Host", "$proxy_host")},
	}
	for _, tt := range tests {
		t.Run(tt.v.String(), func(t *testing.T) {
			inst, _ := translateSrc(t, tt.v, src)
			locs := map[string]*config.Location{}
			for _, l := range inst.Servers[0].Locations {
				locs[l.Path] = l
			}
			if d := cmp.Diff(tt.inherits, locs["/inherits"].Proxy.SetHeaders); d != "" {
				t.Errorf("/inherits headers (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tt.own, locs["/own"].Proxy.SetHeaders); d != "" {
				t.Errorf("/own headers: one proxy_set_header drops the inherited list and brings the defaults back (-want +got):\n%s", d)
			}
			if got := locs["/own"].Proxy.HTTPVersion; got != "1.1" {
				t.Errorf("proxy_http_version inherited from http: %q, want 1.1", got)
			}
			if got := locs["/plain"].Proxy.HTTPVersion; got != tt.plainVersion {
				t.Errorf("/plain http_version %q, want %q", got, tt.plainVersion)
			}
			if d := cmp.Diff(tt.plainHeaders, locs["/plain"].Proxy.SetHeaders); d != "" {
				t.Errorf("/plain headers (-want +got):\n%s", d)
			}
		})
	}
	// Without any proxy_* directive the version's defaults apply.
	for _, tt := range []struct {
		v       parser.Version
		version string
		headers []config.ProxyHeader
	}{
		{v122, "1.0", h("Host", "$proxy_host", "Connection", "close")},
		{v130, "1.1", h("Host", "$proxy_host")},
	} {
		inst, rep := translateSrc(t, tt.v, `events {} http { server { listen 127.0.0.1:8080; location / { proxy_pass http://127.0.0.1:9; } } }`)
		p := inst.Servers[0].Locations[0].Proxy
		if p.HTTPVersion != tt.version || !cmp.Equal(p.SetHeaders, tt.headers) {
			t.Errorf("%s defaults: version %q headers %v, want %q %v", tt.v, p.HTTPVersion, p.SetHeaders, tt.version, tt.headers)
		}
		out := string(Encode(&config.Config{Instances: []*config.Instance{inst}}, rep))
		if !strings.Contains(out, "# nginx "+tt.v.String()+" default\n") {
			t.Errorf("default headers are not marked as defaults:\n%s", out)
		}
	}
}

func TestLocationSettingsInheritance(t *testing.T) {
	const src = `events {}
http {
    keepalive_timeout 30s 20;
    keepalive_requests 50;
    client_max_body_size 2m;
    add_header X-A a;
    types { text/x-a a; }
    root /srv/http;
    error_page 404 /404.html;
    server {
        listen 127.0.0.1:8080 default_server backlog=64;
        keepalive_requests 10;
        location / {
            add_header X-B b always;
            location /nested/ { keepalive_disable none; alias /srv/alias/; }
        }
        location = /exact { error_page 500 502 =200 @fallback; client_max_body_size 0; }
        location ~* \.php$ { return 403; }
        location @fallback { internal; return 200 "ok\n"; }
    }
}
`
	inst, rep := translateSrc(t, v122, src)
	s := inst.Servers[0]
	if l := s.Listens[0]; l.Address != "127.0.0.1:8080" || !l.DefaultServer || l.Backlog != 64 {
		t.Errorf("listen = %+v", *l)
	}
	root := s.Locations[0]
	nested := root.Locations[0]
	exact := s.Locations[1]
	regex := s.Locations[2]
	named := s.Locations[3]
	for _, c := range []struct {
		name string
		got  any
		want any
	}{
		{"unmatched keepalive_timeout", s.Unmatched.KeepaliveTimeout, "30s"},
		{"unmatched keepalive header", s.Unmatched.KeepaliveHeaderTimeout, "20"},
		{"unmatched keepalive_requests (server level)", *s.Unmatched.KeepaliveRequests, 10},
		{"location keepalive_requests", *root.KeepaliveRequests, 10},
		{"nested keepalive_disable", nested.KeepaliveDisable, []string{"none"}},
		{"location keepalive_disable default", root.KeepaliveDisable, []string{"msie6"}},
		{"location add_header replaces http's", len(root.AddHeaders), 1},
		{"location add_header always", root.AddHeaders[0].Always, true},
		{"nested add_header inherited from /", nested.AddHeaders[0].Name, "X-B"},
		{"unmatched add_header from http", s.Unmatched.AddHeaders[0].Name, "X-A"},
		{"types from http", root.Types, map[string]string{"a": "text/x-a"}},
		{"root from http", root.Root, "/srv/http"},
		{"nested alias", nested.Alias, "/srv/alias/"},
		{"nested has no root", nested.Root, ""},
		{"exact match", exact.Match + " " + exact.Path, "exact /exact"},
		{"exact error_page codes", exact.ErrorPages[0].Codes, []int{500, 502}},
		{"exact error_page =200", *exact.ErrorPages[0].ResponseCode, 200},
		{"exact error_page target", exact.ErrorPages[0].URI, "@fallback"},
		{"root error_page inherited", root.ErrorPages[0].URI, "/404.html"},
		{"root error_page keeps status", root.ErrorPages[0].ResponseCode == nil, true},
		{"exact client_max_body_size", exact.ClientMaxBodySize, "0"},
		{"root client_max_body_size", root.ClientMaxBodySize, "2m"},
		{"regex", regex.Match + " " + regex.Path, `iregex \.php$`},
		{"regex return", regex.Return.Code, 403},
		{"named", named.Match + " " + named.Path, "named @fallback"},
		{"named internal", named.Internal, true},
		{"named return", named.Return.Text, "ok\n"},
		{"keepalive_time default 1.22", root.KeepaliveTime, "1h"},
		{"keepalive_min_timeout absent in 1.22", root.KeepaliveMinTimeout, ""},
		{"client_body_buffer_size default", root.ClientBodyBufferSize, "8k"},
	} {
		if !cmp.Equal(c.got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.name, c.got, c.want)
		}
	}
	for _, e := range rep.Entries {
		if e.Verdict != Preserved {
			t.Errorf("%s at %s: %s %q, want preserved", e.Directive, e.Where(), e.Verdict, e.Note)
		}
	}
}

func TestVerdicts(t *testing.T) {
	const src = `user nobody;
worker_processes auto;
pid /run/nginx.pid;
error_log /var/log/nginx/error.log;
events { worker_connections 64; multi_accept on; }
http {
    access_log off;
    sendfile on;
    gzip off;
    map $http_upgrade $connection_upgrade { default upgrade; '' close; }
    upstream ws { server 127.0.0.1:9000; keepalive 4; }
    server {
        listen 127.0.0.1:8080;
        listen 127.0.0.1:8443 ssl;
        location / {
            if ($request_method = POST) { return 405; }
            proxy_set_header Connection $connection_upgrade;
            proxy_redirect off;
            proxy_pass http://ws;
        }
        location /fcgi { fastcgi_pass 127.0.0.1:9001; }
        location /r { return 301 https://$host$request_uri; }
        location /x { keepalive_min_timeout 1s; }
    }
}
`
	_, rep := translateSrc(t, v122, src)
	for _, c := range []struct {
		name string
		line int
		want Verdict
		note string // substring
	}{
		{"user", 1, Ignored, "process"},
		{"worker_processes", 2, Approximated, "auto:"},
		{"pid", 3, Ignored, "process"},
		{"error_log", 4, Ignored, "slog"},
		{"worker_connections", 5, Preserved, ""},
		{"multi_accept", 5, Ignored, "event-loop"},
		{"access_log", 7, Ignored, "logging"},
		{"sendfile", 8, Ignored, "I/O"},
		{"gzip", 9, Preserved, "never"},
		{"map", 10, Preserved, ""},
		{"default", 10, Preserved, ""},
		{"listen", 13, Preserved, ""},
		{"listen", 14, Unsupported, "TLS"},
		{"if", 16, Unsupported, "never run"},
		{"return", 16, Unsupported, "inside if"},
		{"proxy_set_header", 17, Preserved, ""},
		{"proxy_redirect", 18, Preserved, ""},
		{"proxy_pass", 19, Preserved, ""},
		{"fastcgi_pass", 21, Unsupported, "static files"},
		{"return", 22, Preserved, ""},
		{"keepalive_min_timeout", 23, Unsupported, "does not exist in nginx 1.22"},
	} {
		v, note := verdict(t, rep, c.name, c.line)
		if v != c.want || !strings.Contains(note, c.note) {
			t.Errorf("%s on line %d: %s %q, want %s with %q", c.name, c.line, v, note, c.want, c.note)
		}
	}
	if rep.AllPreserved() {
		t.Error("AllPreserved is true")
	}
	var buf bytes.Buffer
	if err := rep.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Target  string
		Summary map[string]int
		Entries []struct {
			Directive string
			Verdict   string
			Line      int
		}
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Target != "1.22" || len(doc.Entries) != len(rep.Entries) || doc.Summary["unsupported"] != rep.Count(Unsupported) {
		t.Errorf("JSON report: target %q, %d entries (want %d), summary %v", doc.Target, len(doc.Entries), len(rep.Entries), doc.Summary)
	}
}

func TestIncludesAndSet(t *testing.T) {
	inst, rep := translateSrc(t, v130, `events {}
http {
    include upstreams.conf;
    server {
        listen 127.0.0.1:8080;
        location / {
            set $pool app;
            proxy_pass http://$pool;
            include proxy.conf;
        }
    }
}
`, "upstreams.conf", "upstream app { server 127.0.0.1:9000; }\n",
		"proxy.conf", "proxy_read_timeout 5s;\n")
	loc := inst.Servers[0].Locations[0]
	p := loc.Proxy
	if p.Pass != "http://$pool" || p.ReadTimeout != "5s" {
		t.Errorf("proxy = pass %q read_timeout %q, want http://$pool and 5s from the include", p.Pass, p.ReadTimeout)
	}
	if len(loc.Sets) != 1 || loc.Sets[0].Variable != "pool" || loc.Sets[0].Value != "app" {
		t.Errorf("sets = %+v, want $pool = app (the runtime evaluates the pass per request)", loc.Sets)
	}
	if v, note := verdict(t, rep, "set", 7); v != Preserved {
		t.Errorf("set: %s %q", v, note)
	}
	if v, note := verdict(t, rep, "proxy_pass", 8); v != Preserved || !strings.Contains(note, "per request") {
		t.Errorf("proxy_pass with a variable: %s %q", v, note)
	}
	var incs []Entry
	for _, e := range rep.Entries {
		if e.Directive == "include" {
			incs = append(incs, e)
		}
		if e.Directive == "proxy_read_timeout" && (len(e.Chain) != 1 || e.Chain[0].Line != 9) {
			t.Errorf("proxy_read_timeout include chain = %v", e.Chain)
		}
	}
	if len(incs) != 2 || incs[0].Line != 3 || incs[1].Line != 9 {
		t.Errorf("include entries = %+v", incs)
	}
}

func TestListenAddresses(t *testing.T) {
	for _, c := range []struct {
		in, want string
	}{
		{"8080", "*:8080"},
		{"127.0.0.1", "127.0.0.1:80"},
		{"*:81", "*:81"},
		{"0.0.0.0:82", "*:82"},
		{"[::1]:8080", "[::1]:8080"},
		{"[::]", "[::]:80"},
	} {
		inst, _ := translateSrc(t, v130, "events {} http { server { listen "+c.in+"; } }")
		if got := inst.Servers[0].Listens[0].Address; got != c.want {
			t.Errorf("listen %s → %q, want %q", c.in, got, c.want)
		}
	}
}

func TestInstanceNames(t *testing.T) {
	used := map[string]bool{}
	for _, c := range []struct{ in, want string }{
		{"conf/box1-frontend.conf", "box1-frontend"},
		{"/etc/nginx/nginx.conf", "nginx"},
		{"other/nginx.conf", "nginx-2"},
		{"-", "stdin"},
		{"we ird$.conf", "we_ird_"},
	} {
		if got := instanceName(c.in, used); got != c.want {
			t.Errorf("instanceName(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
