package lint

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/ngxkeep/ngxkeep/parser"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// ConfigFileName is the name of the project config file, looked up from
// the working directory upwards.
const ConfigFileName = ".ngxkeep.hcl"

// Config is a decoded .ngxkeep.hcl. The zero Config means defaults.
type Config struct {
	// File is the config file's path ("" when none was read).
	File string
	// Target is nginx_version (zero when unset).
	Target parser.Version
	// FailOn is fail_on: the lowest severity that makes lint exit 1;
	// zero when unset. FailNever is true for fail_on = "none".
	FailOn    Severity
	FailNever bool
	// Baseline is the baseline path, relative paths resolved against the
	// config file's directory ("" when unset).
	Baseline string
	// Rules holds per-rule settings by rule ID.
	Rules map[string]*RuleConfig
	// Tiers are the declared external tiers.
	Tiers []*Tier

	disable map[string]bool
}

// RuleConfig is a rule "ID" { ... } block.
type RuleConfig struct {
	ID       string
	Disabled bool
	Severity Severity // zero: the rule's default
	Options  map[string]string
}

func (c *Config) disabled(a *Analyzer) bool { return c.disabledID(a.ID) }

func (c *Config) disabledID(id string) bool {
	if c == nil {
		return false
	}
	if rc := c.Rules[id]; rc != nil && rc.Disabled {
		return true
	}
	return c.disable[id]
}

func (c *Config) dir() string {
	if c == nil || c.File == "" {
		return ""
	}
	return filepath.Dir(c.File)
}

