package lint

import (
	"encoding/json"
	"io"
	"net/url"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/ngxkeep/ngxkeep/parser"
)

// SARIFOptions complete the SARIF log.
type SARIFOptions struct {
	// ToolVersion is ngxkeep's version.
	ToolVersion string
	// SrcRoot is the absolute directory relative file names are relative
	// to (the working directory); it becomes originalUriBaseIds %SRCROOT%.
	SrcRoot string
}

// securitySeverity maps severities to GitHub code scanning's
// security-severity scores (high, medium, low).
func securitySeverity(s Severity) string {
	switch s {
	case SeverityError:
		return "8.0"
	case SeverityWarning:
		return "5.0"
	}
	return "2.0"
}

func sarifLevel(s Severity) string {
	switch s {
	case SeverityError:
		return "error"
	case SeverityWarning:
		return "warning"
	}
	return "note"
}

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool               sarifTool                   `json:"tool"`
	OriginalURIBaseIDs map[string]sarifArtifactLoc `json:"originalUriBaseIds,omitempty"`
	ColumnKind         string                      `json:"columnKind"`
	Results            []sarifResult               `json:"results"`
	Invocations        []sarifInvocation           `json:"invocations"`
	Properties         map[string]any              `json:"properties,omitempty"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version,omitempty"`
	InformationURI string      `json:"informationUri"`
	Rules          []sarifRule `json:"rules"`
}

type sarifText struct {
	Text     string `json:"text"`
	Markdown string `json:"markdown,omitempty"`
}

type sarifRule struct {
	ID                   string         `json:"id"`
	Name                 string         `json:"name"`
	ShortDescription     sarifText      `json:"shortDescription"`
	FullDescription      sarifText      `json:"fullDescription"`
	Help                 sarifText      `json:"help"`
	DefaultConfiguration map[string]any `json:"defaultConfiguration"`
	Properties           map[string]any `json:"properties"`
}

type sarifArtifactLoc struct {
	URI       string `json:"uri"`
	URIBaseID string `json:"uriBaseId,omitempty"`
}

