package parser

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// Load reads the configuration whose main file is path, or standard input
// (opts.Stdin) when path is "-", follows its includes and builds its tree.
// An "nginx -T" dump is recognised by its "# configuration file" sections:
// the first section is the main file and includes resolve against the
// sections' names.
//
// The error is only for a main file that cannot be read at all; every other
// problem is a Diagnostic of the returned Config.
func Load(path string, opts Options) (*Config, error) {
	return load(path, opts, maxNodes)
}

func load(path string, opts Options, limit int) (*Config, error) {
	var (
		src []byte
		err error
	)
	switch {
	case path == "-":
		if opts.Stdin == nil {
			return nil, errors.New(`reading "-" (standard input) needs Options.Stdin`)
		}
		src, err = readAllLimited(opts.Stdin, "-")
		if err != nil {
			return nil, fmt.Errorf("read() standard input failed: %w", err)
		}
	case opts.FS != nil:
		src, err = fsSource{opts.FS}.read(path)
	default:
		src, err = readFileLimited(path, true)
	}
	if err != nil {
		full := path
		if opts.FS == nil {
			if abs, aerr := filepath.Abs(path); aerr == nil {
				full = abs
			}
		}
		return nil, fmt.Errorf("open() %q failed %s", full, errnoText(err))
	}
	return parse(path, src, opts, limit), nil
}

// Parse reads a configuration from src as if it were the file name, then
// follows its includes (relative to opts.Prefix, or to the directory of name)
// through opts.FS or the operating system, and builds its tree. name "-"
// means standard input: includes then resolve against opts.Prefix or the
// working directory. src must not be modified afterwards.
func Parse(name string, src []byte, opts Options) *Config {
	return parse(name, src, opts, maxNodes)
}

// parse is Parse with a bound on the expanded tree (maxNodes in production).
func parse(name string, src []byte, opts Options, limit int) *Config {
	l := &loader{opts: opts, files: make(map[string]*fileInfo), maxNodes: limit, malformed: make(map[*Directive]bool), words: MaxWords}
	cfg := &Config{Name: name}
	l.cfg = cfg

	var mainPath string
	if sections := splitDump(src); sections != nil {
		cfg.Dump = true
		l.src = newDumpSource(sections)
		mainPath = sections[0].name
		src = sections[0].src
	} else if opts.FS != nil {
		l.src = fsSource{opts.FS}
		mainPath = name
	} else {
		l.src = osSource{}
		mainPath = name
	}

	mainKey := name
	switch {
	case name == "-" && !cfg.Dump:
		cfg.Prefix = opts.Prefix
		if cfg.Prefix == "" {
			cfg.Prefix = "."
			if opts.FS == nil {
				if wd, err := os.Getwd(); err == nil {
					cfg.Prefix = wd
				}
			}
		}
		l.mainDir = l.src.key(cfg.Prefix)
	default:
		mainKey = l.src.key(mainPath)
		l.mainDir = dirOf(l.src, mainKey)
		cfg.Prefix = opts.Prefix
		if cfg.Prefix == "" {
			cfg.Prefix = l.mainDir
		}
	}

	main := &File{Name: name, Path: mainKey, Src: src}
	if cfg.Dump {
		main.Name = mainPath
	}
	cfg.Main = main
	fi := &fileInfo{file: main}
	if name != "-" || cfg.Dump {
		l.files[mainKey] = fi
	}
	l.visit(fi, nil)
	cfg.tree = l.buildTree()
	l.finish()
	return cfg
}

func dirOf(s source, key string) string {
	if _, ok := s.(osSource); ok {
		return filepath.Dir(key)
	}
	return path.Dir(key)
}

// loader holds the state of one Load or Parse.
type loader struct {
	opts    Options
	src     source
	cfg     *Config
	mainDir string // key of the main file's directory, for File.Name
	files   map[string]*fileInfo
	diags   []pendingDiag
	// maxNodes bounds the directives the tree may expand to.
	maxNodes int
	arena    arena
	// malformed holds directives whose statement had a lexical error.
	malformed map[*Directive]bool
	// words is what is left of the MaxWords budget.
	words int
	// dropped counts the diagnostics past MaxDiagnostics; firstDropped
	// is the first of them.
	dropped      int
	firstDropped pendingDiag
	// fullPaths memoizes src.full(cfg.Prefix, arg) per include argument:
	// thousands of includes name the same few snippets.
	fullPaths map[string]string
}

