package translate

import (
	"fmt"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/ngxkeep/ngxkeep/parser"
	"github.com/ngxkeep/ngxkeep/runtime/config"
)

// Translate turns each nginx configuration into one runtime instance for
// the target nginx version and reports a verdict for every directive use.
// Configurations with parse errors are translated as far as they go (the
// caller decides whether to refuse them; nginx would).
func Translate(cfgs []*parser.Config, target parser.Version) (*config.Config, *Report) {
	rep := &Report{Target: target, origins: map[any][]string{}}
	out := &config.Config{}
	used := map[string]bool{}
	for _, c := range cfgs {
		name := instanceName(c.Name, used)
		t := &translator{cfg: c, target: target, name: name, rep: rep,
			marks: map[*parser.Node]mark{}, defaultListen: map[string]*parser.Node{}}
		inst := t.instance()
		out.Instances = append(out.Instances, inst)
		rep.Instances = append(rep.Instances, InstanceInfo{Name: name, File: c.Name})
		t.finish()
	}
	return out, rep
}

// instanceName derives a unique instance name from the main file name:
// "conf/box1-frontend.conf" → "box1-frontend"; "/etc/nginx/nginx.conf" →
// "nginx"; a second "nginx" becomes "nginx-2".
func instanceName(file string, used map[string]bool) string {
	base := strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
	if file == "-" || base == "" || base == "." {
		base = "stdin"
	}
	var b strings.Builder
	for _, r := range base {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	name := b.String()
	for i := 2; used[name]; i++ {
		name = fmt.Sprintf("%s-%d", b.String(), i)
	}
	used[name] = true
	return name
}

// mark is the verdict given to one Node so far.
type mark struct {
	v    Verdict
	note string
}

// translator translates one configuration.
type translator struct {
	cfg    *parser.Config
	target parser.Version
	name   string
	rep    *Report
	marks  map[*parser.Node]mark

	upstreams map[*parser.Node]*config.Upstream
	// collect, when set, receives the first directive of every setting
	// eff reads (for the "values from" comments).
	collect *[]*parser.Node
	// defaultListen holds the first default_server listen per address.
	defaultListen map[string]*parser.Node
	// defined holds the variables that directives the runtime does not run
	// define (geo, split_clients, set inside if, ...), with the defining
	// node.
	defined map[string]*parser.Node
	// runtimeDefined holds the variables the runtime defines: map and set
	// targets, named groups of map and location regexes (lower case).
	runtimeDefined map[string]bool
	// mapNodes maps a translated map to its block.
	mapNodes map[*config.Map]*parser.Node
}

// set records a verdict for n. The worst verdict wins; among equal ones
// the first note is kept.
func (t *translator) set(n *parser.Node, v Verdict, format string, args ...any) {
	if n == nil || n.Directive == nil {
		return
	}
	note := format
	if len(args) > 0 {
		note = fmt.Sprintf(format, args...)
	}
	if m, ok := t.marks[n]; ok {
		if m.v > v || (m.v == v && (m.note != "" || note == "")) {
			return
		}
	}
	t.marks[n] = mark{v, note}
}

// use records that n's value went into the model unchanged.
func (t *translator) use(n *parser.Node) { t.set(n, Preserved, "") }

// unsupportedTree marks n and everything below it as not run.
func (t *translator) unsupportedTree(n *parser.Node, format string, args ...any) {
	note := fmt.Sprintf(format, args...)
	t.set(n, Unsupported, "%s", note)
	inside := fmt.Sprintf("inside %s at %s, which is not run", n.Name, where(n))
	for _, c := range n.Children {
		c.Walk(func(m *parser.Node) bool {
			t.set(m, Unsupported, "%s", inside)
			return true
		})
	}
}

// where returns "file:line:col" of n.
func where(n *parser.Node) string {
	if n == nil || n.Directive == nil {
		return ""
	}
	return fmt.Sprintf("%s:%d:%d", n.File().Name, n.Pos.Line, n.Pos.Col)
}

// origin records the comment lines written before v's block.
func (t *translator) origin(v any, lines ...string) {
	t.rep.origins[v] = append(t.rep.origins[v], lines...)
}

// originFirst puts a comment line before the ones recorded so far.
func (t *translator) originFirst(v any, line string) {
	t.rep.origins[v] = append([]string{line}, t.rep.origins[v]...)
}

// from is the provenance comment of a block made from n.
func from(n *parser.Node) string {
	s := "from " + where(n)
	if len(n.Chain) > 0 {
		var parts []string
		for _, l := range n.ChainLinks() {
			parts = append(parts, fmt.Sprintf("%s:%d:%d", l.File, l.Line, l.Col))
		}
		s += " (included via " + strings.Join(parts, " → ") + ")"
	}
	return s
}

// modelVersion is the runtime's version value for the target.
func (t *translator) modelVersion() config.Version {
	return config.Version{Major: t.target.Major, Minor: t.target.Minor, Patch: t.target.Patch}
}

// instance translates the main and events settings, the upstream blocks
// and the http servers.
func (t *translator) instance() *config.Instance {
	root := t.cfg.Tree()
	inst := &config.Instance{
		Name:           t.name,
		Version:        t.target.String(),
		ServerSoftware: "nginx/" + t.target.String(),
	}
	t.origin(inst, fmt.Sprintf("from %s (nginx %s)", t.cfg.Name, t.target))
	if root == nil {
		return inst
	}
	t.collectDefined(root)

	// ngx_worker_process_cycle: the process model.
	wp := config.DefaultWorkerProcesses
	if s := t.eff(root, "worker_processes"); s.IsSet() {
		switch v := s.Args[0]; {
		case v == "auto":
			wp = runtime.NumCPU()
			t.set(s.Node, Approximated, "auto: %d workers, the CPUs of the machine that translated it (nginx counts the CPUs where it runs)", wp)
		default:
			if n, err := strconv.Atoi(v); err == nil && n > 0 {
				wp = n
			} else {
				t.set(s.Node, Unsupported, "invalid number %q (nginx -t rejects it); 1 worker is used", v)
			}
		}
	}
	inst.WorkerProcesses = &wp
	wc := config.DefaultWorkerConnections
	if s := t.eff(root, "worker_connections"); s.IsSet() {
		if n, err := strconv.Atoi(s.Args[0]); err == nil && n >= 2 {
			wc = n
		} else {
			t.set(s.Node, Unsupported, "invalid number %q; nginx's default 512 is used", s.Args[0])
		}
	}
	inst.WorkerConnections = &wc
	if s := t.eff(root, "worker_shutdown_timeout"); s.IsSet() {
		inst.WorkerShutdownTimeout = t.msec(s, 0, "")
	}

	t.upstreams = map[*parser.Node]*config.Upstream{}
	https := root.Find("http")
	for i, h := range https {
		if i > 0 {
			t.unsupportedTree(h, `"http" directive is duplicate (nginx -t rejects it)`)
			continue
		}
		t.use(h)
		inst.Maps = append(inst.Maps, t.maps(h)...)
		for _, c := range h.Children {
			if c.Name == "upstream" && c.Block != nil {
				if u := t.upstream(c); u != nil {
					inst.Upstreams = append(inst.Upstreams, u)
					t.upstreams[c] = u
				}
			}
		}
		for _, c := range h.Children {
			if c.Name == "server" && c.Block != nil {
				if s := t.server(c); s != nil {
					inst.Servers = append(inst.Servers, s)
				}
			}
		}
	}
	if ev := root.First("events"); ev != nil {
		t.use(ev)
	}
	return inst
}

// finish gives every node without a verdict one (by directive name, see
// classify) and appends the entries in source order.
func (t *translator) finish() {
	root := t.cfg.Tree()
	if root == nil {
		return
	}
	// Version check first: a directive the target does not have makes
	// nginx -t fail, whatever the rest says.
	root.Walk(func(n *parser.Node) bool {
		if n.Directive == nil || n.Ctx == parser.CtxOpaque {
			return true
		}
		if spec, ok := parser.Lookup(n.Name, n.Ctx); ok && !spec.Loose && !spec.ExistsIn(t.target) {
			t.set(n, Unsupported, "%s does not exist in nginx %s (nginx -t: unknown directive)", n.Name, t.target)
		}
		return true
	})
	includes := t.includeEntries()
	root.Walk(func(n *parser.Node) bool {
		if n.Directive == nil {
			return true
		}
		m, ok := t.marks[n]
		if !ok {
			m = t.classify(n)
			t.marks[n] = m
		}
		// Include directives go just before the first node they brought in.
		for len(includes) > 0 && includes[0].first == n {
			t.rep.Entries = append(t.rep.Entries, includes[0].e)
			includes = includes[1:]
		}
		t.rep.Entries = append(t.rep.Entries, t.entry(n, m))
		return true
	})
	for _, ie := range includes {
		t.rep.Entries = append(t.rep.Entries, ie.e)
	}
}

func (t *translator) entry(n *parser.Node, m mark) Entry {
	e := Entry{
		Instance:  t.name,
		Directive: n.Name,
		Args:      argsText(n.Directive),
		File:      n.File().Name,
		Line:      int(n.Pos.Line),
		Col:       int(n.Pos.Col),
		Verdict:   m.v,
		Note:      m.note,
		Node:      n,
	}
	for _, l := range n.ChainLinks() {
		e.Chain = append(e.Chain, Link(l))
	}
	return e
}

// argsText renders a directive's arguments as written, shortened.
func argsText(d *parser.Directive) string {
	var parts []string
	for _, a := range d.Args {
		parts = append(parts, a.Raw)
	}
	s := strings.Join(parts, " ")
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	return s
}

type includeEntry struct {
	e     Entry
	first *parser.Node // the first node the include brought in, or nil
}

// includeEntries reports every include directive once per use: include
// directives do not appear in the tree, so they are found through the
// include chains of the nodes they brought in, and (for includes that
// matched nothing) through the files' own directive lists.
func (t *translator) includeEntries() []includeEntry {
	type key struct {
		d     *parser.Directive
		chain string
	}
	seen := map[key]bool{}
	seenDir := map[*parser.Directive]bool{}
	var out []includeEntry
	t.cfg.Tree().Walk(func(n *parser.Node) bool {
		for i, inc := range n.Chain {
			k := key{inc, chainKey(n.Chain[:i])}
			if seen[k] {
				continue
			}
			seen[k] = true
			seenDir[inc] = true
			e := Entry{Instance: t.name, Directive: inc.Name, Args: argsText(inc), File: inc.File.Name,
				Line: int(inc.Pos.Line), Col: int(inc.Pos.Col), Verdict: Ignored,
				Note: "its files are translated where they are included"}
			for _, l := range chainLinks(n.Chain[:i]) {
				e.Chain = append(e.Chain, l)
			}
			out = append(out, includeEntry{e: e, first: n})
		}
		return true
	})
	// Includes whose files brought in nothing (empty files, globs that
	// matched nothing) have no node; report them once per directive.
	for _, f := range t.cfg.Files {
		walkDirectives(f.Directives, func(d *parser.Directive) {
			if d.Name != "include" || d.Block != nil {
				return
			}
			if seenDir[d] {
				return
			}
			seenDir[d] = true
			note := "it matched no file"
			if len(d.Include) > 0 {
				note = "its files hold no directive"
			}
			out = append(out, includeEntry{e: Entry{Instance: t.name, Directive: d.Name, Args: argsText(d), File: f.Name,
				Line: int(d.Pos.Line), Col: int(d.Pos.Col), Verdict: Ignored, Note: note}})
		})
	}
	return out
}

func walkDirectives(ds []*parser.Directive, fn func(*parser.Directive)) {
	for _, d := range ds {
		fn(d)
		if d.Block != nil {
			walkDirectives(d.Block.Directives, fn)
		}
	}
}

func chainKey(chain []*parser.Directive) string {
	var b strings.Builder
	for _, d := range chain {
		fmt.Fprintf(&b, "%p;", d)
	}
	return b.String()
}

func chainLinks(chain []*parser.Directive) []Link {
	out := make([]Link, 0, len(chain))
	for _, d := range chain {
		out = append(out, Link{File: d.File.Name, Line: int(d.Pos.Line), Col: int(d.Pos.Col)})
	}
	return out
}