type sarifRegion struct {
	StartLine   int `json:"startLine"`
	StartColumn int `json:"startColumn,omitempty"`
	EndLine     int `json:"endLine,omitempty"`
	EndColumn   int `json:"endColumn,omitempty"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifactLoc `json:"artifactLocation"`
	Region           *sarifRegion     `json:"region,omitempty"`
}

type sarifLocation struct {
	ID               *int          `json:"id,omitempty"`
	PhysicalLocation sarifPhysical `json:"physicalLocation"`
	Message          *sarifText    `json:"message,omitempty"`
}

type sarifReplacement struct {
	DeletedRegion   map[string]int `json:"deletedRegion"`
	InsertedContent *sarifText     `json:"insertedContent,omitempty"`
}

type sarifChange struct {
	ArtifactLocation sarifArtifactLoc   `json:"artifactLocation"`
	Replacements     []sarifReplacement `json:"replacements"`
}

type sarifFix struct {
	Description     sarifText     `json:"description"`
	ArtifactChanges []sarifChange `json:"artifactChanges"`
}

type sarifResult struct {
	RuleID              string            `json:"ruleId"`
	RuleIndex           int               `json:"ruleIndex"`
	Level               string            `json:"level"`
	Message             sarifText         `json:"message"`
	Locations           []sarifLocation   `json:"locations"`
	RelatedLocations    []sarifLocation   `json:"relatedLocations,omitempty"`
	Fixes               []sarifFix        `json:"fixes,omitempty"`
	PartialFingerprints map[string]string `json:"partialFingerprints,omitempty"`
	Properties          map[string]any    `json:"properties,omitempty"`
}

type sarifNotification struct {
	Level     string          `json:"level"`
	Message   sarifText       `json:"message"`
	Locations []sarifLocation `json:"locations,omitempty"`
}

type sarifInvocation struct {
	ExecutionSuccessful        bool                `json:"executionSuccessful"`
	ToolExecutionNotifications []sarifNotification `json:"toolExecutionNotifications,omitempty"`
}

// WriteSARIF writes a SARIF 2.1.0 log: the enabled rules with their docs
// and examples as help text, each finding as a result with its exact
// region, related locations, include chain, fix and a line-independent
// fingerprint. Config errors are results of rule NK00 and also tool
// execution notifications. Columns are Unicode code points.
func WriteSARIF(w io.Writer, r *Result, o SARIFOptions) error {
	run := sarifRun{ColumnKind: "unicodeCodePoints", Results: []sarifResult{}}
	run.Tool.Driver = sarifDriver{Name: "ngxkeep", Version: o.ToolVersion,
		InformationURI: "https://github.com/ngxkeep/ngxkeep", Rules: []sarifRule{}}
	if o.SrcRoot != "" {
		root := filepath.ToSlash(o.SrcRoot)
		if !strings.HasSuffix(root, "/") {
			root += "/"
		}
		if !strings.HasPrefix(root, "/") {
			root = "/" + root
		}
		run.OriginalURIBaseIDs = map[string]sarifArtifactLoc{"%SRCROOT%": {URI: (&url.URL{Scheme: "file", Path: root}).String()}}
	}
	ruleIndex := map[string]int{}
	for _, a := range r.Analyzers {
		ruleIndex[a.ID] = len(run.Tool.Driver.Rules)
		run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, sarifRuleOf(a))
	}
	loc := func(file string, pos, end parser.Pos) sarifPhysical {
		p := sarifPhysical{ArtifactLocation: artifact(file, o.SrcRoot != "")}
		if pos.IsValid() {
			src := r.Source(file)
			reg := &sarifRegion{StartLine: int(pos.Line), StartColumn: charCol(src, pos)}
			if end.IsValid() && (end.Line > pos.Line || end.Col > pos.Col) {
				reg.EndLine, reg.EndColumn = int(end.Line), charCol(src, end)
			}
			p.Region = reg
		}
		return p
	}
	inv := sarifInvocation{ExecutionSuccessful: !r.HasErrors()}
	for _, e := range r.Errors {
		level := "error"
		if e.Severity == SeverityWarning {
			level = "warning"
		}
		l := sarifLocation{PhysicalLocation: loc(e.File, e.Pos, e.End)}
		inv.ToolExecutionNotifications = append(inv.ToolExecutionNotifications,
			sarifNotification{Level: level, Message: sarifText{Text: e.Message}, Locations: []sarifLocation{l}})
		idx, ok := ruleIndex[ConfigErrorRule.ID]
		if !ok {
			idx = len(run.Tool.Driver.Rules)
			ruleIndex[ConfigErrorRule.ID] = idx
			run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, sarifRuleOf(ConfigErrorRule))
		}
		run.Results = append(run.Results, sarifResult{RuleID: ConfigErrorRule.ID, RuleIndex: idx, Level: level,
			Message: sarifText{Text: e.Message}, Locations: []sarifLocation{l}})
	}
	for _, f := range r.Findings {
		res := sarifResult{RuleID: f.Rule, RuleIndex: ruleIndex[f.Rule], Level: sarifLevel(f.Severity),
			Message:             sarifText{Text: f.Message},
			Locations:           []sarifLocation{{PhysicalLocation: loc(f.File, f.Pos, f.End)}},
			PartialFingerprints: map[string]string{"ngxkeep/v1": fingerprint(f.baselineKey())}}
		id := 1
		for _, rel := range f.Related {
			i := id
			id++
			res.RelatedLocations = append(res.RelatedLocations, sarifLocation{ID: &i,
				PhysicalLocation: loc(rel.File, rel.Pos, rel.End), Message: &sarifText{Text: rel.Message}})
		}
		for _, l := range f.Chain {
			i := id
			id++
			res.RelatedLocations = append(res.RelatedLocations, sarifLocation{ID: &i,
				PhysicalLocation: loc(l.File, parser.Pos{Line: int32(l.Line), Col: int32(l.Col)}, parser.Pos{}), // a Link is made from a Pos: no wrap
				Message:          &sarifText{Text: "included from here"}})
		}
		if f.Fix != nil {
			fx := sarifFix{Description: sarifText{Text: f.Fix.Message}}
			byFile := map[string]int{}
			for _, e := range f.Fix.Edits {
				i, ok := byFile[e.File]
				if !ok {
					i = len(fx.ArtifactChanges)
					byFile[e.File] = i
					fx.ArtifactChanges = append(fx.ArtifactChanges, sarifChange{ArtifactLocation: artifact(e.File, o.SrcRoot != "")})
				}
				rep := sarifReplacement{DeletedRegion: map[string]int{"byteOffset": e.Start, "byteLength": e.End - e.Start}}
				if e.New != "" {
					rep.InsertedContent = &sarifText{Text: e.New}
				}
				fx.ArtifactChanges[i].Replacements = append(fx.ArtifactChanges[i].Replacements, rep)
			}
			res.Fixes = []sarifFix{fx}
		}
		run.Results = append(run.Results, res)
	}
	run.Invocations = []sarifInvocation{inv}
	run.Properties = map[string]any{"targetNginx": r.Target.String(), "configs": r.Configs}
	log := sarifLog{Schema: "https://json.schemastore.org/sarif-2.1.0.json", Version: "2.1.0", Runs: []sarifRun{run}}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(log)
}

func sarifRuleOf(a *Analyzer) sarifRule {
	help := RuleHelp(a)
	return sarifRule{
		ID: a.ID, Name: a.Name,
		ShortDescription:     sarifText{Text: a.Summary()},
		FullDescription:      sarifText{Text: strings.TrimSpace(a.Doc)},
		Help:                 sarifText{Text: help, Markdown: RuleHelpMarkdown(a)},
		DefaultConfiguration: map[string]any{"level": sarifLevel(a.Severity)},
		Properties: map[string]any{
			"security-severity": securitySeverity(a.Severity),
			"tags":              []string{"nginx", "keep-alive", a.Scope.String()},
			"precision":         "high",
			"nginxVersions":     a.VersionRange(),
		},
	}
}

// artifact makes a SARIF artifact location: relative paths against
// %SRCROOT%, absolute ones as file URIs.
func artifact(file string, base bool) sarifArtifactLoc {
	p := filepath.ToSlash(file)
	if filepath.IsAbs(file) || strings.HasPrefix(p, "/") {
		return sarifArtifactLoc{URI: (&url.URL{Scheme: "file", Path: p}).String()}
	}
	u := (&url.URL{Path: p}).String()
	if base {
		return sarifArtifactLoc{URI: u, URIBaseID: "%SRCROOT%"}
	}
	return sarifArtifactLoc{URI: u}
}

// charCol converts a byte column to a 1-based code point column.
func charCol(src *parser.File, p parser.Pos) int {
	off := int(p.Offset)
	if src == nil || off > len(src.Src) || off < 0 {
		return int(p.Col)
	}
	ls := lineStart(src.Src, off)
	return utf8.RuneCount(src.Src[ls:off]) + 1
}

// RuleHelp is a rule's full help text: its doc, version range, options and
// the bad and good examples. "ngxkeep explain" and SARIF show it.
func RuleHelp(a *Analyzer) string {
	var b strings.Builder
	b.WriteString(strings.TrimSpace(a.Doc))
	b.WriteString("\n\n")
	b.WriteString("Severity: " + a.Severity.String() + "; scope: " + a.Scope.String() + "; nginx versions: " + a.VersionRange() + "\n")
	for i, o := range a.Options {
		if i == 0 {
			b.WriteString("\nOptions (.ngxkeep.hcl: rule \"" + a.ID + "\" { ... }):\n")
		}
		b.WriteString("  " + o.Name + " (" + o.Kind.String() + ", default " + o.Default + "): " + o.Doc + "\n")
	}
	b.WriteString("\nBad:\n\n" + indent(a.Bad, "    ") + "\nGood:\n\n" + indent(a.Good, "    "))
	return b.String()
}

// RuleHelpMarkdown is RuleHelp as Markdown.
func RuleHelpMarkdown(a *Analyzer) string {
	var b strings.Builder
	b.WriteString(strings.TrimSpace(a.Doc))
	b.WriteString("\n\n**Severity:** " + a.Severity.String() + " · **scope:** " + a.Scope.String() + " · **nginx versions:** " + a.VersionRange() + "\n")
	for i, o := range a.Options {
		if i == 0 {
			b.WriteString("\n**Options** (`.ngxkeep.hcl`: `rule \"" + a.ID + "\" { ... }`):\n\n")
		}
		b.WriteString("- `" + o.Name + "` (" + o.Kind.String() + ", default `" + o.Default + "`): " + o.Doc + "\n")
	}
	b.WriteString("\n**Bad:**\n\n```nginx\n" + strings.TrimRight(a.Bad, "\n") + "\n```\n\n**Good:**\n\n```nginx\n" + strings.TrimRight(a.Good, "\n") + "\n```\n")
	return b.String()
}

func indent(s, prefix string) string {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		if l == "" {
			b.WriteString("\n")
			continue
		}
		b.WriteString(prefix + l + "\n")
	}
	return b.String()
}
