package lint

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"

	"github.com/ngxkeep/ngxkeep/parser"
)

// Options configure one lint run.
type Options struct {
	// Target is the nginx version to check for. Zero means Config's
	// nginx_version, else parser.DefaultVersion.
	Target parser.Version
	// Analyzers are the rules to run (the driver's registry, e.g.
	// rules.All()). Rules disabled in Config are skipped.
	Analyzers []*Analyzer
	// Instances are the configs to lint, each a separate nginx instance.
	Instances []*Instance
	// Config is the decoded .ngxkeep.hcl; nil means defaults.
	Config *Config
	// Baseline, when set, drops findings it already records.
	Baseline *Baseline
	// CompareVersions are the other targets whose extra findings are
	// counted for the report header. Nil means DefaultCompareVersions;
	// an empty non-nil slice disables the comparison.
	CompareVersions []parser.Version
	// Concurrency bounds the analyzers run in parallel; 0 means
	// GOMAXPROCS.
	Concurrency int
}

// DefaultCompareVersions are the targets a run compares against: an older
// stable (Debian 12's nginx, before the 1.29.7 default changes) and the
// current stable.
var DefaultCompareVersions = []parser.Version{{Major: 1, Minor: 22}, parser.DefaultVersion}

// Result is the outcome of a run.
type Result struct {
	// Target is the version checked for.
	Target parser.Version
	// Configs are the instances' paths as given.
	Configs []string
	// Findings are sorted by file, line, column, rule, message.
	Findings []*Finding
	// Errors are the problems found while reading the configs (parse
	// errors and warnings), in instance order.
	Errors []Error
	// Others say how many more findings other target versions would give.
	Others []VersionDelta
	// Suppressed and Baselined count findings dropped by inline
	// suppressions and by the baseline.
	Suppressed, Baselined int
	// Analyzers are the rules that were enabled (whatever their version
	// range), sorted by ID, plus the built-in suppression rules.
	Analyzers []*Analyzer
	// Instances are the linted instances.
	Instances []*Instance

	files map[string]*parser.File
}

// Error is a problem reading a config: a parse error or warning.
type Error struct {
	Severity Severity // SeverityError or SeverityWarning
	File     string
	Pos, End parser.Pos
	Message  string
	Chain    []parser.Link
}

// VersionDelta counts the findings another target version would add.
type VersionDelta struct {
	Version parser.Version
	Count   int
	Rules   []string // IDs of the rules that would add them, sorted
}

// Source returns the file a finding or error names, or nil.
func (r *Result) Source(file string) *parser.File { return r.files[file] }

// HasErrors reports whether a config had an error-severity problem.
func (r *Result) HasErrors() bool {
	for _, e := range r.Errors {
		if e.Severity == SeverityError {
			return true
		}
	}
	return false
}

// Count returns the number of findings at or above min.
func (r *Result) Count(min Severity) int {
	n := 0
	for _, f := range r.Findings {
		if f.Severity >= min {
			n++
		}
	}
	return n
}