// FindConfig looks for .ngxkeep.hcl in dir and its parents and returns its
// path, or "" when there is none.
func FindConfig(dir string) string {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	for {
		p := filepath.Join(dir, ConfigFileName)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// LoadConfig reads and decodes a config file. Errors are hcl.Diagnostics
// with source ranges; use FormatDiagnostics to print them.
func LoadConfig(path string, analyzers []*Analyzer) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// One byte past the limit is enough for ParseConfig to refuse it.
	src, err := io.ReadAll(io.LimitReader(f, MaxConfigSize+1))
	if err != nil {
		return nil, err
	}
	return ParseConfig(src, path, analyzers)
}

// MaxConfigSize is the largest config file ParseConfig accepts. A real
// .ngxkeep.hcl is a few KB; HCL's parser needs about a second per MB of
// pathological input (measured: 64 s for 64 MiB of newlines), so a larger
// file is refused rather than parsed.
const MaxConfigSize = 1 << 20

// ConfigError is a config file problem list, with the sources needed to
// show them.
type ConfigError struct {
	Diags hcl.Diagnostics
	Files map[string]*hcl.File
}

func (e *ConfigError) Error() string {
	var b strings.Builder
	for i, d := range e.Diags {
		if i > 0 {
			b.WriteByte('\n')
		}
		if d.Subject != nil {
			fmt.Fprintf(&b, "%s:%d:%d: ", d.Subject.Filename, d.Subject.Start.Line, d.Subject.Start.Column)
		}
		b.WriteString(d.Summary)
		if d.Detail != "" {
			b.WriteString(": ")
			b.WriteString(d.Detail)
		}
	}
	return b.String()
}

// Errors converts the diagnostics for output formats.
func (e *ConfigError) Errors() []Error {
	var out []Error
	for _, d := range e.Diags {
		er := Error{Severity: SeverityError, Message: d.Summary}
		if d.Detail != "" {
			er.Message += ": " + d.Detail
		}
		if d.Severity == hcl.DiagWarning {
			er.Severity = SeverityWarning
		}
		if d.Subject != nil {
			er.File = d.Subject.Filename
			er.Pos, er.End = hclPos(d.Subject.Start), hclPos(d.Subject.End)
		}
		out = append(out, er)
	}
	return out
}

// hclPos converts a position in a config file. It cannot wrap: ParseConfig
// refuses a source larger than MaxConfigSize.
func hclPos(p hcl.Pos) parser.Pos {
	return parser.Pos{Offset: int32(p.Byte), Line: int32(p.Line), Col: int32(p.Column)}
}

type fileSchema struct {
	NginxVersion *string    `hcl:"nginx_version,optional"`
	FailOn       *string    `hcl:"fail_on,optional"`
	Baseline     *string    `hcl:"baseline,optional"`
	Disable      []string   `hcl:"disable,optional"`
	Rules        []ruleBody `hcl:"rule,block"`
	Tiers        []tierBody `hcl:"tier,block"`
	Remain       hcl.Body   `hcl:",remain"`
}

type ruleBody struct {
	ID         string    `hcl:"id,label"`
	Enabled    *bool     `hcl:"enabled,optional"`
	Severity   *string   `hcl:"severity,optional"`
	Remain     hcl.Body  `hcl:",remain"`
	LabelRange hcl.Range `hcl:"id,label_range"`
}

type tierBody struct {
	Name           string         `hcl:"name,label"`
	InFrontOf      hcl.Expression `hcl:"in_front_of,optional"`
	Address        hcl.Expression `hcl:"address,optional"`
	IdleTimeout    string         `hcl:"idle_timeout"`
	RequestTimeout *string        `hcl:"request_timeout,optional"`
	MaxRequests    *int           `hcl:"max_requests,optional"`
	DefRange       hcl.Range      `hcl:",def_range"`
}

// ParseConfig decodes config file source. analyzers are the known rules:
// rule blocks, disable lists and options are checked against them (rule IDs
// or names; unknown ones get a did-you-mean).
func ParseConfig(src []byte, filename string, analyzers []*Analyzer) (*Config, error) {
	if len(src) > MaxConfigSize {
		start := hcl.Pos{Line: 1, Column: 1}
		return nil, &ConfigError{Diags: hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Config file too large",
			Detail:  fmt.Sprintf("file is larger than %d MiB, ngxkeep's limit", MaxConfigSize>>20),
			Subject: &hcl.Range{Filename: filename, Start: start, End: start}}}}
	}
	f, diags := hclsyntax.ParseConfig(src, filename, hcl.Pos{Line: 1, Column: 1, Byte: 0})
	files := map[string]*hcl.File{filename: f}
	fail := func(d hcl.Diagnostics) error { return &ConfigError{Diags: d, Files: files} }
	if diags.HasErrors() {
		return nil, fail(diags[:1]) // later syntax errors mostly repeat the first
	}
	var s fileSchema
	if d := gohcl.DecodeBody(f.Body, nil, &s); d.HasErrors() {
		return nil, fail(d)
	}
	all := append(slices.Clone(analyzers), Builtins()...)
	c := &Config{File: filename, Rules: map[string]*RuleConfig{}, disable: map[string]bool{}}
	attrs, _ := f.Body.(*hclsyntax.Body)
	attrRange := func(name string) *hcl.Range {
		if attrs != nil {
			if a := attrs.Attributes[name]; a != nil {
				r := a.Expr.Range()
				return &r
			}
		}
		return nil
	}
	var ds hcl.Diagnostics
	errAt := func(r *hcl.Range, summary, detail string) {
		ds = append(ds, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: r})
	}
	if s.NginxVersion != nil {
		v, err := parser.ParseVersion(*s.NginxVersion)
		if err != nil {
			errAt(attrRange("nginx_version"), "Invalid nginx_version", err.Error())
		}
		c.Target = v
	}
	if s.FailOn != nil {
		if strings.EqualFold(*s.FailOn, "none") {
			c.FailNever = true
		} else if sev, err := ParseSeverity(*s.FailOn); err != nil {
			errAt(attrRange("fail_on"), "Invalid fail_on", `want "error", "warning", "info" or "none"`)
		} else {
			c.FailOn = sev
		}
	}
	if s.Baseline != nil {
		c.Baseline = *s.Baseline
		if c.Baseline != "" && !filepath.IsAbs(c.Baseline) {
			c.Baseline = filepath.Join(filepath.Dir(filename), c.Baseline)
		}
	}
	for _, id := range s.Disable {
		a, err := resolveRule(id, all)
		if err != nil {
			errAt(attrRange("disable"), "Unknown rule in disable", err.Error())
			continue
		}
		c.disable[a.ID] = true
	}

	// Top-level attributes besides the fixed ones set an option for every
	// rule that declares it (backend_idle_timeout = "30s").
	global := map[string]string{}
	if s.Remain != nil {
		rem, d := extraAttrs(s.Remain, []string{"rule", "tier"}, "nginx_version", "fail_on", "baseline", "disable")
		ds = append(ds, d...)
		for name, at := range rem {
			if !optionDeclared(name, all) {
				errAt(&at.NameRange, "Unsupported argument",
					fmt.Sprintf("An argument named %q is not expected here.%s", name,
						didYouMean(name, append([]string{"nginx_version", "fail_on", "baseline", "disable"}, optionNames(all)...))))
				continue
			}
			if ids, same := sharedOption(name, all); !same {
				errAt(&at.NameRange, "Ambiguous option",
					fmt.Sprintf("Rules %s each have an option %q with its own meaning; set it inside a rule block, e.g. rule %q { %s = ... }.",
						strings.Join(ids, ", "), name, ids[0], name))
				continue
			}
			v, ok := stringValue(at.Expr, &ds)
			if !ok {
				continue
			}
			for _, a := range all {
				if o := a.option(name); o != nil {
					if _, err := o.Kind.parse(v); err != nil {
						r := at.Expr.Range()
						errAt(&r, "Invalid value for "+name, err.Error())
						break
					}
				}
			}
			global[name] = v
		}
	}

	for _, rb := range s.Rules {
		a, err := resolveRule(rb.ID, all)
		if err != nil {
			r := rb.LabelRange
			errAt(&r, "Unknown rule", err.Error())
			continue
		}
		rc := c.Rules[a.ID]
		if rc != nil {
			r := rb.LabelRange
			errAt(&r, "Duplicate rule block", fmt.Sprintf("rule %s is configured twice", a.ID))
			continue
		}
		rc = &RuleConfig{ID: a.ID, Options: map[string]string{}}
		c.Rules[a.ID] = rc
		if rb.Enabled != nil {
			rc.Disabled = !*rb.Enabled
		}
		if rb.Severity != nil {
			sev, err := ParseSeverity(*rb.Severity)
			if err != nil {
				errAt(blockAttrRange(rb.Remain, f, rb.LabelRange, "severity"), "Invalid severity", err.Error())
			}
			rc.Severity = sev
		}
		for k, v := range global {
			if a.option(k) != nil {
				rc.Options[k] = v
			}
		}
		rem, d := extraAttrs(rb.Remain, nil, "enabled", "severity")
		ds = append(ds, d...)
		for name, at := range rem {
			o := a.option(name)
			if o == nil {
				var names []string
				for _, o := range a.Options {
					names = append(names, o.Name)
				}
				detail := fmt.Sprintf("Rule %s has no option %q.", a.ID, name)
				if len(names) == 0 {
					detail += " It has no options."
				} else {
					detail += didYouMean(name, names) + " Options: " + strings.Join(names, ", ") + "."
				}
				errAt(&at.NameRange, "Unsupported argument", detail)
				continue
			}
			v, ok := stringValue(at.Expr, &ds)
			if !ok {
				continue
			}
			if _, err := o.Kind.parse(v); err != nil {
				r := at.Expr.Range()
				errAt(&r, "Invalid value for "+name, fmt.Sprintf("%v (want a %s)", err, o.Kind))
				continue
			}
			rc.Options[name] = v
		}
	}
	// Rules without a block still get the global options.
	if len(global) > 0 {
		for _, a := range all {
			if c.Rules[a.ID] != nil {
				continue
			}
			rc := &RuleConfig{ID: a.ID, Options: map[string]string{}}
			for k, v := range global {
				if a.option(k) != nil {
					rc.Options[k] = v
				}
			}
			if len(rc.Options) > 0 {
				c.Rules[a.ID] = rc
			}
		}
	}

	names := map[string]bool{}
	for _, tb := range s.Tiers {
		r := tb.DefRange
		if names[tb.Name] {
			errAt(&r, "Duplicate tier", fmt.Sprintf("tier %q is declared twice", tb.Name))
			continue
		}
		names[tb.Name] = true
		t := &Tier{Name: tb.Name, File: filename, Pos: hclPos(r.Start)}
		front, fok := stringList(tb.InFrontOf, &ds)
		addrs, aok := stringList(tb.Address, &ds)
		if !fok || !aok {
			continue
		}
		if len(front) == 0 && len(addrs) == 0 {
			errAt(&r, "Tier without a place", `A tier needs in_front_of (the configs it sends traffic to) or address (the upstream addresses it serves).`)
			continue
		}
		t.inFrontOf = front
		for _, s := range addrs {
			a, _, err := ParseAddr(s, 80, true)
			if err != nil {
				rr := tb.Address.Range()
				errAt(&rr, "Invalid tier address", err.Error())
				continue
			}
			t.Addresses = append(t.Addresses, a)
		}
		d, err := parser.ParseTime(tb.IdleTimeout)
		if err != nil {
			errAt(blockAttrRange(nil, f, r, "idle_timeout"), "Invalid idle_timeout", err.Error()+` (want an nginx time such as "60s")`)
		}
		t.IdleTimeout = d
		if tb.RequestTimeout != nil {
			d, err := parser.ParseTime(*tb.RequestTimeout)
			if err != nil {
				errAt(&r, "Invalid request_timeout", err.Error())
			}
			t.RequestTimeout = d
		}
		if tb.MaxRequests != nil {
			if *tb.MaxRequests < 0 {
				errAt(&r, "Invalid max_requests", "must be 0 (unlimited) or more")
			}
			t.MaxRequests = *tb.MaxRequests
		}
		c.Tiers = append(c.Tiers, t)
	}
	if ds.HasErrors() {
		return nil, fail(ds)
	}
	return c, nil
}

