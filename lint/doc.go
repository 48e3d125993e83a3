// Package lint is ngxkeep's lint engine: rules are Analyzer values that
// report Findings through a Pass; the engine runs them over one or more
// nginx instances, links the instances into a Topology, applies inline
// suppressions and a baseline, and formats the result.
//
// # Writing a rule
//
// A rule is one exported *Analyzer in package rules (one file per rule),
// modelled on golang.org/x/tools/go/analysis:
//
//	var KA01 = &lint.Analyzer{
//		ID: "KA01", Name: "pool-needs-http11",
//		Severity: lint.SeverityWarning, Scope: lint.Single,
//		Versioned: true, // defaults differ before 1.29.7
//		Doc: `Pooled upstream used over HTTP/1.0.
//
//	...what nginx does at runtime...`,
//		Bad:  "...", Good: "...",
//		Run:  runKA01,
//	}
//
//	func runKA01(pass *lint.Pass) error {
//		for _, in := range pass.Instances {
//			for _, p := range in.Proxies() {
//				if p.Upstream == nil || p.Module != lint.ModuleProxy {
//					continue
//				}
//				v := pass.Effective(p.Node, "proxy_http_version")
//				if len(v.Args) > 0 && v.Args[0] == "1.0" {
//					pass.Reportf(p.Node, "nginx talks HTTP/1.0 to %s and closes ...", p.Upstream.Name).
//						AddRelated(p.Upstream.Node, "upstream %s", p.Upstream.Name).
//						SetFix("add proxy_http_version 1.1", lint.InsertBefore(p.Node, "proxy_http_version 1.1;"))
//				}
//			}
//		}
//		return nil
//	}
//
// Facts are computed once per run and shared; ask for them instead of
// walking the tree: Instance.Nodes(name) (every directive by name, in tree
// order, one node per place of use), Instance.Upstreams, Instance.Proxies
// (every *_pass with its module, scheme, explicit upstream or implicit
// address), Instance.Servers (listen sockets, server names), Pass.Effective
// (memoized effective settings for the target version) and Pass.Topology
// (links from upstream server addresses to backend instances' server
// blocks, and declared tiers).
//
// Rules are tested by package linttest: testdata files under
// rules/testdata/<ID>/ with "# want ID" annotations (see linttest).
//
// # Versions
//
// A rule applies to targets in [MinVersion, MaxVersion) (zero bounds are
// open). Rules whose findings also depend on the target through defaults set
// Versioned. The engine runs versioned rules again at DefaultCompareVersions
// and reports in Result.Others how many more findings those targets would
// give, so that the text header can say "3 more findings with
// --nginx-version 1.22".
//
// # Suppressions
//
// An inline comment suppresses findings of the named rules:
//
//	# ngxkeep:ignore <ID|name>[,<ID|name>...] <reason>
//
// The reason is mandatory. Placement decides the scope:
//
//   - on the line(s) directly above a directive, or after it on the same
//     line: that directive; when the directive is a block (server,
//     location, upstream, ...), the whole block, including every use of
//     files included inside it;
//   - on an include directive: everything reached through that include;
//   - at the top of a file, before the first directive and separated from
//     it by a blank line: the whole file and the files it includes.
//
// A suppression without a reason, naming an unknown rule, or attached to
// nothing is reported as NK01 invalid-suppression; one that suppresses
// nothing (for a rule that ran) as NK02 unused-suppression.
//
// # Baseline
//
// A baseline (Baseline, written by "ngxkeep lint --write-baseline FILE")
// accepts the findings it records; later runs with --baseline FILE report
// only new ones. Findings are identified by rule, file and directive path
// (names and arguments of the directive and its enclosing blocks), not by
// line, so edits elsewhere in the file do not invalidate the baseline.
package lint
