package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/ngxkeep/ngxkeep/lint"
	"github.com/spf13/cobra"
)

func init() { subcommands = append(subcommands, newExplainCmd) }

func newExplainCmd() *cobra.Command {
	var color string
	cmd := &cobra.Command{
		Use:   "explain [RULE]",
		Short: "Explain a lint rule, or list all rules",
		Long: `explain prints a rule's documentation: what it detects, why it is risky, what
nginx does at runtime, the nginx versions it applies to, its options, and a
bad and a good example. RULE is an ID (KA01) or a name (pool-needs-http11).
Without RULE it lists every rule.`,
		Example: `  ngxkeep explain
  ngxkeep explain KA01
  ngxkeep explain pool-idle-outlives-backend`,
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: completeRuleArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			all := append(registry(), lint.Builtins()...)
			slices.SortFunc(all, func(a, b *lint.Analyzer) int { return strings.Compare(a.ID, b.ID) })
			w := cmd.OutOrStdout()
			cw := &colorprofile.Writer{Forward: w, Profile: colorProfile(w, color)}
			if len(args) == 0 {
				return listRules(cw, all)
			}
			a := lint.FindAnalyzer(args[0], all)
			if a == nil {
				return inputErrorf("no rule %q.%s \"ngxkeep explain\" lists them", args[0], suggestRule(args[0], all))
			}
			return explainRule(cw, a)
		},
	}
	cmd.Flags().StringVar(&color, "color", "auto", "colour the output: auto, always, never")
	return cmd
}

func completeRuleArg(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return completeRules(cmd, args, toComplete)
}

var (
	stTitle = lipgloss.NewStyle().Bold(true)
	stLabel = lipgloss.NewStyle().Bold(true).Underline(true)
	stDim   = lipgloss.NewStyle().Faint(true)
)

func listRules(w io.Writer, all []*lint.Analyzer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tSEVERITY\tSCOPE\tNGINX\tSUMMARY")
	for _, a := range all {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", a.ID, a.Name, a.Severity, a.Scope, a.VersionRange(), a.Summary())
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\n%d rules. \"ngxkeep explain ID\" shows one.\n", len(all))
	return err
}

func explainRule(w io.Writer, a *lint.Analyzer) error {
	var b strings.Builder
	b.WriteString(stTitle.Render(a.ID+" "+a.Name) + "\n")
	b.WriteString(stDim.Render(fmt.Sprintf("severity %s · scope %s · nginx %s", a.Severity, a.Scope, a.VersionRange())) + "\n\n")
	b.WriteString(strings.TrimSpace(a.Doc) + "\n")
	if len(a.Options) > 0 {
		b.WriteString("\n" + stLabel.Render("Options") + stDim.Render(fmt.Sprintf(` (.ngxkeep.hcl: rule "%s" { name = value })`, a.ID)) + "\n")
		for _, o := range a.Options {
			fmt.Fprintf(&b, "  %s (%s, default %s)\n      %s\n", o.Name, o.Kind, o.Default, o.Doc)
		}
	}
	b.WriteString("\n" + stLabel.Render("Bad") + "\n\n" + indentBlock(a.Bad))
	b.WriteString("\n" + stLabel.Render("Good") + "\n\n" + indentBlock(a.Good))
	b.WriteString("\n" + stDim.Render(fmt.Sprintf("Suppress one finding with: # ngxkeep:ignore %s <reason>", a.ID)) + "\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func indentBlock(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		if strings.TrimSpace(l) == "" {
			b.WriteString("\n")
			continue
		}
		b.WriteString("    " + l + "\n")
	}
	return b.String()
}

// suggestRule returns ` Did you mean "KA01"?` for a close ID or name.
func suggestRule(s string, all []*lint.Analyzer) string {
	var cands []string
	for _, a := range all {
		cands = append(cands, a.ID, a.Name)
	}
	return lint.DidYouMean(s, cands)
}
