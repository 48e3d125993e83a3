package parser

import (
	"fmt"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

// parseString parses src as the main file "nginx.conf" of an empty FS.
func parseString(src string) *Config {
	return Parse("nginx.conf", []byte(src), Options{FS: fstest.MapFS{}})
}

// diagLines renders diagnostics as "file:line:col: message".
func diagLines(diags []Diagnostic) []string {
	var out []string
	for _, d := range diags {
		out = append(out, fmt.Sprintf("%s:%d:%d: %s", d.File, d.Pos.Line, d.Pos.Col, d.Message))
	}
	return out
}

// names renders a directive list as nested "name(args){...}".
func names(dirs []*Directive) string {
	var parts []string
	for _, d := range dirs {
		s := d.Name
		for _, a := range d.Args {
			s += " " + a.Value
		}
		if d.Block != nil {
			s += "{" + names(d.Block.Directives) + "}"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

func TestParseRecovery(t *testing.T) {
	tests := []struct {
		name      string
		src       string
		wantDiags []string
		wantTree  string
	}{
		{
			name: "every error is reported, not just the first",
			src:  "events {}\nhttp {\n    foo 1;\n    server_tokens;\n    server {\n        keepalive 4;\n    }\n}\n",
			wantDiags: []string{
				`nginx.conf:3:5: unknown directive "foo"`,
				`nginx.conf:4:5: invalid number of arguments in "server_tokens" directive`,
				`nginx.conf:6:9: "keepalive" directive is not allowed here`,
			},
			wantTree: "events{}; http{foo 1; server_tokens; server{keepalive 4}}",
		},
		{
			name:      "stray close brace keeps the rest of the file",
			src:       "events {}\n}\nhttp {\n    server_tokens off;\n}\n",
			wantDiags: []string{`nginx.conf:2:1: unexpected "}"`},
			wantTree:  "events{}; http{server_tokens off}",
		},
		{
			name: "unclosed block is reported at the end and at its brace",
			src:  "events {}\nhttp {\n    server {\n        listen 80;\n}\n",
			wantDiags: []string{
				`nginx.conf:6:1: unexpected end of file, expecting "}"`,
				`nginx.conf:2:6: "{" of "http" is not closed by a "}"`,
			},
			wantTree: "events{}; http{server{listen 80}}",
		},
		{
			name:      "missing semicolon before close brace keeps the directive",
			src:       "events {}\nhttp {\n    server_tokens off\n}\nworker_processes 1;\n",
			wantDiags: []string{`nginx.conf:4:1: unexpected "}"`},
			wantTree:  "events{}; http{server_tokens off}; worker_processes 1",
		},
		{
			name:      "block without a name is read and dropped",
			src:       "events {}\nhttp {\n    { server_tokens off; }\n    sendfile on;\n}\n",
			wantDiags: []string{`nginx.conf:3:5: unexpected "{"`},
			wantTree:  "events{}; http{sendfile on}",
		},
		{
			name: "block on a simple directive and no block on a block directive",
			src:  "events {}\nhttp {\n    server;\n    server {\n        listen 80 { }\n    }\n}\n",
			wantDiags: []string{
				`nginx.conf:3:5: directive "server" has no opening "{"`,
				`nginx.conf:5:19: directive "listen" is not terminated by ";"`,
			},
			wantTree: "events{}; http{server; server{listen 80{}}}",
		},
		{
			name:      "map, geo and types bodies are data",
			src:       "events {}\nhttp {\n    map $host $x { default 0; foo 1; '' 2; }\n    geo $y { 10.0.0.0/8 1; }\n    types { text/html html; }\n    split_clients $host $z { 50% a; * b; }\n}\n",
			wantDiags: nil,
			wantTree:  "events{}; http{map $host $x{default 0; foo 1;  2}; geo $y{10.0.0.0/8 1}; types{text/html html}; split_clients $host $z{50% a; * b}}",
		},
		{
			name:      "a block inside a map body",
			src:       "events {}\nhttp {\n    map $host $x { default 0; a { } }\n}\n",
			wantDiags: []string{`nginx.conf:3:33: unexpected "{"`},
			wantTree:  "events{}; http{map $host $x{default 0; a{}}}",
		},
		{
			name:      "too deep nesting is bounded",
			src:       strings.Repeat("a {", 150) + strings.Repeat("}", 150) + "\nb;",
			wantDiags: nil, // checked below: one nesting error plus unknown "a"
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := parseString(tt.src)
			if tt.wantTree == "" {
				got := diagLines(cfg.Diagnostics)
				if !strings.Contains(strings.Join(got, "\n"), "blocks are nested too deeply") {
					t.Fatalf("no nesting error in %v", got)
				}
				if last := cfg.Main.Directives[len(cfg.Main.Directives)-1]; last.Name != "b" {
					t.Errorf("directive after the deep blocks = %q, want b", last.Name)
				}
				return
			}
			if diff := cmp.Diff(tt.wantDiags, diagLines(cfg.Diagnostics)); diff != "" {
				t.Errorf("diagnostics (-want +got):\n%s", diff)
			}
			if got := names(cfg.Main.Directives); got != tt.wantTree {
				t.Errorf("tree:\n got %s\nwant %s", got, tt.wantTree)
			}
		})
	}
}

func TestDirectivePositions(t *testing.T) {
	src := "events {}\nhttp {\n  server {\n    listen 80;\n  }\n}\n"
	cfg := parseString(src)
	http := cfg.Main.Directives[1]
	server := http.Block.Directives[0]
	listen := server.Block.Directives[0]
	checks := []struct {
		what string
		got  Pos
		want Pos
	}{
		{"http.Pos", http.Pos, Pos{Offset: 10, Line: 2, Col: 1}},
		{"http.Block.Open", http.Block.Open, Pos{Offset: 15, Line: 2, Col: 6}},
		{"http.Block.Close", http.Block.Close, Pos{Offset: 47, Line: 6, Col: 1}},
		{"http.End", http.End, Pos{Offset: 48, Line: 6, Col: 2}},
		{"server.Pos", server.Pos, Pos{Offset: 19, Line: 3, Col: 3}},
		{"listen.Pos", listen.Pos, Pos{Offset: 32, Line: 4, Col: 5}},
		{"listen.End", listen.End, Pos{Offset: 42, Line: 4, Col: 15}},
		{"listen.Args[0].Pos", listen.Args[0].Pos, Pos{Offset: 39, Line: 4, Col: 12}},
		{"listen.Args[0].End", listen.Args[0].End, Pos{Offset: 41, Line: 4, Col: 14}},
		{"listen.NameEnd", listen.NameEnd(), Pos{Offset: 38, Line: 4, Col: 11}},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %+v, want %+v", c.what, c.got, c.want)
		}
	}
	if src[listen.Pos.Offset:listen.End.Offset] != "listen 80;" {
		t.Errorf("listen spans %q", src[listen.Pos.Offset:listen.End.Offset])
	}
}

func TestComments(t *testing.T) {
	src := `# file header

# about events
events {} # trailing events
http { # trailing http
    # ngxkeep:ignore KA01 reason
    # second line
    sendfile on; # after sendfile
    # orphan before close
}
# end of file`
	cfg := parseString(src)
	if len(cfg.Main.Comments) != 9 {
		t.Fatalf("File.Comments has %d comments, want 9", len(cfg.Main.Comments))
	}
	events, http := cfg.Main.Directives[0], cfg.Main.Directives[1]
	sendfile := http.Block.Directives[0]
	text := func(cs []*Comment) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.Text)
		}
		return out
	}
	if diff := cmp.Diff([]string{"# about events"}, text(events.Leading)); diff != "" {
		t.Errorf("events.Leading (-want +got):\n%s", diff)
	}
	if events.Trailing == nil || events.Trailing.Text != "# trailing events" {
		t.Errorf("events.Trailing = %v", events.Trailing)
	}
	if http.Leading != nil {
		t.Errorf("http.Leading = %v, want none (the comment above is events' trailing)", text(http.Leading))
	}
	if http.Trailing == nil || http.Trailing.Text != "# trailing http" {
		t.Errorf("http.Trailing = %v", http.Trailing)
	}
	if diff := cmp.Diff([]string{"# ngxkeep:ignore KA01 reason", "# second line"}, text(sendfile.Leading)); diff != "" {
		t.Errorf("sendfile.Leading (-want +got):\n%s", diff)
	}
	if sendfile.Trailing == nil || sendfile.Trailing.Text != "# after sendfile" {
		t.Errorf("sendfile.Trailing = %v", sendfile.Trailing)
	}
	last := cfg.Main.Comments[8]
	if last.Text != "# end of file" || last.Pos != (Pos{Offset: int32(len(src) - 13), Line: 11, Col: 1}) {
		t.Errorf("last comment = %+v", last)
	}
}