// CheckTierPaths reports tiers whose in_front_of names a file that does not
// exist (relative paths are relative to the config file).
func (c *Config) CheckTierPaths() error {
	var errs []error
	for _, t := range c.Tiers {
		for _, p := range t.inFrontOf {
			q := p
			if !filepath.IsAbs(q) {
				q = filepath.Join(c.dir(), q)
			}
			if _, err := os.Stat(q); err != nil {
				errs = append(errs, fmt.Errorf("%s:%d:%d: tier %q: in_front_of %q: no such file", t.File, t.Pos.Line, t.Pos.Col, t.Name, p))
			}
		}
	}
	return errors.Join(errs...)
}

// extraAttrs returns the attributes of a remain body other than the known
// ones, and reports blocks other than the known block types.
func extraAttrs(body hcl.Body, blocks []string, known ...string) (hcl.Attributes, hcl.Diagnostics) {
	sb, ok := body.(*hclsyntax.Body)
	if !ok {
		return body.JustAttributes()
	}
	var ds hcl.Diagnostics
	out := hcl.Attributes{}
	for name, a := range sb.Attributes {
		if !slices.Contains(known, name) {
			out[name] = a.AsHCLAttribute()
		}
	}
	for _, b := range sb.Blocks {
		if slices.Contains(blocks, b.Type) {
			continue
		}
		r := b.TypeRange
		detail := fmt.Sprintf("Blocks of type %q are not expected here.", b.Type)
		if len(blocks) > 0 {
			detail += didYouMean(b.Type, blocks)
		}
		ds = append(ds, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Unsupported block type", Detail: detail, Subject: &r})
	}
	return out, ds
}

func blockAttrRange(_ hcl.Body, f *hcl.File, def hcl.Range, name string) *hcl.Range {
	// Find the attribute in the block whose definition starts at def.
	if body, ok := f.Body.(*hclsyntax.Body); ok {
		for _, b := range body.Blocks {
			if b.DefRange().Start == def.Start || b.LabelRanges != nil && len(b.LabelRanges) > 0 && b.LabelRanges[0].Start == def.Start {
				if a := b.Body.Attributes[name]; a != nil {
					r := a.Expr.Range()
					return &r
				}
			}
		}
	}
	return &def
}

func stringValue(e hcl.Expression, ds *hcl.Diagnostics) (string, bool) {
	v, d := e.Value(nil)
	*ds = append(*ds, d...)
	if d.HasErrors() {
		return "", false
	}
	sv, err := convert.Convert(v, cty.String)
	if err != nil || sv.IsNull() {
		r := e.Range()
		*ds = append(*ds, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid value",
			Detail: "A string, number or bool is required.", Subject: &r})
		return "", false
	}
	return sv.AsString(), true
}

