package parser

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"
)

// Hostile input: whatever a configuration holds, loading it ends with a
// result or a clear diagnostic, never a panic, a hang or unbounded memory.
// The 100 MB contents test is in hostile_big_test.go (tag slow).

// writeTree writes files (slash-separated names) under dir.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, src := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// checkSane checks what every result must satisfy: diagnostics within
// MaxDiagnostics (+1 summary), each inside its file, a tree no deeper than
// MaxNesting blocks, and JSON output that is valid.
func checkSane(t *testing.T, cfg *Config) {
	t.Helper()
	if len(cfg.Diagnostics) > MaxDiagnostics+1 {
		t.Fatalf("%d diagnostics, more than the limit", len(cfg.Diagnostics))
	}
	sizes := map[string]int{}
	for _, f := range cfg.Files {
		sizes[f.Name] = len(f.Src)
	}
	for _, d := range cfg.Diagnostics {
		if n, ok := sizes[d.File]; ok && (d.Pos.Offset < 0 || int(d.Pos.Offset) > n || d.Pos.Line < 1 || d.Pos.Col < 1) {
			t.Fatalf("diagnostic %q at %+v outside %s (%d bytes)", d.Message, d.Pos, d.File, n)
		}
	}
	var depth func(n *Node) int
	depth = func(n *Node) int {
		d := 0
		for _, c := range n.Children {
			d = max(d, depth(c))
		}
		if n.Directive != nil && n.Block != nil {
			d++
		}
		return d
	}
	// MaxNesting blocks with contents, and the cut one, kept empty.
	if d := depth(cfg.Tree()); d > MaxNesting+1 {
		t.Fatalf("tree nests %d blocks deep", d)
	}
	var out bytes.Buffer
	if err := cfg.WriteJSON(&out); err != nil || !json.Valid(out.Bytes()) {
		t.Fatalf("invalid JSON output (%v)", err)
	}
}

func hasDiag(cfg *Config, substr string) bool {
	for _, d := range cfg.Diagnostics {
		if strings.Contains(d.Message, substr) {
			return true
		}
	}
	return false
}

func TestHostileIncludeCycles(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"nginx.conf":  "events {}\nhttp {\n    include a.conf;\n    include self.conf;\n    include *.conf;\n}\n",
		"a.conf":      "include b.conf;\n",
		"b.conf":      "include c.conf;\n",
		"c.conf":      "include a.conf;\nsendfile on;\n",
		"self.conf":   "include self.conf;\ntcp_nopush on;\n",
		"double.conf": "include double.conf;\ninclude double.conf;\n",
	})
	cfg, err := Load(filepath.Join(dir, "nginx.conf"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkSane(t, cfg)
	got := strings.Join(diagLines(cfg.Diagnostics), "\n")
	for _, want := range []string{
		"c.conf:1:9: include cycle: a.conf:1 → b.conf:1 → c.conf:1 → a.conf",
		"self.conf:1:9: include cycle: self.conf:1 → self.conf",
		"nginx.conf:5:13: include cycle: ",
		"double.conf:1:9: include cycle: double.conf:1 → double.conf",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in\n%s", want, got)
		}
	}
	// Each file is read once, whatever the number of paths to it.
	if len(cfg.Files) != 6 {
		t.Errorf("files %v, want each of the 6 once", fileNames(cfg))
	}
}