// Run lints the instances with the analyzers. It returns an error only for
// invalid options or a failing analyzer (an internal error); problems in
// the configs are in Result.Errors.
func Run(ctx context.Context, opts Options) (*Result, error) {
	cfg := opts.Config
	if cfg == nil {
		cfg = &Config{}
	}
	target := opts.Target
	if target.IsZero() {
		target = cfg.Target
	}
	if target.IsZero() {
		target = parser.DefaultVersion
	}
	seen := map[string]*Analyzer{}
	for _, a := range opts.Analyzers {
		if a == nil {
			return nil, fmt.Errorf("nil analyzer")
		}
		if o := seen[a.ID]; o != nil {
			return nil, fmt.Errorf("analyzers %s and %s share the ID %s", o.Name, a.Name, a.ID)
		}
		seen[a.ID] = a
	}
	res := &Result{Target: target, Instances: opts.Instances, files: map[string]*parser.File{}}
	roots := map[*parser.Node]*Instance{}
	names := map[*parser.File]string{}
	for _, in := range opts.Instances {
		res.Configs = append(res.Configs, in.Path)
		if in.Tree != nil {
			roots[in.Tree] = in
		}
		if in.Config != nil {
			for _, f := range in.Config.Files {
				name := displayName(in, f)
				res.files[name] = f
				if _, ok := names[f]; !ok {
					names[f] = name
				}
			}
			for _, d := range in.Config.Diagnostics {
				sev := SeverityError
				if d.Severity == parser.SeverityWarning {
					sev = SeverityWarning
				}
				file := d.File
				if f := fileNamed(in.Config, d.File); f != nil {
					file = displayName(in, f)
				}
				res.Errors = append(res.Errors, Error{Severity: sev, File: file, Pos: d.Pos, End: d.End,
					Message: d.Message, Chain: chainFromLinks(in, d.Chain)})
			}
		}
	}

	// Enabled analyzers with their options.
	var enabled []*Analyzer
	options := map[*Analyzer]map[string]any{}
	for _, a := range opts.Analyzers {
		rc := cfg.Rules[a.ID]
		if cfg.disabled(a) {
			continue
		}
		o, err := analyzerOptions(a, rc, cfg)
		if err != nil {
			return nil, err
		}
		options[a] = o
		enabled = append(enabled, a)
	}
	slices.SortFunc(enabled, func(a, b *Analyzer) int { return cmp.Compare(a.ID, b.ID) })
	res.Analyzers = append(slices.Clone(enabled), Builtins()...)
	slices.SortFunc(res.Analyzers, func(a, b *Analyzer) int { return cmp.Compare(a.ID, b.ID) })

	tiers := cfg.Tiers
	resolveTiers(tiers, opts.Instances, cfg.dir())

	// The topology is computed once, for the main target, and shared by
	// every pass, including the comparison runs.
	for _, in := range opts.Instances {
		in.Role = 0
	}
	topo := buildTopology(opts.Instances, tiers)
	newPasses := func(target parser.Version, set []*Analyzer) []*Pass {
		sh := &shared{target: target, roots: roots, names: names}
		ps := make([]*Pass, len(set))
		for i, a := range set {
			ps[i] = &Pass{Analyzer: a, Target: target, Instances: opts.Instances,
				Topology: topo, Tiers: tiers, opts: options[a], shared: sh}
		}
		return ps
	}

	// The passes for the target and for the comparison versions (versioned
	// rules only) run in one pool, so that cores stay busy.
	var active []*Analyzer
	for _, a := range enabled {
		if a.AppliesTo(target) {
			active = append(active, a)
		}
	}
	main := newPasses(target, active)
	all := slices.Clone(main)
	compare := opts.CompareVersions
	if compare == nil {
		compare = DefaultCompareVersions
	}
	type comparison struct {
		v      parser.Version
		passes []*Pass
	}
	var comparisons []comparison
	for _, v := range compare {
		if v.Compare(target) == 0 {
			continue
		}
		var set []*Analyzer
		for _, a := range enabled {
			if a.versioned() && a.AppliesTo(v) {
				set = append(set, a)
			}
		}
		if len(set) == 0 {
			continue
		}
		ps := newPasses(v, set)
		for _, p := range ps {
			p.counting = true
		}
		comparisons = append(comparisons, comparison{v, ps})
		all = append(all, ps...)
	}
	if err := runPasses(ctx, all, opts.Concurrency); err != nil {
		return nil, err
	}
	findings := collectFindings(main)
	sup := collectSuppressions(opts.Instances, opts.Analyzers)
	post := func(fs []*Finding) ([]*Finding, int, int) {
		for _, f := range fs {
			if rc := cfg.Rules[f.Rule]; rc != nil && rc.Severity != 0 {
				f.Severity = rc.Severity
			}
		}
		fs, nsup := sup.apply(fs)
		sortFindings(fs)
		nbase := 0
		if opts.Baseline != nil {
			fs, nbase = opts.Baseline.filter(fs)
		}
		return fs, nsup, nbase
	}
	res.Findings, res.Suppressed, res.Baselined = post(findings)
	ran := map[string]bool{}
	for _, a := range active {
		ran[a.ID] = true
	}
	nk := sup.report(ran, enabledIDs(enabled))
	nk = slices.DeleteFunc(nk, func(f *Finding) bool { return cfg.disabledID(f.Rule) })
	for _, f := range nk {
		if rc := cfg.Rules[f.Rule]; rc != nil && rc.Severity != 0 {
			f.Severity = rc.Severity
		}
	}
	if len(nk) > 0 {
		sortFindings(nk)
		if opts.Baseline != nil {
			nk, _ = opts.Baseline.filter(nk)
		}
		res.Findings = append(res.Findings, nk...)
		sortFindings(res.Findings)
	}

	// Count what other targets would add.
	if len(comparisons) > 0 {
		have := map[compareKey]int{}
		for _, f := range res.Findings {
			have[keyOf(f)]++
		}
		for _, c := range comparisons {
			sup.resetUse()
			other, _, _ := post(collectFindings(c.passes))
			left := maps.Clone(have)
			d := VersionDelta{Version: c.v}
			rules := map[string]bool{}
			for _, f := range other {
				if k := keyOf(f); left[k] > 0 {
					left[k]--
					continue
				}
				d.Count++
				rules[f.Rule] = true
			}
			if d.Count > 0 {
				for id := range rules {
					d.Rules = append(d.Rules, id)
				}
				slices.Sort(d.Rules)
				res.Others = append(res.Others, d)
			}
		}
	}
	return res, nil
}

// compareKey identifies a finding across runs of the same trees at
// different target versions (the nodes are shared).
type compareKey struct {
	rule string
	node *parser.Node
	file string
	pos  int32 // parser.Pos.Offset
}