// stringList evaluates an attribute that may be a string or a list of
// strings; an absent attribute gives nil.
func stringList(e hcl.Expression, ds *hcl.Diagnostics) ([]string, bool) {
	if e == nil {
		return nil, true
	}
	v, d := e.Value(nil)
	*ds = append(*ds, d...)
	if d.HasErrors() {
		return nil, false
	}
	if v.IsNull() {
		return nil, true
	}
	r := e.Range()
	bad := func() ([]string, bool) {
		*ds = append(*ds, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid value",
			Detail: "A string or a list of strings is required.", Subject: &r})
		return nil, false
	}
	if v.Type() == cty.String {
		return []string{v.AsString()}, true
	}
	if !v.CanIterateElements() {
		return bad()
	}
	var out []string
	for it := v.ElementIterator(); it.Next(); {
		_, ev := it.Element()
		if ev.IsNull() || ev.Type() != cty.String {
			return bad()
		}
		out = append(out, ev.AsString())
	}
	return out, true
}

func optionDeclared(name string, all []*Analyzer) bool {
	for _, a := range all {
		if a.option(name) != nil {
			return true
		}
	}
	return false
}

// sharedOption reports whether every rule declaring option name declares
// it with the same kind and default (one shared assumption, such as
// assumed_cpus), and lists those rules.
func sharedOption(name string, all []*Analyzer) (ids []string, same bool) {
	var first *Option
	same = true
	for _, a := range all {
		o := a.option(name)
		if o == nil {
			continue
		}
		ids = append(ids, a.ID)
		if first == nil {
			first = o
		} else if o.Kind != first.Kind || o.Default != first.Default {
			same = false
		}
	}
	return ids, same
}

