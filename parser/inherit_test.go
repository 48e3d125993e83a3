package parser

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const inheritConf = `events {}
http {
    keepalive_timeout 30s;
    proxy_set_header X-Http 1;
    proxy_next_upstream error timeout http_502;
    upstream app {
        server 127.0.0.1:1;
        keepalive 8;
    }
    upstream bare {
        server 127.0.0.1:2;
    }
    server {
        keepalive_requests 50;
        proxy_set_header X-Server 1;
        proxy_set_header X-Server 2;
        location /a {
            proxy_set_header X-A 1;
            proxy_next_upstream off;
            location /a/inner {
                keepalive_timeout 5s;
            }
        }
        location /b {
            proxy_pass http://app;
            if ($request_method = POST) {
                return 405;
            }
            limit_except GET {
                deny all;
            }
        }
        location /c {
            keepalive_disable none;
            keepalive_disable safari;
        }
    }
}
`

// loc finds the location whose first argument is path.
func loc(t *testing.T, root *Node, path string) *Node {
	t.Helper()
	var found *Node
	root.Walk(func(n *Node) bool {
		if n.Directive != nil && n.Name == "location" && n.Args[0].Value == path {
			found = n
		}
		return found == nil
	})
	if found == nil {
		t.Fatalf("no location %s", path)
	}
	return found
}

func TestEffective(t *testing.T) {
	cfg := parseString(inheritConf)
	if len(cfg.Diagnostics) != 0 {
		t.Fatalf("diagnostics: %v", diagLines(cfg.Diagnostics))
	}
	root := cfg.Tree()
	v122 := Version{1, 22, 1}
	v130 := Version{1, 30, 0}
	a, inner, b, c := loc(t, root, "/a"), loc(t, root, "/a/inner"), loc(t, root, "/b"), loc(t, root, "/c")
	ifNode, limitExcept := b.First("if"), b.First("limit_except")

	tests := []struct {
		name       string
		at         *Node
		directive  string
		v          Version
		wantValues [][]string
		wantOrigin string
	}{
		{"scalar from http", a, "keepalive_timeout", v122, [][]string{{"30s"}}, "nginx.conf:3"},
		{"scalar from nested location", inner, "keepalive_timeout", v122, [][]string{{"5s"}}, "nginx.conf:21"},
		{"scalar from server", inner, "keepalive_requests", v122, [][]string{{"50"}}, "nginx.conf:14"},
		{"scalar inside if comes from its location's levels", ifNode, "keepalive_timeout", v122, [][]string{{"30s"}}, "nginx.conf:3"},
		{"array: the level's own list only", a, "proxy_set_header", v122, [][]string{{"X-A", "1"}}, "nginx.conf:18"},
		{"array: nested location inherits the nearest list whole", inner, "proxy_set_header", v122, [][]string{{"X-A", "1"}}, "nginx.conf:18"},
		{"array: all of the server's entries", b, "proxy_set_header", v122, [][]string{{"X-Server", "1"}, {"X-Server", "2"}}, "nginx.conf:15"},
		{"bitmask replaces the inherited mask", a, "proxy_next_upstream", v122, [][]string{{"off"}}, "nginx.conf:19"},
		{"bitmask inherited", b, "proxy_next_upstream", v122, [][]string{{"error", "timeout", "http_502"}}, "nginx.conf:5"},
		{"bitmask entries of one level combine", c, "keepalive_disable", v122, [][]string{{"none"}, {"safari"}}, "nginx.conf:34"},
		{"bitmask default", b, "keepalive_disable", v122, [][]string{{"msie6"}}, "default for 1.22.1"},
		{"proxy_pass reaches if", ifNode, "proxy_pass", v122, [][]string{{"http://app"}}, "nginx.conf:25"},
		{"proxy_pass reaches limit_except", limitExcept, "proxy_pass", v122, [][]string{{"http://app"}}, "nginx.conf:25"},
		{"proxy_pass is not inherited by nested locations", inner, "proxy_pass", v122, nil, "not set (no default in 1.22.1)"},
		{"return is not inherited", b, "return", v122, nil, "not set (no default in 1.22.1)"},
		{"default before 1.29.7", a, "proxy_http_version", v122, [][]string{{"1.0"}}, "default for 1.22.1"},
		{"default from 1.29.7", a, "proxy_http_version", v130, [][]string{{"1.1"}}, "default for 1.30"},
		{"client keepalive_requests before 1.19.10", c, "keepalive_requests", Version{1, 18, 0}, [][]string{{"50"}}, "nginx.conf:14"},
		{"client keepalive_requests default before 1.19.10", root.First("http"), "keepalive_requests", Version{1, 18, 0}, [][]string{{"100"}}, "default for 1.18"},
		{"client keepalive_requests default from 1.19.10", root.First("http"), "keepalive_requests", v122, [][]string{{"1000"}}, "default for 1.22.1"},
		{"keepalive_time does not exist before 1.19.10", a, "keepalive_time", Version{1, 18, 0}, nil, "not set (no default in 1.18)"},
		{"proxy_set_header defaults before 1.29.7", root.First("http").First("server"), "proxy_set_header", v122, [][]string{{"X-Server", "1"}, {"X-Server", "2"}}, "nginx.conf:15"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.at.Effective(tt.directive, tt.v)
			if diff := cmp.Diff(tt.wantValues, s.Values); diff != "" {
				t.Errorf("values (-want +got):\n%s", diff)
			}
			if got := s.Origin(); got != tt.wantOrigin {
				t.Errorf("origin = %q, want %q", got, tt.wantOrigin)
			}
			fromFile := !strings.HasPrefix(tt.wantOrigin, "default") && !strings.HasPrefix(tt.wantOrigin, "not set")
			if (s.Node != nil) != fromFile {
				t.Errorf("Node = %v for origin %q", s.Node, s.Origin())
			}
		})
	}
}

