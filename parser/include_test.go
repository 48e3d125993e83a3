package parser

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"
)

func mapFS(files map[string]string) fstest.MapFS {
	m := fstest.MapFS{}
	for name, src := range files {
		m[name] = &fstest.MapFile{Data: []byte(src)}
	}
	return m
}

// fileNames lists Config.Files by Name.
func fileNames(c *Config) []string {
	var out []string
	for _, f := range c.Files {
		out = append(out, f.Name)
	}
	return out
}

func TestIncludeGlobOrderAndHiddenFiles(t *testing.T) {
	fsys := mapFS(map[string]string{
		"etc/nginx.conf":            "events {}\nhttp {\n    include conf.d/*.conf;\n    include */x.conf;\n}\n",
		"etc/conf.d/b.conf":         "sendfile on;\n",
		"etc/conf.d/a.conf":         "tcp_nopush on;\n",
		"etc/conf.d/B.conf":         "tcp_nodelay on;\n",
		"etc/conf.d/.hidden.conf":   "this is not read;\n",
		"etc/conf.d/notes.txt":      "nor this;\n",
		"etc/a/x.conf":              "gzip on;\n",
		"etc/a-b/x.conf":            "gzip_vary on;\n",
		"etc/.git/x.conf":           "hidden directory;\n",
		"etc/conf.d/sub/deep.conf":  "not matched by conf.d/*.conf;\n",
		"etc/conf.d/z.conf.disable": "not matched either;\n",
	})
	cfg, err := Load("etc/nginx.conf", Options{FS: fsys})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Diagnostics) > 0 {
		t.Fatalf("diagnostics: %v", diagLines(cfg.Diagnostics))
	}
	// glob(3) sorts whole paths bytewise: "B" < "a", and "a-b/" < "a/".
	want := []string{"etc/nginx.conf", "conf.d/B.conf", "conf.d/a.conf", "conf.d/b.conf", "a-b/x.conf", "a/x.conf"}
	if diff := cmp.Diff(want, fileNames(cfg)); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	var http []string
	for _, n := range cfg.Tree().First("http").Children {
		http = append(http, n.Name)
	}
	if diff := cmp.Diff([]string{"tcp_nodelay", "tcp_nopush", "sendfile", "gzip_vary", "gzip"}, http); diff != "" {
		t.Errorf("http children (-want +got):\n%s", diff)
	}
}

func TestIncludeErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  []string
	}{
		{
			name:  "missing file uses nginx's wording",
			files: map[string]string{"nginx.conf": "events {}\nhttp {\n    include missing.conf;\n}\n"},
			want:  []string{`nginx.conf:3:13: open() "missing.conf" failed (2: No such file or directory)`},
		},
		{
			name:  "glob that matches nothing is fine",
			files: map[string]string{"nginx.conf": "events {}\nhttp {\n    include none/*.conf;\n}\n"},
		},
		{
			name: "cycle",
			files: map[string]string{
				"nginx.conf": "events {}\nhttp {\n    include a.conf;\n}\n",
				"a.conf":     "include b.conf;\n",
				"b.conf":     "\ninclude a.conf;\n",
			},
			want: []string{"b.conf:2:9: include cycle: a.conf:1 → b.conf:2 → a.conf"},
		},
		{
			name:  "self include through a glob",
			files: map[string]string{"nginx.conf": "events {}\nhttp {\n    include *.conf;\n}\n"},
			want:  []string{"nginx.conf:3:13: include cycle: nginx.conf:3 → nginx.conf"},
		},
		{
			name: "errors inside included files name the file",
			files: map[string]string{
				"nginx.conf":        "events {}\nhttp {\n    include sites/*.conf;\n    bogus_after;\n}\n",
				"sites/a.conf":      "server {\n    bogus;\n    location / { include snippets/p.conf; }\n}\n",
				"snippets/p.conf":   "proxy_pass http://127.0.0.1:1;\nlisten 80;\n",
				"sites/b.conf":      "server { listen 81 }\n",
				"sites/unused.conf": "",
			},
			want: []string{
				`sites/a.conf:2:5: unknown directive "bogus"`,
				`snippets/p.conf:2:1: "listen" directive is not allowed here`,
				`sites/b.conf:1:20: unexpected "}"`,
				`nginx.conf:4:5: unknown directive "bogus_after"`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Load("nginx.conf", Options{FS: mapFS(tt.files)})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, diagLines(cfg.Diagnostics)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestIncludeChains(t *testing.T) {
	fsys := mapFS(map[string]string{
		"nginx.conf":      "events {}\nhttp {\n    include sites/*.conf;\n}\n",
		"sites/a.conf":    "server {\n    location /a {\n        include snippets/p.conf;\n    }\n    location /b {\n        include snippets/p.conf;\n    }\n}\n",
		"snippets/p.conf": "proxy_http_version 1.1;\nbogus;\n",
	})
	cfg, err := Load("nginx.conf", Options{FS: fsys})
	if err != nil {
		t.Fatal(err)
	}
	// The snippet is read once and used twice.
	if diff := cmp.Diff([]string{"nginx.conf", "sites/a.conf", "snippets/p.conf"}, fileNames(cfg)); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	var uses []*Node
	cfg.Tree().Walk(func(n *Node) bool {
		if n.Directive != nil && n.Name == "proxy_http_version" {
			uses = append(uses, n)
		}
		return true
	})
	if len(uses) != 2 {
		t.Fatalf("%d uses of the snippet, want 2", len(uses))
	}
	if uses[0].Directive != uses[1].Directive {
		t.Error("the two uses do not share the parsed directive")
	}
	if uses[0].Parent == uses[1].Parent || uses[0].Parent.Args[0].Value != "/a" || uses[1].Parent.Args[0].Value != "/b" {
		t.Error("each use must have its own location as parent")
	}
	wantChain := []Link{{File: "nginx.conf", Line: 3, Col: 5}, {File: "sites/a.conf", Line: 6, Col: 9}}
	if diff := cmp.Diff(wantChain, uses[1].ChainLinks()); diff != "" {
		t.Errorf("chain of the second use (-want +got):\n%s", diff)
	}
	if uses[1].Ctx != CtxLocation || uses[1].File().Name != "snippets/p.conf" {
		t.Errorf("ctx %v, file %s", uses[1].Ctx, uses[1].File().Name)
	}
	// The error in the snippet is reported once, with the chain of its
	// first use.
	var bogus []Diagnostic
	for _, d := range cfg.Diagnostics {
		if strings.Contains(d.Message, "bogus") {
			bogus = append(bogus, d)
		}
	}
	wantFirst := []Link{{File: "nginx.conf", Line: 3, Col: 5}, {File: "sites/a.conf", Line: 3, Col: 9}}
	if len(bogus) != 1 || !cmp.Equal(bogus[0].Chain, wantFirst) {
		t.Errorf("bogus diagnostics = %+v", bogus)
	}
}

func TestIncludeOS(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("nginx.conf", "events {}\nhttp {\n    include conf.d/*;\n    include sub/../conf.d/a.conf;\n    include missing.conf;\n}\n")
	write("conf.d/a.conf", "sendfile on;\n")
	if err := os.Mkdir(filepath.Join(dir, "conf.d", "dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	// A symlink loop must produce an error, not a hang.
	if err := os.Symlink("loop2", filepath.Join(dir, "conf.d", "loop1")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("loop1", filepath.Join(dir, "conf.d", "loop2")); err != nil {
		t.Fatal(err)
	}
	done := make(chan *Config, 1)
	go func() {
		cfg, err := Load(filepath.Join(dir, "nginx.conf"), Options{})
		if err != nil {
			t.Error(err)
		}
		done <- cfg
	}()
	var cfg *Config
	select {
	case cfg = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Load did not finish")
	}
	if cfg == nil {
		return
	}
	main := filepath.Join(dir, "nginx.conf")
	want := []string{
		main + `:3:13: pread() "` + filepath.Join(dir, "conf.d/dir") + `" failed (21: Is a directory)`,
		main + `:3:13: open() "` + filepath.Join(dir, "conf.d/loop1") + `" failed (40: Too many levels of symbolic links)`,
		main + `:3:13: open() "` + filepath.Join(dir, "conf.d/loop2") + `" failed (40: Too many levels of symbolic links)`,
		// the second include of a.conf repeats "sendfile on" in http
		`conf.d/a.conf:1:1: "sendfile" directive is duplicate`,
		main + `:5:13: open() "` + dir + `/missing.conf" failed (2: No such file or directory)`,
	}
	if diff := cmp.Diff(want, diagLines(cfg.Diagnostics)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// "sub/../conf.d/a.conf" is the file already read through the glob.
	if diff := cmp.Diff([]string{main, "conf.d/a.conf"}, fileNames(cfg)); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	if cfg.Prefix != dir {
		t.Errorf("Prefix = %q, want %q", cfg.Prefix, dir)
	}
}

func TestPrefixOption(t *testing.T) {
	fsys := mapFS(map[string]string{
		"conf/nginx.conf": "events {}\nhttp {\n    include snippets/x.conf;\n}\n",
		"snippets/x.conf": "sendfile on;\n",
	})
	cfg, err := Load("conf/nginx.conf", Options{FS: fsys, Prefix: "."})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Diagnostics) != 0 {
		t.Fatalf("diagnostics: %v", diagLines(cfg.Diagnostics))
	}
	if cfg.Tree().First("http").First("sendfile") == nil {
		t.Error("sendfile from the prefix-relative include is missing")
	}
}

func TestDumpInput(t *testing.T) {
	dump := "nginx: the configuration file /etc/nginx/nginx.conf syntax is ok\n" +
		"nginx: configuration file /etc/nginx/nginx.conf test is successful\n" +
		"# configuration file /etc/nginx/nginx.conf:\n" +
		"events {}\nhttp {\n    include conf.d/*.conf;\n    include /etc/nginx/snippets/p.conf;\n}\n\n" +
		"# configuration file /etc/nginx/conf.d/b.conf:\n" +
		"server {\n    bogus;\n}\n\n" +
		"# configuration file /etc/nginx/conf.d/a.conf:\n" +
		"sendfile on;\n\n" +
		"# configuration file /etc/nginx/snippets/p.conf:\n" +
		"gzip on;\n\n"
	cfg, err := Load("-", Options{Stdin: strings.NewReader(dump)})
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Dump {
		t.Fatal("dump not recognised")
	}
	want := []string{"/etc/nginx/nginx.conf", "conf.d/a.conf", "conf.d/b.conf", "snippets/p.conf"}
	if diff := cmp.Diff(want, fileNames(cfg)); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	// Positions are relative to each section.
	wantDiags := []string{`conf.d/b.conf:2:5: unknown directive "bogus"`}
	if diff := cmp.Diff(wantDiags, diagLines(cfg.Diagnostics)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if got := string(cfg.Files[1].Src); got != "sendfile on;\n" {
		t.Errorf("section a.conf = %q", got)
	}
}

func TestStdin(t *testing.T) {
	fsys := mapFS(map[string]string{"inc/x.conf": "sendfile on;\n"})
	cfg, err := Load("-", Options{FS: fsys, Stdin: strings.NewReader("events {}\nhttp { include inc/x.conf; }\n")})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Diagnostics) != 0 || cfg.Main.Name != "-" || cfg.Main.Path != "-" {
		t.Fatalf("diagnostics %v, main %q %q", diagLines(cfg.Diagnostics), cfg.Main.Name, cfg.Main.Path)
	}
	if cfg.Tree().First("http").First("sendfile") == nil {
		t.Error("include from stdin config not followed")
	}
	if _, err := Load("-", Options{}); err == nil {
		t.Error("Load(\"-\") without Stdin must fail")
	}
	if _, err := Load("does/not/exist.conf", Options{}); err == nil || !strings.Contains(err.Error(), "(2: No such file or directory)") {
		t.Errorf("missing main file: %v", err)
	}
}

func TestIncludeExplosionIsBounded(t *testing.T) {
	// Each file includes the next one twice: 2^30 uses.
	files := map[string]string{"nginx.conf": "events {}\nhttp { include f0.conf; }\n"}
	for i := 0; i < 30; i++ {
		next := "f" + strings.Repeat("x", i+1) + ".conf"
		files["f"+strings.Repeat("x", i)+".conf"] = "include " + next + ";\ninclude " + next + ";\n"
	}
	files["f"+strings.Repeat("x", 30)+".conf"] = "sendfile on;\n"
	files["f0.conf"] = "include fx.conf;\n"
	start := time.Now()
	cfg, err := load("nginx.conf", Options{FS: mapFS(files)}, 100000)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(diagLines(cfg.Diagnostics), "\n"), "includes expand to more than 100000 directives") {
		t.Errorf("diagnostics: %v", diagLines(cfg.Diagnostics))
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("took %v", d)
	}
}

func TestGlobMatchLimit(t *testing.T) {
	files := map[string]string{"nginx.conf": "events {}\nhttp { include d/*/*.conf; }\n"}
	for i := 0; i <= maxGlobMatches; i++ {
		files["d/"+strconv.Itoa(i%100)+"/"+strconv.Itoa(i)+".conf"] = ""
	}
	cfg, err := Load("nginx.conf", Options{FS: mapFS(files)})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`nginx.conf:2:16: glob() "d/*/*.conf" failed (pattern matches more than 10000 files)`}
	if diff := cmp.Diff(want, diagLines(cfg.Diagnostics)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