func keyOf(f *Finding) compareKey {
	return compareKey{f.Rule, f.Node, f.File, f.Pos.Offset}
}

func enabledIDs(as []*Analyzer) map[string]bool {
	m := make(map[string]bool, len(as))
	for _, a := range as {
		m[a.ID] = true
	}
	return m
}

// runPasses runs the passes concurrently (at most conc at a time, 0
// meaning GOMAXPROCS). A panic or error in one analyzer is an internal
// error naming it.
func runPasses(ctx context.Context, passes []*Pass, conc int) error {
	if conc <= 0 {
		conc = runtime.GOMAXPROCS(0)
	}
	errs := make([]error, len(passes))
	sem := make(chan struct{}, conc)
	var wg sync.WaitGroup
	for i, p := range passes {
		if err := ctx.Err(); err != nil {
			wg.Wait()
			return err
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			defer func() {
				if r := recover(); r != nil {
					errs[i] = fmt.Errorf("analyzer %s (%s) panicked: %v\n%s", p.Analyzer.ID, p.Analyzer.Name, r, debug.Stack())
				}
			}()
			if err := p.Analyzer.Run(p); err != nil {
				errs[i] = fmt.Errorf("analyzer %s (%s): %w", p.Analyzer.ID, p.Analyzer.Name, err)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func collectFindings(passes []*Pass) []*Finding {
	n := 0
	for _, p := range passes {
		n += len(p.findings)
	}
	out := make([]*Finding, 0, n)
	for _, p := range passes {
		out = append(out, p.findings...)
	}
	return out
}

// sortFindings orders findings by file, line, column, rule, then message;
// ties keep report order.
func sortFindings(fs []*Finding) {
	slices.SortStableFunc(fs, func(a, b *Finding) int {
		return cmp.Or(
			cmp.Compare(a.File, b.File),
			cmp.Compare(a.Pos.Line, b.Pos.Line),
			cmp.Compare(a.Pos.Col, b.Pos.Col),
			cmp.Compare(a.Rule, b.Rule),
			compareChains(a.Chain, b.Chain),
			cmp.Compare(a.Message, b.Message),
		)
	})
}

func compareChains(a, b []parser.Link) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if c := cmp.Or(cmp.Compare(a[i].File, b[i].File), cmp.Compare(a[i].Line, b[i].Line),
			cmp.Compare(a[i].Col, b[i].Col)); c != 0 {
			return c
		}
	}
	return cmp.Compare(len(a), len(b))
}

func fileNamed(c *parser.Config, name string) *parser.File {
	for _, f := range c.Files {
		if f.Name == name {
			return f
		}
	}
	return nil
}

func chainFromLinks(in *Instance, links []parser.Link) []parser.Link {
	if len(links) == 0 || in.Config == nil {
		return links
	}
	out := make([]parser.Link, len(links))
	for i, l := range links {
		out[i] = l
		if f := fileNamed(in.Config, l.File); f != nil {
			out[i].File = displayName(in, f)
		}
	}
	return out
}

// baselineKey is a finding's identity for baselines and SARIF fingerprints:
// rule, file and the directive path (names and arguments of the directive
// and its ancestors), never line numbers, so it survives edits elsewhere.
// It is computed on demand and cached.
func (f *Finding) baselineKey() string {
	if f.key == "" {
		var b strings.Builder
		b.WriteString(f.Rule)
		b.WriteByte('|')
		b.WriteString(f.File)
		b.WriteByte('|')
		if f.Node != nil && f.Node.Directive != nil {
			b.WriteString(directivePath(f.Node))
		} else {
			b.WriteString(f.Message)
		}
		f.key = b.String()
	}
	return f.key
}

// directivePath renders n and its ancestors as
// "http/server[listen=80 server_name=a.example]/location(/api)/proxy_pass(http://b)".
func directivePath(n *parser.Node) string {
	var parts []string
	for p := n; p != nil && p.Directive != nil; p = p.Parent {
		parts = append(parts, nodeLabel(p))
	}
	slices.Reverse(parts)
	return strings.Join(parts, "/")
}

func nodeLabel(n *parser.Node) string {
	var b strings.Builder
	b.WriteString(n.Name)
	if n.Name == "server" && n.Block != nil {
		// Server blocks have no arguments: name them by their first
		// listen and server_name.
		b.WriteByte('[')
		if l := Child(n, "listen"); l != nil && len(l.Args) > 0 {
			b.WriteString("listen=" + l.Args[0].Value)
		}
		if s := Child(n, "server_name"); s != nil && len(s.Args) > 0 {
			b.WriteString(" server_name=" + s.Args[0].Value)
		}
		b.WriteByte(']')
		return b.String()
	}
	if len(n.Args) > 0 {
		b.WriteByte('(')
		for i, a := range n.Args {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(a.Value)
		}
		b.WriteByte(')')
	}
	return b.String()
}