func TestHostileGlobThousandsOfFiles(t *testing.T) {
	dir := t.TempDir()
	const n = 5000
	files := map[string]string{"nginx.conf": "events {}\nhttp {\n    include conf.d/*.conf;\n}\n"}
	for i := range n {
		files[fmt.Sprintf("conf.d/%04d.conf", i)] = fmt.Sprintf("server { listen 127.0.0.1:%d; }\n", 1024+i)
	}
	writeTree(t, dir, files)
	cfg, err := Load(filepath.Join(dir, "nginx.conf"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkSane(t, cfg)
	if len(cfg.Diagnostics) > 0 {
		t.Fatalf("diagnostics: %v", diagLines(cfg.Diagnostics)[:1])
	}
	servers := cfg.Tree().First("http").Find("server")
	if len(servers) != n || len(cfg.Files) != n+1 {
		t.Fatalf("%d servers from %d files, want %d", len(servers), len(cfg.Files), n)
	}
	// glob(3) order: the servers come in file-name order.
	if got := servers[n-1].First("listen").Args[0].Value; got != fmt.Sprintf("127.0.0.1:%d", 1024+n-1) {
		t.Errorf("last server listens on %s", got)
	}
}

func TestHostileSymlinkLoops(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		// "**" is "*" for glob(3); every level can go through the loops.
		"nginx.conf":     "events {}\nhttp {\n    include d/**/*.conf;\n    include d/*/*/*/*/*/*/*/*.conf;\n    include d/up/d/up/d/up/nginx.conf;\n    include self.conf;\n    include ping.conf;\n    include d/*;\n}\n",
		"d/x.conf":       "include d/up/d/x.conf;\nsendfile on;\n",
		"d/sub/y.conf":   "gzip on;\n",
		"d/sub/z/w.conf": "gzip_vary on;\n",
	})
	for link, target := range map[string]string{
		"d/up":       "..",        // directory symlink to its parent's parent: d/up/d/up/...
		"d/sub/loop": "..",        // directory symlink to its parent
		"self.conf":  "self.conf", // a file symlinked to itself
		"ping.conf":  "pong.conf",
		"pong.conf":  "ping.conf",
	} {
		if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
			t.Skipf("symlinks: %v", err)
		}
	}
	cfg, err := Load(filepath.Join(dir, "nginx.conf"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkSane(t, cfg)
	got := strings.Join(diagLines(cfg.Diagnostics), "\n")
	for _, want := range []string{
		`self.conf" failed (40: Too many levels of symbolic links)`,
		`ping.conf" failed (40: Too many levels of symbolic links)`,
		"include cycle",
		`pread() "` + filepath.Join(dir, "d/sub") + `" failed (21: Is a directory)`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in\n%s", want, got)
		}
	}
	// Paths through the loops are distinct files to nginx as to us, but
	// finitely many: the patterns have a fixed number of levels.
	if len(cfg.Files) > 200 {
		t.Errorf("%d files read", len(cfg.Files))
	}
}

func TestHostileSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.conf")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	// A sparse 100 MB file: refused from its size, never read.
	if err := f.Truncate(100 << 20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	fifo := filepath.Join(dir, "fifo.conf")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	writeTree(t, dir, map[string]string{
		"nginx.conf": "events {}\ninclude big.conf;\ninclude fifo.conf;\ninclude /dev/zero;\ninclude /dev/null;\n",
	})
	cfg, err := Load(filepath.Join(dir, "nginx.conf"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkSane(t, cfg)
	main := filepath.Join(dir, "nginx.conf")
	want := []string{
		fmt.Sprintf(`%s:2:9: open() %q failed (file is larger than 64 MiB, ngxkeep's limit)`, main, big),
		fmt.Sprintf(`%s:3:9: open() %q failed (not a regular file)`, main, fifo),
		main + `:4:9: open() "/dev/zero" failed (file is larger than 64 MiB, ngxkeep's limit)`,
	}
	if got := diagLines(cfg.Diagnostics); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// The same file as the main file, and endless standard input.
	if _, err := Load(big, Options{}); err == nil || !strings.Contains(err.Error(), "larger than 64 MiB") {
		t.Errorf("main file: %v", err)
	}
	if _, err := Load("-", Options{Stdin: io.LimitReader(zeros{}, 1<<40)}); err == nil || !strings.Contains(err.Error(), "larger than 64 MiB") {
		t.Errorf("stdin: %v", err)
	}
	// A main file that is a pipe, as from <(...), is read.
	go func() {
		w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err == nil {
			w.WriteString("events {}\n")
			w.Close()
		}
	}()
	if cfg, err := Load(fifo, Options{}); err != nil || len(cfg.Diagnostics) > 0 || cfg.Tree().First("events") == nil {
		t.Errorf("main file from a pipe: %v", err)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// TestHostileLargeSource checks the positions at the far end of the largest
// source read (they are int32, see Pos) and that Parse, which is given its
// bytes rather than reading a file, refuses a larger one as Load does.
func TestHostileLargeSource(t *testing.T) {
	// Lines of 64 bytes (a million of them) and the directive on the last.
	tail := "events {}\n"
	src := bytes.Repeat([]byte("\n"+strings.Repeat(" ", 63)), MaxFileSize/64)
	copy(src[MaxFileSize-len(tail):], tail)
	cfg := Parse("big.conf", src, Options{FS: fstest.MapFS{}})
	off := MaxFileSize - len(tail)
	line := MaxFileSize/64 + 1
	want := Pos{Offset: int32(off), Line: int32(line), Col: int32(64 - len(tail))}
	if len(cfg.Diagnostics) > 0 || len(cfg.Main.Directives) != 1 || cfg.Main.Directives[0].Pos != want {
		t.Fatalf("%d bytes: %q, directives %d, want events at %+v", len(src), diagLines(cfg.Diagnostics), len(cfg.Main.Directives), want)
	}
	if got, wantEnd := cfg.Main.Directives[0].End, (Pos{Offset: int32(MaxFileSize - 1), Line: int32(line), Col: 63}); got != wantEnd {
		t.Errorf("events ends at %+v, want %+v", got, wantEnd)
	}

	cfg = Parse("big.conf", append(src, '\n'), Options{FS: fstest.MapFS{}})
	if got, want := diagLines(cfg.Diagnostics), []string{"big.conf:1:1: file is larger than 64 MiB, ngxkeep's limit"}; strings.Join(got, "\n") != strings.Join(want, "\n") || len(cfg.Main.Directives) != 0 {
		t.Errorf("%d bytes: %q, %d directives; want %q", len(src)+1, got, len(cfg.Main.Directives), want)
	}
}

func TestHostileDeepNesting(t *testing.T) {
	const n = 10000
	src := "events {}\nhttp { server {\n" + strings.Repeat("location / {\n", n) + strings.Repeat("}\n", n) + "}}\n"
	cfg := Parse("deep.conf", []byte(src), Options{FS: fstest.MapFS{}})
	checkSane(t, cfg)
	want := []string{"deep.conf:101:12: blocks are nested too deeply"}
	if got := diagLines(cfg.Diagnostics); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("diagnostics %q, want %q", got, want)
	}
	// Unbalanced: 10,000 "{" and no "}".
	cfg = Parse("open.conf", []byte(strings.Repeat("http {\n", n)), Options{FS: fstest.MapFS{}})
	checkSane(t, cfg)
	if !hasDiag(cfg, "nested too deeply") || !hasDiag(cfg, `unexpected end of file, expecting "}"`) {
		t.Errorf("diagnostics %q", diagLines(cfg.Diagnostics))
	}
}

func TestHostileDeepIncludes(t *testing.T) {
	const n = 10000
	// A chain of 10,000 files, each opening a block around the next.
	fsys := fstest.MapFS{"nginx.conf": {Data: []byte("events {}\nhttp { server { include f0.conf; } }\n")}}
	for i := range n {
		fsys[fmt.Sprintf("f%d.conf", i)] = &fstest.MapFile{Data: fmt.Appendf(nil, "location /%d { include f%d.conf; }\n", i, i+1)}
	}
	cfg, err := Load("nginx.conf", Options{FS: fsys})
	if err != nil {
		t.Fatal(err)
	}
	checkSane(t, cfg)
	if !hasDiag(cfg, fmt.Sprintf("includes are nested more than %d files deep", MaxIncludeDepth)) {
		t.Errorf("no include depth diagnostic: %q", diagLines(cfg.Diagnostics))
	}
	if !hasDiag(cfg, "blocks are nested too deeply (more than 100 levels across includes)") {
		t.Errorf("no nesting diagnostic: %q", diagLines(cfg.Diagnostics))
	}
	if len(cfg.Files) > MaxIncludeDepth+1 {
		t.Errorf("%d files read", len(cfg.Files))
	}
	// The same as an "nginx -T" dump of 200,000 sections.
	var b strings.Builder
	b.WriteString("# configuration file nginx.conf:\nevents {}\nhttp { include f0; }\n")
	for i := range 200000 {
		fmt.Fprintf(&b, "# configuration file f%d:\ninclude f%d;\n", i, i+1)
	}
	cfg = Parse("dump", []byte(b.String()), Options{})
	checkSane(t, cfg)
	if !cfg.Dump || !hasDiag(cfg, "includes are nested more than") {
		t.Errorf("dump: %q", diagLines(cfg.Diagnostics))
	}
}

func TestHostileGarbage(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	garbage := make([]byte, 1<<20)
	rng.Read(garbage)
	// Bytes nginx's tokenizer treats specially, in random order.
	special := []byte("{};\"'\\#$ \t\r\n\x00\xff")
	soup := make([]byte, 1<<20)
	for i := range soup {
		soup[i] = special[rng.Intn(len(special))]
	}
	lines := bytes.Repeat([]byte("a;"), 1<<18) // a quarter million unknown directives
	for name, src := range map[string][]byte{"garbage": garbage, "soup": soup, "unknown": lines} {
		t.Run(name, func(t *testing.T) {
			cfg := Parse("x.conf", src, Options{FS: fstest.MapFS{}})
			checkSane(t, cfg)
			if !cfg.HasErrors() {
				t.Fatal("garbage accepted")
			}
		})
	}
	cfg := Parse("x.conf", lines, Options{FS: fstest.MapFS{}})
	last := cfg.Diagnostics[len(cfg.Diagnostics)-1]
	if len(cfg.Diagnostics) != MaxDiagnostics+1 || last.Message != fmt.Sprintf("%d more problems from here on are not reported (ngxkeep reports at most %d)", 1<<18-MaxDiagnostics, MaxDiagnostics) {
		t.Errorf("%d diagnostics, last %q", len(cfg.Diagnostics), last.Message)
	}
	if last.Pos.Offset != 2*MaxDiagnostics {
		t.Errorf("the summary is at offset %d, want that of the first problem left out", last.Pos.Offset)
	}
}

func TestHostileBytes(t *testing.T) {
	// Invalid UTF-8 and NUL bytes are ordinary word bytes to nginx.
	src := "events {}\nhttp { server { server_name \"\xff\xfe\" a\x00b; } }\n\xc3\x28 on;\n"
	cfg := Parse("x.conf", []byte(src), Options{FS: fstest.MapFS{}})
	checkSane(t, cfg)
	sn := cfg.Tree().First("http").First("server").First("server_name")
	if sn == nil || len(sn.Args) != 2 || sn.Args[0].Value != "\xff\xfe" || sn.Args[1].Value != "a\x00b" {
		t.Fatalf("server_name %+v", sn)
	}
	if got := diagLines(cfg.Diagnostics); len(got) != 1 || got[0] != `x.conf:3:1: unknown directive "\xc3("` {
		t.Errorf("diagnostics %q", got)
	}

	// CR-only line endings: CR is a space to nginx, so it is all line 1.
	cr := "events {}\rhttp {\r server { listen 127.0.0.1:1; }\r}\r"
	cfg = Parse("cr.conf", []byte(cr), Options{FS: fstest.MapFS{}})
	checkSane(t, cfg)
	listen := cfg.Tree().First("http").First("server").First("listen")
	if len(cfg.Diagnostics) > 0 || listen == nil || listen.Pos.Line != 1 || int(listen.Pos.Col) != strings.Index(cr, "listen")+1 {
		t.Errorf("CR-only: %q, listen %+v", diagLines(cfg.Diagnostics), listen)
	}
}

func TestHostileLongToken(t *testing.T) {
	tok := strings.Repeat("x", 1<<20)
	for _, tc := range []struct{ src, want string }{
		{"events {}\nserver_name " + tok + ";\n", `x.conf:2:13: too long parameter "xxxxxxxxxx..." started`},
		{"events {}\nserver_name \"" + tok + ";\n", `x.conf:2:14: too long parameter, probably missing terminating """ character`},
		{"events {}\n#" + tok + "\n", `x.conf:2:1: too long parameter "#xxxxxxxxx..." started`},
	} {
		cfg := Parse("x.conf", []byte(tc.src), Options{FS: fstest.MapFS{}})
		checkSane(t, cfg)
		if got := diagLines(cfg.Diagnostics); len(got) == 0 || got[0] != tc.want {
			t.Errorf("got %q, want first %q", got, tc.want)
		}
	}
}

// heapAfter returns the live heap once f's result is built, with f's
// result still reachable.
func heapAfter(f func() any) (before, after uint64) {
	var m runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m)
	before = m.HeapAlloc
	keep := f()
	runtime.GC()
	runtime.ReadMemStats(&m)
	runtime.KeepAlive(keep)
	return before, m.HeapAlloc
}

func TestHostileLongStatement(t *testing.T) {
	src := "events {}\nserver_name" + strings.Repeat(" a", 3*MaxStatementWords) + ";\nhttp {}\n"
	cfg := Parse("x.conf", []byte(src), Options{FS: fstest.MapFS{}})
	checkSane(t, cfg)
	want := fmt.Sprintf("x.conf:2:%d: more than %d parameters in one directive (ngxkeep's limit); the rest are not kept", len("server_name")+2*MaxStatementWords, MaxStatementWords-1)
	if got := diagLines(cfg.Diagnostics); len(got) == 0 || got[0] != want {
		t.Errorf("got %q, want first %q", got, want)
	}
	if sn := cfg.Main.Directives[1]; sn.Name != "server_name" || len(sn.Args) != MaxStatementWords-1 {
		t.Errorf("%s has %d args", sn.Name, len(sn.Args))
	}
	if cfg.Tree().First("http") == nil {
		t.Error("the statements after it are lost")
	}
}
