package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"reflect"
	"sort"
	"strings"

	"charm.land/lipgloss/v2"
	"charm.land/lipgloss/v2/table"
	"github.com/charmbracelet/colorprofile"
	"github.com/hashicorp/hcl/v2"
	"github.com/ngxkeep/ngxkeep/parser"
	"github.com/ngxkeep/ngxkeep/runtime/config"
	"github.com/ngxkeep/ngxkeep/runtime/translate"
	"github.com/spf13/cobra"
)

func init() { subcommands = append(subcommands, newTranslateCmd) }

type translateFlags struct {
	version    string
	out        string
	report     string
	reportFile string
	strict     bool
	color      string
	prefix     string
}

func newTranslateCmd() *cobra.Command {
	var f translateFlags
	cmd := &cobra.Command{
		Use:   "translate [flags] CONFIG...",
		Short: "Translate nginx configurations into the runtime's HCL configuration",
		Long: `translate turns nginx configurations into the HCL configuration "ngxkeep run"
executes: one instance block per CONFIG (a main file with its includes, an
"nginx -T" dump, a directory holding nginx.conf, or "-" for standard input).

nginx's inheritance is resolved and every setting is written out: a value
nginx takes from its defaults appears with the default of the target version
(--nginx-version), so the file shows what actually applies. Every block is
preceded by a comment naming its nginx origin (file:line:col).

The coverage report gives every directive use a verdict: preserved (same
semantics), approximated (runs, with the difference said in one line),
unsupported (not run) or ignored (matters only to a real nginx process: pid,
logs, temp paths, process limits, I/O tuning). It goes to standard error as
a table (plain text when not a terminal or with NO_COLOR), or as JSON with
--report json; --strict exits 2 unless every directive is preserved.

Values with variables (map, set, return, add_header, error_page, proxy pass,
set_header and redirect) keep nginx's syntax: $name, ${name}, $1..$9 for
regular expression captures; HCL reads "${" as its own template, so the
nginx form ${name} is written $${name}. A map is evaluated on first use and
kept for the request; set steps run in order before the level's return.

HCL schema (generated from the runtime model; durations use nginx's syntax,
e.g. "75s", "1h30m", "500ms", a bare number is seconds; sizes "8k", "1m"):

` + schemaHelp(),
		Example: `  ngxkeep translate box1-frontend.conf box2-backend.conf > boxes.hcl
  ngxkeep translate --nginx-version 1.22 -o boxes.hcl box1-frontend.conf box2-backend.conf
  ngxkeep translate --report json --report-file coverage.json nginx.conf
  ngxkeep translate --strict nginx.conf     # exit 2 unless everything is preserved`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runTranslate(cmd, args, &f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.version, "nginx-version", "", `nginx version whose behaviour the runtime emulates, e.g. 1.22 or 1.30.1, or "auto" to ask the installed nginx (default `+parser.DefaultVersion.String()+`)`)
	fl.StringVarP(&f.out, "output", "o", "", "write the HCL to this file instead of standard output")
	fl.StringVar(&f.report, "report", "text", "coverage report format: text, json or none")
	fl.StringVar(&f.reportFile, "report-file", "", "write the coverage report to this file instead of standard error")
	fl.BoolVar(&f.strict, "strict", false, "exit 2 when any directive is not preserved (approximated, unsupported or ignored)")
	fl.StringVar(&f.color, "color", "auto", "colour the text report: auto, always, never")
	fl.StringVar(&f.prefix, "prefix", "", "directory relative include paths resolve against (default: each main file's directory)")
	_ = cmd.RegisterFlagCompletionFunc("report", cobra.FixedCompletions([]string{"text", "json", "none"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("color", cobra.FixedCompletions([]string{"auto", "always", "never"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func runTranslate(cmd *cobra.Command, args []string, f *translateFlags) error {
	if err := checkReportFlags(f.report, f.color); err != nil {
		return err
	}
	target, err := targetVersion(f.version)
	if err != nil {
		return err
	}
	cfgs, err := loadNginx(args, cmd.InOrStdin(), f.prefix, cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	model, rep := translate.Translate(cfgs, target)
	out := translate.Encode(model, rep)
	if f.out != "" {
		if err := os.WriteFile(f.out, out, 0o644); err != nil {
			return inputErrorf("-o: %v", err)
		}
	} else if _, err := cmd.OutOrStdout().Write(out); err != nil {
		return err
	}
	if err := writeCoverage(cmd.ErrOrStderr(), rep, f.report, f.reportFile, f.color); err != nil {
		return err
	}
	if err := modelErrors(model, cmd.ErrOrStderr()); err != nil {
		return err
	}
	if f.strict && !rep.AllPreserved() {
		n := len(rep.Entries) - rep.Count(translate.Preserved)
		return inputErrorf("--strict: %d of %d directives are not preserved", n, len(rep.Entries))
	}
	return nil
}

func checkReportFlags(report, color string) error {
	switch report {
	case "text", "json", "none":
	default:
		return inputErrorf("unknown --report %q (want text, json or none)", report)
	}
	switch color {
	case "auto", "always", "never":
	default:
		return inputErrorf("unknown --color %q (want auto, always or never)", color)
	}
	return nil
}

// targetVersion reads --nginx-version ("" = the default, "auto" = the
// installed nginx).
func targetVersion(s string) (parser.Version, error) {
	switch s {
	case "":
		return parser.DefaultVersion, nil
	case "auto":
		v, err := installedNginxVersion()
		if err != nil {
			return v, inputErrorf("--nginx-version auto: %v", err)
		}
		return v, nil
	}
	v, err := parser.ParseVersion(s)
	if err != nil {
		return v, inputErrorf("--nginx-version: %v", err)
	}
	return v, nil
}

// loadNginx reads each argument as one nginx configuration. Parse errors
// (nginx would not start) are printed with their positions and refused;
// warnings are printed.
func loadNginx(args []string, stdin io.Reader, prefix string, stderr io.Writer) ([]*parser.Config, error) {
	var out []*parser.Config
	stdinUsed, failed := false, false
	for _, a := range args {
		path, err := parseInput(a, &stdinUsed)
		if err != nil {
			return nil, err
		}
		cfg, err := parser.Load(path, parser.Options{Prefix: prefix, Stdin: stdin})
		if err != nil {
			return nil, inputErrorf("%v", err)
		}
		for _, d := range cfg.Diagnostics {
			fmt.Fprintf(stderr, "%s:%d:%d: %s: %s\n", d.File, d.Pos.Line, d.Pos.Col, d.Severity, d.Message)
			for _, l := range d.Chain {
				fmt.Fprintf(stderr, "\tincluded from %s:%d:%d\n", l.File, l.Line, l.Col)
			}
		}
		if cfg.HasErrors() {
			failed = true
		}
		out = append(out, cfg)
	}
	if failed {
		return nil, inputErrorf("nginx would refuse this configuration; fix the errors above")
	}
	return out, nil
}

// modelErrors prints what the runtime would refuse in a translated model
// (e.g. an nginx configuration without http servers) and returns an
// input error.
func modelErrors(model *config.Config, stderr io.Writer) error {
	diags := model.Validate()
	var errs hcl.Diagnostics
	for _, d := range diags {
		if d.Severity == hcl.DiagError {
			errs = append(errs, d)
		}
	}
	if len(errs) == 0 {
		return nil
	}
	for _, d := range errs {
		fmt.Fprintf(stderr, "ngxkeep: runtime model: %s: %s\n", d.Summary, d.Detail)
	}
	return inputErrorf("the translated configuration cannot run (%d %s)", len(errs), plural(len(errs), "error", "errors"))
}

// writeCoverage writes the report in the chosen format to the report file
// or w.
func writeCoverage(w io.Writer, rep *translate.Report, format, file, color string) error {
	if format == "none" {
		return nil
	}
	dst := w
	var fh *os.File
	if file != "" {
		var err error
		fh, err = os.Create(file)
		if err != nil {
			return inputErrorf("--report-file: %v", err)
		}
		defer fh.Close()
		dst = fh
	}
	var err error
	if format == "json" {
		err = rep.WriteJSON(dst)
	} else {
		err = writeCoverageText(dst, rep, colorProfile(dst, color))
	}
	if err != nil {
		return &exitError{code: exitInternal, err: err}
	}
	if fh != nil {
		return fh.Close()
	}
	return nil
}

// Styles of the coverage and run reports: values, fixed colours readable
// on dark and light backgrounds; the writer's profile removes them.
var (
	trVerdict = map[translate.Verdict]lipgloss.Style{
		translate.Preserved:    lipgloss.NewStyle().Foreground(lipgloss.Color("#008700")),
		translate.Ignored:      lipgloss.NewStyle().Faint(true),
		translate.Approximated: lipgloss.NewStyle().Foreground(lipgloss.Color("#D78700")).Bold(true),
		translate.Unsupported:  lipgloss.NewStyle().Foreground(lipgloss.Color("#D7005F")).Bold(true),
	}
	trTitle  = lipgloss.NewStyle().Bold(true)
	trDim    = lipgloss.NewStyle().Faint(true)
	trHead   = lipgloss.NewStyle().Bold(true).PaddingRight(2)
	trCell   = lipgloss.NewStyle().PaddingRight(2)
	trBorder = lipgloss.NewStyle().Faint(true)
)

// newPlainTable returns a table with a rule under the header and no other lines.
func newPlainTable(headers ...string) *table.Table {
	return table.New().Headers(headers...).
		Border(lipgloss.NormalBorder()).BorderStyle(trBorder).
		BorderTop(false).BorderBottom(false).BorderLeft(false).BorderRight(false).
		BorderColumn(false).BorderRow(false).BorderHeader(true)
}

// writeCoverageText renders the coverage report: every directive that is
// not preserved, or preserved with a remark, in source order, then the
// counts. Everything goes through one colorprofile writer.
func writeCoverageText(w io.Writer, rep *translate.Report, profile colorprofile.Profile) error {
	var b bytes.Buffer
	var files []string
	for _, in := range rep.Instances {
		files = append(files, in.File+" → "+in.Name)
	}
	fmt.Fprintf(&b, "%s %s\n", trTitle.Render("ngxkeep translate · nginx "+rep.Target.String()), trDim.Render("· "+strings.Join(files, ", ")))
	var rows [][]string
	var verdicts []translate.Verdict
	for _, e := range rep.Entries {
		if e.Verdict == translate.Preserved && e.Note == "" {
			continue
		}
		at := e.Where()
		if len(e.Chain) > 0 {
			var via []string
			for _, l := range e.Chain {
				via = append(via, fmt.Sprintf("%s:%d", l.File, l.Line))
			}
			at += " (via " + strings.Join(via, ", ") + ")"
		}
		name := e.Directive
		if name == "" {
			name = `""`
		}
		rows = append(rows, []string{e.Verdict.String(), name, at, e.Note})
		verdicts = append(verdicts, e.Verdict)
	}
	if len(rows) > 0 {
		t := newPlainTable("VERDICT", "DIRECTIVE", "WHERE", "NOTE").Rows(rows...).
			StyleFunc(func(row, col int) lipgloss.Style {
				if row == table.HeaderRow {
					return trHead
				}
				if col == 0 {
					return trVerdict[verdicts[row]].PaddingRight(2)
				}
				return trCell
			})
		b.WriteString(trimLines(t.Render()))
		b.WriteByte('\n')
	}
	var parts []string
	for _, v := range translate.Verdicts() {
		n := rep.Count(v)
		s := fmt.Sprintf("%d %s", n, v)
		if n > 0 {
			s = trVerdict[v].Render(s)
		}
		parts = append(parts, s)
	}
	fmt.Fprintf(&b, "%d directives: %s\n", len(rep.Entries), strings.Join(parts, " · "))
	cw := &colorprofile.Writer{Forward: w, Profile: profile}
	_, err := cw.Write(b.Bytes())
	return err
}

// schemaHelp describes the HCL schema from the model's types and the
// defaults the runtime fills in, so the help never drifts from the code.
func schemaHelp() string {
	var b strings.Builder
	v := config.Version{Major: parser.DefaultVersion.Major, Minor: parser.DefaultVersion.Minor, Patch: parser.DefaultVersion.Patch}
	defaults := map[reflect.Type]map[string]string{
		reflect.TypeOf(config.Instance{}): {
			"worker_processes":   fmt.Sprint(config.DefaultWorkerProcesses),
			"worker_connections": fmt.Sprint(config.DefaultWorkerConnections),
			"server_software":    `"nginx/" + version`,
		},
		reflect.TypeOf(config.Listen{}): {"backlog": fmt.Sprint(config.DefaultBacklog)},
	}
	defaults[reflect.TypeOf(config.Location{})] = collectDefaults(reflect.ValueOf(config.Defaults(v)).Elem())
	defaults[reflect.TypeOf(config.Server{})] = collectDefaults(reflect.ValueOf(config.ServerDefaults()).Elem())
	writeSchema(&b, reflect.TypeOf(config.Instance{}), "instance", "  ", defaults, map[reflect.Type]bool{})
	fmt.Fprintf(&b, "\n  (location defaults shown for nginx %s; the translator writes every value out)\n", v)
	return b.String()
}

// blockNotes replace the body of blocks that repeat another block's schema.
var blockNotes = map[string]string{
	"unmatched": "location settings used before a location is chosen and when none matches (no match, path or nested locations)",
}

func collectDefaults(v reflect.Value) map[string]string {
	out := map[string]string{}
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		name, kind := hclField(t.Field(i))
		if kind != "optional" {
			continue
		}
		fv := v.Field(i)
		if fv.Kind() == reflect.Pointer {
			if fv.IsNil() {
				continue
			}
			fv = fv.Elem()
		} else if fv.IsZero() {
			continue
		}
		switch fv.Kind() {
		case reflect.String:
			out[name] = fmt.Sprintf("%q", fv.String())
		case reflect.Slice:
			var parts []string
			for j := 0; j < fv.Len(); j++ {
				parts = append(parts, fmt.Sprintf("%q", fv.Index(j).Interface()))
			}
			out[name] = "[" + strings.Join(parts, ", ") + "]"
		case reflect.Map:
			keys := fv.MapKeys()
			sort.Slice(keys, func(a, b int) bool { return keys[a].String() < keys[b].String() })
			var parts []string
			for _, k := range keys {
				parts = append(parts, k.String())
			}
			out[name] = "{" + strings.Join(parts, ", ") + "}"
		default:
			out[name] = fmt.Sprint(fv.Interface())
		}
	}
	return out
}

func writeSchema(b *strings.Builder, t reflect.Type, name, indent string, defaults map[reflect.Type]map[string]string, seen map[reflect.Type]bool) {
	var labels []string
	for i := 0; i < t.NumField(); i++ {
		if n, kind := hclField(t.Field(i)); kind == "label" {
			labels = append(labels, `"`+strings.ToUpper(n)+`"`)
		}
	}
	head := strings.Join(append([]string{name}, labels...), " ")
	if note, ok := blockNotes[name]; ok {
		fmt.Fprintf(b, "%s%s { ... }  # %s\n", indent, head, note)
		return
	}
	if seen[t] {
		fmt.Fprintf(b, "%s%s { ... }  # nested, same schema\n", indent, head)
		return
	}
	seen[t] = true
	defer delete(seen, t)
	fmt.Fprintf(b, "%s%s {\n", indent, head)
	in := indent + "  "
	width := 0
	for i := 0; i < t.NumField(); i++ {
		if n, kind := hclField(t.Field(i)); kind == "attr" || kind == "optional" {
			width = max(width, len(n))
		}
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		n, kind := hclField(f)
		switch kind {
		case "attr", "optional":
			line := fmt.Sprintf("%s%-*s = %s", in, width, n, typeName(f.Type))
			var notes []string
			if kind == "attr" {
				notes = append(notes, "required")
			}
			if d, ok := defaults[t][n]; ok {
				notes = append(notes, "default "+d)
			}
			if len(notes) > 0 {
				line += "  # " + strings.Join(notes, ", ")
			}
			b.WriteString(line + "\n")
		case "block":
			et := f.Type
			repeat := ""
			if et.Kind() == reflect.Slice {
				et = et.Elem()
				repeat = "  # repeated"
			}
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			var sub strings.Builder
			writeSchema(&sub, et, n, in, defaults, seen)
			s := sub.String()
			if repeat != "" {
				if i := strings.IndexByte(s, '\n'); i > 0 && !strings.Contains(s[:i], "#") {
					s = s[:i] + repeat + s[i:]
				}
			}
			b.WriteString(s)
		}
	}
	fmt.Fprintf(b, "%s}\n", indent)
}

func typeName(t reflect.Type) string {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "bool"
	case reflect.Int, reflect.Int64:
		return "number"
	case reflect.Slice:
		return "[" + typeName(t.Elem()) + ", ...]"
	case reflect.Map:
		return "{ key = " + typeName(t.Elem()) + ", ... }"
	}
	return t.String()
}

func hclField(f reflect.StructField) (name, kind string) {
	tag, ok := f.Tag.Lookup("hcl")
	if !ok {
		return "", ""
	}
	name, kind, found := strings.Cut(tag, ",")
	if !found {
		kind = "attr"
	}
	return name, kind
}