func TestUnknownAndLooseNames(t *testing.T) {
	cfg := parseString("events {}\nhttp {\n    js_import main.js;\n    lua_shared_dict d 1m;\n    zone_sync;\n    not_a_directive;\n}\n")
	want := []string{`nginx.conf:6:5: unknown directive "not_a_directive"`}
	if diff := cmp.Diff(want, diagLines(cfg.Diagnostics)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestDiagnosticSpans(t *testing.T) {
	cfg := parseString("events {}\nhttp {\n    bogus_name 1;\n    sendfile maybe;\n    \"quoted_bad\" x;\n}\n")
	want := []struct{ pos, end Pos }{
		{Pos{Offset: 21, Line: 3, Col: 5}, Pos{Offset: 31, Line: 3, Col: 15}},
		{Pos{Offset: 48, Line: 4, Col: 14}, Pos{Offset: 53, Line: 4, Col: 19}},
		{Pos{Offset: 59, Line: 5, Col: 5}, Pos{Offset: 71, Line: 5, Col: 17}},
	}
	if len(cfg.Diagnostics) != len(want) {
		t.Fatalf("diagnostics: %v", diagLines(cfg.Diagnostics))
	}
	for i, d := range cfg.Diagnostics {
		if d.Pos != want[i].pos || d.End != want[i].end {
			t.Errorf("%s: span %+v-%+v, want %+v-%+v", d.Message, d.Pos, d.End, want[i].pos, want[i].end)
		}
	}
}