// fullPath is src.full(cfg.Prefix, name), memoized.
func (l *loader) fullPath(name string) string {
	if full, ok := l.fullPaths[name]; ok {
		return full
	}
	full := l.src.full(l.cfg.Prefix, name)
	if l.fullPaths == nil {
		l.fullPaths = make(map[string]string)
	}
	l.fullPaths[name] = full
	return full
}

// fileInfo is a file while loading.
type fileInfo struct {
	file     *File
	includes []*Directive // include directives, in source order, at any depth
	onStack  bool         // being visited: including it again is a cycle
}

// pendingDiag is a Diagnostic while loading, with what orders it the way
// nginx would meet it: its include chain, its file and its offset there.
type pendingDiag struct {
	Diagnostic
	chain  []*Directive
	file   *File
	offset int
	key    []int
}

func (l *loader) report(d Diagnostic, file *File, chain []*Directive) {
	l.reportOrdered(d, file, chain, int(d.Pos.Offset))
}

func (l *loader) reportOrdered(d Diagnostic, file *File, chain []*Directive, offset int) {
	pd := pendingDiag{Diagnostic: d, chain: chain, file: file, offset: offset}
	if len(l.diags) >= MaxDiagnostics && !strings.HasPrefix(d.Message, wordLimitPrefix) {
		if l.dropped == 0 {
			l.firstDropped = pd
		}
		l.dropped++
		return
	}
	pd.Chain = links(chain)
	l.diags = append(l.diags, pd)
}

// finish sorts the diagnostics into the order nginx reads the files: by
// the offset of each include on the way, then the rank of the file among
// those the include matched, and last the offset in the file itself.
func (l *loader) finish() {
	for i := range l.diags {
		d := &l.diags[i]
		key := make([]int, 0, 2*len(d.chain)+1)
		for j, inc := range d.chain {
			next := d.file
			if j+1 < len(d.chain) {
				next = d.chain[j+1].File
			}
			rank := 0
			for k, f := range inc.Include {
				if f == next {
					rank = k
					break
				}
			}
			key = append(key, int(inc.Pos.Offset), rank)
		}
		d.key = append(key, d.offset)
	}
	sort.SliceStable(l.diags, func(i, j int) bool {
		a, b := l.diags[i].key, l.diags[j].key
		for k := 0; k < len(a) && k < len(b); k++ {
			if a[k] != b[k] {
				return a[k] < b[k]
			}
		}
		return len(a) < len(b)
	})
	l.cfg.Diagnostics = make([]Diagnostic, len(l.diags), len(l.diags)+1)
	for i, d := range l.diags {
		l.cfg.Diagnostics[i] = d.Diagnostic
	}
	if l.dropped > 0 {
		d := l.firstDropped.Diagnostic
		d.End = d.Pos
		d.Chain = links(l.firstDropped.chain)
		d.Message = fmt.Sprintf("%d more problems from here on are not reported (ngxkeep reports at most %d)", l.dropped, MaxDiagnostics)
		l.cfg.Diagnostics = append(l.cfg.Diagnostics, d)
	}
}

// visit parses a file and, depth first in source order as nginx does,
// every file it includes.
func (l *loader) visit(fi *fileInfo, chain []*Directive) {
	fi.onStack = true
	l.cfg.Files = append(l.cfg.Files, fi.file)
	if len(chain) > 0 {
		if l.cfg.chains == nil {
			l.cfg.chains = make(map[*File][]*Directive)
		}
		l.cfg.chains[fi.file] = chain
	}
	for _, d := range parseFileBudget(fi.file, &l.arena, l.malformed, &l.words) {
		l.reportOrdered(d.Diagnostic, fi.file, chain, d.order)
	}
	collectIncludes(fi.file.Directives, &fi.includes)
	for _, inc := range fi.includes {
		l.include(fi, inc, chain)
	}
	fi.onStack = false
}

func collectIncludes(dirs []*Directive, out *[]*Directive) {
	for _, d := range dirs {
		if d.Name == "include" && len(d.Args) == 1 && d.Block == nil {
			*out = append(*out, d)
		}
		if d.Block != nil {
			collectIncludes(d.Block.Directives, out)
		}
	}
}

