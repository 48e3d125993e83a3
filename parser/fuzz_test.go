package parser

import (
	"bytes"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

// addSeeds adds every configuration file under testdata as a seed.
func addSeeds(f *testing.F) {
	for _, dir := range []string{"../testdata/scenarios", corpusDir} {
		filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(p, ".conf") {
				if data, err := os.ReadFile(p); err == nil {
					f.Add(data)
				}
			}
			return nil
		})
	}
	f.Add([]byte("content_by_lua_block { ngx.say('}') -- }\n local s = [==[ } ]==] }\n"))
	f.Add([]byte("a \"b\\\"\" 'c\\'' d\\;e ${f}g #h\r\n{ } ; ) \"x\"y"))
}

// lineCol computes the position of offset in src independently of the lexer.
func lineCol(src []byte, offset int) (line, col int) {
	line = 1 + bytes.Count(src[:offset], []byte{'\n'})
	col = offset - (bytes.LastIndexByte(src[:offset], '\n') + 1) + 1
	return line, col
}

func checkPos(t *testing.T, src []byte, what string, p Pos) {
	t.Helper()
	if p.Offset < 0 || int(p.Offset) > len(src) {
		t.Fatalf("%s offset %d outside the input (%d bytes)", what, p.Offset, len(src))
	}
	if line, col := lineCol(src, int(p.Offset)); line != int(p.Line) || col != int(p.Col) {
		t.Fatalf("%s at offset %d says %d:%d, want %d:%d", what, p.Offset, p.Line, p.Col, line, col)
	}
}

// FuzzLex checks that the lexer terminates and that every word's positions
// are exact: Raw is the input between Pos and End.
func FuzzLex(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, src []byte) {
		file := &File{Name: "f.conf", Src: src}
		lx := newLexer(file, string(src), func(p Pos, _ string) { checkPos(t, src, "diagnostic", p) })
		for steps := 0; ; steps++ {
			if steps > len(src)+1 {
				t.Fatal("lexer does not advance")
			}
			term := lx.next()
			for _, a := range lx.args {
				checkPos(t, src, "word start", a.Pos)
				checkPos(t, src, "word end", a.End)
				if string(src[a.Pos.Offset:a.End.Offset]) != a.Raw {
					t.Fatalf("Raw %q but input %q", a.Raw, src[a.Pos.Offset:a.End.Offset])
				}
				if a.Quote == 0 && strings.IndexByte(a.Raw, '\\') < 0 && a.Value != a.Raw {
					t.Fatalf("bare word %q has value %q", a.Raw, a.Value)
				}
			}
			checkPos(t, src, "terminator", lx.termPos)
			if term == termEOF {
				break
			}
		}
		for _, c := range lx.comments {
			checkPos(t, src, "comment", c.Pos)
			if !strings.HasPrefix(c.Text, "#") || strings.ContainsAny(c.Text, "\n") {
				t.Fatalf("comment %q", c.Text)
			}
		}
	})
}

// FuzzParse checks that parsing never panics, that diagnostics point into
// the file, that the tree answers Effective everywhere and that the JSON
// output is valid.
func FuzzParse(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, src []byte) {
		cfg := parse("nginx.conf", src, Options{FS: fstest.MapFS{}}, 100000)
		for _, d := range cfg.Diagnostics {
			checkPos(t, src, "diagnostic "+d.Message, d.Pos)
		}
		v := Version{1, 22, 1}
		cfg.Tree().Walk(func(n *Node) bool {
			if n.Directive != nil {
				checkPos(t, src, "directive "+n.Name, n.Pos)
				checkPos(t, src, "end of "+n.Name, n.End)
				if n.End.Offset < n.Pos.Offset {
					t.Fatalf("%s ends before it starts", n.Name)
				}
				if IsPass(n.Name) {
					ProxyTarget(n)
				}
			}
			if n.Directive == nil || n.Block != nil {
				for _, name := range []string{"keepalive_timeout", "proxy_set_header", "proxy_pass", "keepalive"} {
					n.Effective(name, v)
				}
			}
			return true
		})
		var out bytes.Buffer
		if err := cfg.WriteJSON(&out); err != nil || !json.Valid(out.Bytes()) {
			t.Fatalf("invalid JSON (%v): %s", err, out.Bytes())
		}
		out.Reset()
		if err := WriteCrossplane(&out, cfg); err != nil || !json.Valid(out.Bytes()) {
			t.Fatalf("invalid crossplane JSON (%v): %s", err, out.Bytes())
		}
	})
}

// FuzzIncludes splits the input into files ("=== name" lines start a file;
// the first file is nginx.conf) and loads them from an fstest.MapFS:
// whatever the include graph (cycles, globs, self-includes, doubling
// chains), loading ends with bounded work.
func FuzzIncludes(f *testing.F) {
	f.Add([]byte("http { include a.conf; include *.conf; }\n=== a.conf\ninclude b.conf;\n=== b.conf\ninclude a.conf;\n"))
	f.Add([]byte("include x/*.conf;\n=== x/1.conf\ninclude x/*.conf;\n=== x/.h.conf\nbad\n"))
	f.Add([]byte("include f1;include f1;\n=== f1\ninclude f2;include f2;\n=== f2\ninclude f1;sendfile on;\n"))
	f.Add([]byte("include ../../x;\ninclude /abs/*;\ninclude [a-;\n=== abs/q\nserver{}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fsys := fstest.MapFS{}
		name := "nginx.conf"
		var buf []byte
		flush := func() {
			if name != "" && fsys[name] == nil && fs.ValidPath(name) {
				fsys[name] = &fstest.MapFile{Data: append([]byte(nil), buf...)}
			}
		}
		for _, line := range bytes.SplitAfter(data, []byte{'\n'}) {
			if rest, ok := bytes.CutPrefix(line, []byte("=== ")); ok {
				flush()
				name, buf = strings.TrimSpace(string(rest)), nil
				continue
			}
			buf = append(buf, line...)
		}
		flush()
		cfg, err := load("nginx.conf", Options{FS: fsys}, 20000)
		if err != nil {
			return
		}
		nodes := 0
		cfg.Tree().Walk(func(*Node) bool { nodes++; return true })
		if nodes > 20001 {
			t.Fatalf("%d nodes despite the bound", nodes)
		}
		if err := cfg.WriteJSON(io.Discard); err != nil {
			t.Fatal(err)
		}
	})
}
