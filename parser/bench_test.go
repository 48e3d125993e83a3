package parser

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"unsafe"

	gonginx "github.com/tufanbarisyildirim/gonginx/parser"
)

// genLarge is the project's benchmark generator.
const genLarge = "/work/shared/bench/gen_large.py"

var (
	largeOnce sync.Map // servers -> *largeTree
)

type largeTree struct {
	once sync.Once
	dir  string
	err  error
}

// largeConfig generates the gen_large.py tree with the given number of
// servers once per test binary run and returns its main file. It skips when
// python3 or the generator is missing.
func largeConfig(tb testing.TB, servers int) string {
	tb.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		tb.Skip("python3 not installed: skipping the generated large tree")
	}
	gen := genLarge
	if p := os.Getenv("NGXKEEP_GEN_LARGE"); p != "" {
		gen = p
	}
	if _, err := os.Stat(gen); err != nil {
		tb.Skipf("generator %s not found (set NGXKEEP_GEN_LARGE)", gen)
	}
	v, _ := largeOnce.LoadOrStore(servers, &largeTree{})
	lt := v.(*largeTree)
	lt.once.Do(func() {
		lt.dir, lt.err = os.MkdirTemp("", "ngxkeep-large-")
		if lt.err != nil {
			return
		}
		out, err := exec.Command(py, gen, "--out", lt.dir, "--servers", strconv.Itoa(servers)).CombinedOutput()
		if err != nil {
			lt.err = &genError{err, string(out)}
		}
	})
	if lt.err != nil {
		tb.Fatal(lt.err)
	}
	return filepath.Join(lt.dir, "nginx.conf")
}

type genError struct {
	err error
	out string
}

func (e *genError) Error() string { return e.err.Error() + ": " + e.out }

func TestMain(m *testing.M) {
	code := m.Run()
	largeOnce.Range(func(_, v any) bool {
		if lt := v.(*largeTree); lt.dir != "" {
			os.RemoveAll(lt.dir)
		}
		return true
	})
	os.Exit(code)
}

func benchLoad(b *testing.B, servers int) {
	main := largeConfig(b, servers)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		cfg, err := Load(main, Options{})
		if err != nil || cfg.Tree() == nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoad2k is Load (read, lex, parse, include, tree, checks) of the
// 2,000-server tree; compare with BenchmarkGonginx2k.
func BenchmarkLoad2k(b *testing.B) { benchLoad(b, 2000) }

// BenchmarkLoad10k is the same on the 10,000-server tree.
func BenchmarkLoad10k(b *testing.B) { benchLoad(b, 10000) }

func benchGonginx(b *testing.B, servers int) {
	main := largeConfig(b, servers)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		p, err := gonginx.NewParser(main, gonginx.WithIncludeParsing(), gonginx.WithSkipValidDirectivesErr())
		if err != nil {
			b.Fatal(err)
		}
		if _, err := p.Parse(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGonginx2k parses the 2,000-server tree with gonginx, the
// reference for BenchmarkLoad2k.
func BenchmarkGonginx2k(b *testing.B) { benchGonginx(b, 2000) }

// BenchmarkGonginx10k parses the 10,000-server tree with gonginx.
func BenchmarkGonginx10k(b *testing.B) { benchGonginx(b, 10000) }

// BenchmarkLexer lexes every file of the 2,000-server tree.
func BenchmarkLexer(b *testing.B) {
	cfg, err := Load(largeConfig(b, 2000), Options{})
	if err != nil {
		b.Fatal(err)
	}
	var size int64
	for _, f := range cfg.Files {
		size += int64(len(f.Src))
	}
	b.SetBytes(size)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for _, f := range cfg.Files {
			lx := newLexer(f, unsafe.String(unsafe.SliceData(f.Src), len(f.Src)), func(Pos, string) {})
			for lx.next() != termEOF {
			}
		}
	}
}

// BenchmarkTree rebuilds the include-expanded tree of the 2,000-server tree
// (with its directive checks) from already parsed files.
func BenchmarkTree(b *testing.B) {
	main := largeConfig(b, 2000)
	cfg, err := Load(main, Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		l := &loader{cfg: cfg, maxNodes: maxNodes, malformed: map[*Directive]bool{}}
		if l.buildTree() == nil {
			b.Fatal("no tree")
		}
	}
}

// BenchmarkEffective computes four settings for every location of the
// 2,000-server tree.
func BenchmarkEffective(b *testing.B) {
	cfg, err := Load(largeConfig(b, 2000), Options{})
	if err != nil {
		b.Fatal(err)
	}
	var locs []*Node
	cfg.Tree().Walk(func(n *Node) bool {
		if n.Directive != nil && n.Name == "location" {
			locs = append(locs, n)
		}
		return true
	})
	v := Version{1, 22, 1}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for _, l := range locs {
			l.Effective("proxy_http_version", v)
			l.Effective("proxy_set_header", v)
			l.Effective("keepalive_timeout", v)
			l.Effective("proxy_pass", v)
		}
	}
}