func optionNames(all []*Analyzer) []string {
	var out []string
	seen := map[string]bool{}
	for _, a := range all {
		for _, o := range a.Options {
			if !seen[o.Name] {
				seen[o.Name] = true
				out = append(out, o.Name)
			}
		}
	}
	return out
}

// resolveRule finds a rule by ID (any case) or name.
func resolveRule(s string, all []*Analyzer) (*Analyzer, error) {
	if a := FindAnalyzer(s, all); a != nil {
		return a, nil
	}
	var cands []string
	for _, a := range all {
		cands = append(cands, a.ID, a.Name)
	}
	return nil, fmt.Errorf("no rule %q.%s", s, didYouMean(s, cands))
}

// FindAnalyzer returns the analyzer with ID (any case) or name s, or nil.
func FindAnalyzer(s string, all []*Analyzer) *Analyzer {
	for _, a := range all {
		if strings.EqualFold(a.ID, s) || a.Name == s {
			return a
		}
	}
	return nil
}

// didYouMean returns ` Did you mean "x"?` for the closest candidate within
// a small edit distance, or "".
func didYouMean(s string, cands []string) string {
	best, bestD := "", 1<<30
	for _, c := range cands {
		d := levenshtein(strings.ToLower(s), strings.ToLower(c))
		if d < bestD {
			best, bestD = c, d
		}
	}
	if best == "" || bestD > max(2, len(s)/3) {
		return ""
	}
	return fmt.Sprintf(" Did you mean %q?", best)
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// analyzerOptions returns the analyzer's option values: defaults overridden
// by the rule's config.
func analyzerOptions(a *Analyzer, rc *RuleConfig, _ *Config) (map[string]any, error) {
	out := make(map[string]any, len(a.Options))
	for _, o := range a.Options {
		s := o.Default
		if rc != nil {
			if v, ok := rc.Options[o.Name]; ok {
				s = v
			}
		}
		v, err := o.Kind.parse(s)
		if err != nil {
			return nil, fmt.Errorf("rule %s option %s: %v", a.ID, o.Name, err)
		}
		out[o.Name] = v
	}
	return out, nil
}

// Disable turns off the named rules (IDs or names) in addition to the
// config file's disable list.
func (c *Config) Disable(names []string, analyzers []*Analyzer) error {
	all := append(slices.Clone(analyzers), Builtins()...)
	if c.disable == nil {
		c.disable = map[string]bool{}
	}
	for _, n := range names {
		a, err := resolveRule(n, all)
		if err != nil {
			return err
		}
		c.disable[a.ID] = true
	}
	return nil
}

// DidYouMean returns ` Did you mean "x"?` for the candidate closest to s
// within a small edit distance, or "".
func DidYouMean(s string, cands []string) string { return didYouMean(s, cands) }