// include resolves one include directive (ngx_conf_include).
func (l *loader) include(from *fileInfo, inc *Directive, chain []*Directive) {
	arg := inc.Args[0]
	if l.words <= 0 {
		return // the word limit was reached and reported: read no more files
	}
	if len(chain) >= MaxIncludeDepth {
		l.errorAt(inc, inc.Pos, fmt.Sprintf("includes are nested more than %d files deep (ngxkeep's limit)", MaxIncludeDepth), chain)
		return
	}
	full := l.fullPath(arg.Value)
	var paths []string
	if hasMeta(full) {
		var err error
		paths, err = l.src.glob(full)
		if err != nil {
			l.errorAt(inc, arg.Pos, fmt.Sprintf("glob() %q failed (%v)", full, err), chain)
			return
		}
	} else {
		paths = []string{full}
	}
	useChain := append(chain[:len(chain):len(chain)], inc)
	for _, p := range paths {
		key := l.src.key(p)
		fi := l.files[key]
		switch {
		case fi == nil:
			src, err := l.src.read(p)
			if err != nil {
				l.errorAt(inc, arg.Pos, readError(p, err), chain)
				continue
			}
			f := &File{Name: l.src.display(key, l.mainDir), Path: key, Src: src}
			fi = &fileInfo{file: f}
			l.files[key] = fi
			inc.Include = append(inc.Include, f)
			l.visit(fi, useChain)
		case fi.onStack:
			l.errorAt(inc, arg.Pos, cycleMessage(fi, useChain), chain)
		default:
			inc.Include = append(inc.Include, fi.file)
		}
	}
}

func readError(full string, err error) string {
	switch {
	case errors.Is(err, errNotInDump):
		return fmt.Sprintf("%q is not in the \"nginx -T\" dump", full)
	case isDirError(err):
		return fmt.Sprintf("pread() %q failed (21: Is a directory)", full)
	case errors.Is(err, fs.ErrInvalid):
		return fmt.Sprintf("open() %q failed (invalid path)", full)
	}
	return fmt.Sprintf("open() %q failed %s", full, errnoText(err))
}

// cycleMessage describes an include that reaches a file being included.
func cycleMessage(target *fileInfo, chain []*Directive) string {
	var b strings.Builder
	b.WriteString("include cycle: ")
	start := len(chain)
	for i, d := range chain {
		if d.File == target.file {
			start = i
			break
		}
	}
	for _, d := range chain[start:] {
		fmt.Fprintf(&b, "%s:%d → ", d.File.Name, d.Pos.Line)
	}
	b.WriteString(target.file.Name)
	return b.String()
}

// errorAt reports a problem of directive d at pos: its name, one of its
// arguments or its "{"; End covers that token.
func (l *loader) errorAt(d *Directive, pos Pos, msg string, chain []*Directive) {
	l.report(Diagnostic{Severity: SeverityError, File: d.File.Name, Pos: pos, End: tokenEnd(d, pos), Message: msg}, d.File, chain)
}

// tokenEnd returns the end of the token of d that starts at pos.
func tokenEnd(d *Directive, pos Pos) Pos {
	for _, a := range d.Args {
		if a.Pos == pos {
			return a.End
		}
	}
	if pos != d.Pos {
		return after(pos) // "{" or another single byte
	}
	src := d.File.Src
	i := int(pos.Offset)
	if i < len(src) && (src[i] == '"' || src[i] == '\'') {
		q := src[i]
		for i++; i < len(src) && src[i] != q; i++ {
			if src[i] == '\\' {
				i++
			}
		}
		i++
	} else {
		for i < len(src) && byteClass[src[i]]&clsWordEnd == 0 {
			if src[i] == '\\' {
				i++
			}
			i++
		}
	}
	i = min(i, len(src))
	if bytes.IndexByte(src[pos.Offset:i], '\n') >= 0 {
		return pos // a name over several lines: keep the start only
	}
	return Pos{Offset: int32(i), Line: pos.Line, Col: pos.Col + int32(i) - pos.Offset} // i <= len(src)
}

// links converts an include chain to Links.
func links(chain []*Directive) []Link {
	if len(chain) == 0 {
		return nil
	}
	out := make([]Link, len(chain))
	for i, d := range chain {
		out[i] = Link{File: d.File.Name, Line: int(d.Pos.Line), Col: int(d.Pos.Col)}
	}
	return out
}
