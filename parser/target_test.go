package parser

import (
	"testing"
)

func TestProxyTarget(t *testing.T) {
	cfg := parseString(`events {}
http {
    upstream app { server 127.0.0.1:1; }
    upstream Mixed { server 127.0.0.1:2; }
    server {
        set $srv app;
        location /1 { proxy_pass http://app; }
        location /2 { proxy_pass http://app/api/; }
        location /3 { proxy_pass http://app:8080; }
        location /4 { proxy_pass https://127.0.0.1:8443/x; }
        location /5 { proxy_pass http://unix:/run/app.sock:/p; }
        location /6 { proxy_pass http://$srv; }
        location /7 { set $t other; if ($host) { set $t app; } proxy_pass http://$t; }
        location /8 { proxy_pass http://$arg_host; }
        location /9 { proxy_pass http://app$request_uri; }
        location /10 { fastcgi_pass unix:/run/php.sock; }
        location /11 { grpc_pass grpcs://app; }
        location /12 { uwsgi_pass 127.0.0.1:3031; }
        location /13 { proxy_pass http://MIXED; }
        location /14 { proxy_pass app; }
        location /15 { proxy_pass http://[::1]:81; }
    }
}
`)
	if len(cfg.Diagnostics) != 0 {
		t.Fatalf("diagnostics: %v", diagLines(cfg.Diagnostics))
	}
	app, mixed := cfg.Upstream("app"), cfg.Upstream("mixed")
	tests := []struct {
		loc      string
		kind     TargetKind
		scheme   string
		host     string
		port     int
		unix     string
		uri      string
		hasURI   bool
		upstream *Node
		via      bool
		err      string
	}{
		{"/1", TargetUpstream, "http", "app", 0, "", "", false, app, false, ""},
		{"/2", TargetUpstream, "http", "app", 0, "", "/api/", true, app, false, ""},
		{"/3", TargetImplicit, "http", "app", 8080, "", "", false, nil, false, ""},
		{"/4", TargetImplicit, "https", "127.0.0.1", 8443, "", "/x", true, nil, false, ""},
		{"/5", TargetImplicit, "http", "", 0, "/run/app.sock", "/p", true, nil, false, ""},
		{"/6", TargetVariable, "http", "app", 0, "", "", false, app, true, ""},
		{"/7", TargetVariable, "http", "", 0, "", "", false, nil, false, ""},
		{"/8", TargetVariable, "http", "", 0, "", "", false, nil, false, ""},
		{"/9", TargetVariable, "http", "app", 0, "", "$request_uri", true, app, false, ""},
		{"/10", TargetImplicit, "", "", 0, "/run/php.sock", "", false, nil, false, ""},
		{"/11", TargetUpstream, "grpcs", "app", 0, "", "", false, app, false, ""},
		{"/12", TargetImplicit, "", "127.0.0.1", 3031, "", "", false, nil, false, ""},
		{"/13", TargetUpstream, "http", "MIXED", 0, "", "", false, mixed, false, ""},
		{"/14", 0, "", "", 0, "", "", false, nil, false, "invalid URL prefix"},
		{"/15", TargetImplicit, "http", "[::1]", 81, "", "", false, nil, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.loc, func(t *testing.T) {
			l := loc(t, cfg.Tree(), tt.loc)
			var pass *Node
			for _, c := range l.Children {
				if IsPass(c.Name) {
					pass = c
				}
			}
			got := ProxyTarget(pass)
			if got.Kind != tt.kind || got.Scheme != tt.scheme || got.Host != tt.host || got.Port != tt.port ||
				got.Unix != tt.unix || got.HasURI != tt.hasURI || got.Upstream != tt.upstream ||
				(got.Via != nil) != tt.via || got.Err != tt.err {
				t.Errorf("ProxyTarget = %+v", got)
			}
			if tt.hasURI && got.URI != tt.uri {
				t.Errorf("URI = %q, want %q", got.URI, tt.uri)
			}
		})
	}
	if ProxyTarget(nil).Err == "" {
		t.Error("ProxyTarget(nil) has no error")
	}
}