func TestEffectiveUpstreamOnly(t *testing.T) {
	cfg := parseString(inheritConf)
	app, bare := cfg.Upstream("app"), cfg.Upstream("bare")
	if app == nil || bare == nil {
		t.Fatal("upstreams not found")
	}
	v122, v1297 := Version{1, 22, 1}, Version{1, 29, 7}
	// The http-level keepalive_timeout 30s is the client directive; an
	// upstream's own keepalive_timeout defaults to 60s.
	if s := app.Effective("keepalive_timeout", v122); s.Node != nil || !cmp.Equal(s.Args, []string{"60s"}) {
		t.Errorf("upstream keepalive_timeout = %v from %s", s.Args, s.Origin())
	}
	if s := app.Effective("keepalive_timeout", Version{1, 15, 2}); s.IsSet() {
		t.Errorf("upstream keepalive_timeout before 1.15.3 = %v", s.Args)
	}
	if s := app.Effective("keepalive", v122); !cmp.Equal(s.Args, []string{"8"}) || s.Origin() != "nginx.conf:8" {
		t.Errorf("keepalive = %v from %s", s.Args, s.Origin())
	}
	if s := bare.Effective("keepalive", v122); s.IsSet() {
		t.Errorf("keepalive before 1.29.7 = %v", s.Args)
	}
	if s := bare.Effective("keepalive", v1297); !cmp.Equal(s.Args, []string{"32", "local"}) || !s.Default {
		t.Errorf("implicit keepalive at 1.29.7 = %v (default %v)", s.Args, s.Default)
	}
	if s := app.Effective("keepalive_requests", Version{1, 19, 9}); !cmp.Equal(s.Args, []string{"100"}) {
		t.Errorf("upstream keepalive_requests at 1.19.9 = %v", s.Args)
	}
	// Asking from a directive inside the upstream reads the upstream.
	if s := app.First("server").Effective("keepalive", v122); s.Node == nil || s.Node.Parent != app {
		t.Errorf("keepalive from the server line = %v", s.Origin())
	}
	if s := app.Effective("keepalive_timeout", v122); s.Spec == nil || s.Spec.Contexts != CtxUpstream {
		t.Errorf("spec = %+v", s.Spec)
	}
}

func TestEffectiveProxySetHeaderDefaults(t *testing.T) {
	cfg := parseString("events {}\nhttp {\n    server {\n        location / { proxy_pass http://127.0.0.1:1; }\n    }\n}\n")
	l := loc(t, cfg.Tree(), "/")
	old := l.Effective("proxy_set_header", Version{1, 28, 0})
	want := [][]string{{"Host", "$proxy_host"}, {"Connection", "close"}}
	if !old.Default || !cmp.Equal(old.Values, want) {
		t.Errorf("1.28 defaults = %v", old.Values)
	}
	now := l.Effective("proxy_set_header", Version{1, 29, 7})
	if !cmp.Equal(now.Values, [][]string{{"Host", "$proxy_host"}}) {
		t.Errorf("1.29.7 defaults = %v", now.Values)
	}
}

func TestEffectiveEventsAndMain(t *testing.T) {
	cfg := parseString("worker_processes 4;\nevents { worker_connections 2048; }\nhttp { server { location / {} } }\n")
	l := loc(t, cfg.Tree(), "/")
	if s := l.Effective("worker_connections", Version{1, 22, 0}); !cmp.Equal(s.Args, []string{"2048"}) {
		t.Errorf("worker_connections = %v from %s", s.Args, s.Origin())
	}
	if s := l.Effective("worker_processes", Version{1, 22, 0}); !cmp.Equal(s.Args, []string{"4"}) {
		t.Errorf("worker_processes = %v from %s", s.Args, s.Origin())
	}
	if s := l.Effective("multi_accept", Version{1, 22, 0}); !s.Default || !cmp.Equal(s.Args, []string{"off"}) {
		t.Errorf("multi_accept = %v from %s", s.Args, s.Origin())
	}
}
