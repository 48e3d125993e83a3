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
// (memoized effective settings for the target version, the same answers as
// parser.Node.Effective) and Pass.Topology (links from upstream server
// addresses to backend instances' server blocks, and declared tiers). What
// a family of rules derives at the same place (a parsed header list, the
// cache an upstream gets) is a Fact, computed once per run and shared.
// Findings carry positions, the include chain, related positions (AddRelated)
// and machine-applicable fixes (SetFix with InsertBefore, InsertAfter,
// ReplaceArg, ReplaceDirective, Delete).
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
// # Configuration file (.ngxkeep.hcl)
//
// "ngxkeep lint" reads .ngxkeep.hcl from the working directory or the
// nearest parent (or the file named by --config; --no-config reads none).
// Every setting is optional; command-line flags win over the file.
//
//	# Target nginx version (--nginx-version); default 1.30.
//	nginx_version = "1.22"
//
//	# Lowest severity that makes lint exit 1 (--fail-on):
//	# "error", "warning" (default), "info" or "none".
//	fail_on = "warning"
//
//	# Accepted findings (--baseline), relative to this file.
//	baseline = ".ngxkeep-baseline.json"
//
//	# Rules to skip, by ID or name (--disable adds to it).
//	disable = ["CL03", "ip-hash-behind-nat"]
//
//	# A rule option set at top level applies to every rule that declares
//	# it (only when they all give it the same meaning and default): the
//	# idle timeout assumed for backends not given on the command line
//	# (default 75s, nginx's own keepalive_timeout default).
//	backend_idle_timeout = "60s"
//
//	# Per rule: enable/disable, severity, options ("ngxkeep explain ID"
//	# lists a rule's options).
//	rule "TO01" {
//	  severity             = "error"
//	  backend_idle_timeout = "30s"
//	}
//	rule "KA16" {
//	  enabled = false
//	}
//
//	# External tiers that are not nginx configs of the run.
//	# A load balancer in front of a config (paths relative to this file):
//	tier "alb" {
//	  in_front_of  = ["edge/nginx.conf"]  # a string or a list
//	  idle_timeout = "60s"                 # how long it keeps idle connections to nginx
//	}
//	# An app server behind upstream addresses:
//	tier "node" {
//	  address         = ["127.0.0.1:3000", "unix:/run/app.sock"]
//	  idle_timeout    = "5s"    # Node's keepAliveTimeout
//	  request_timeout = "120s"  # optional: its timeout for a whole request
//	  max_requests    = 0       # optional: requests per connection, 0 = unlimited
//	}
//
// Durations use nginx's syntax ("75s", "1m30s", "500ms"; a bare number is
// seconds). Errors name the file, line and column and suggest the closest
// known name ("Did you mean "nginx_version"?"). A tier's in_front_of must
// name existing files; it applies when that file is linted. Tier addresses
// are matched against upstream server and proxy_pass addresses like listen
// sockets (Topology).
//
// # Topology
//
// With several configs, the engine links each frontend target (every
// upstream server address, and every proxy_pass/fastcgi_pass/... literal
// address) to the instance whose listen socket accepts it: same IP and
// port, a wildcard listen (80, *:80, 0.0.0.0:80, and [::]:80 for IPv6
// targets), localhost ↔ 127.0.0.1/::1, default port 80 (443 for https),
// unix sockets by path. A specific address wins over a wildcard on the same
// port, as in nginx. On that socket the server block is chosen by the Host
// the frontend sends (proxy_set_header Host, default $proxy_host: the
// upstream name or host:port; $host when the frontend server has one fixed
// name) with nginx's server_name order (exact, leading wildcard, trailing
// wildcard, regex), else the socket's default_server or first server. A
// host name that resolves outside the run matches a wildcard listener on
// its port only (Link.Exact false). A config that proxies to its own
// sockets is linked to itself.
//
// # Output formats
//
// text (default) is for people: grouped by file, with the source line, a
// caret under the exact range, include chain, related positions and fix.
// Colours come from one colour profile decided up front (--color auto
// honours NO_COLOR, CLICOLOR_FORCE and TERM=dumb and is plain when stdout
// is not a terminal); the terminal is never queried. json, sarif (2.1.0,
// with rule help, security-severity, %SRCROOT%, related locations, fixes and
// line-independent partialFingerprints), github (workflow commands) and
// checkstyle are for machines. Config errors appear in every format (NK00
// in sarif, github and checkstyle) and make lint exit 2.
//
// # JSON output
//
// "ngxkeep lint --format json" writes one object; fields are only ever
// added, never renamed or removed:
//
//	{
//	  "target_nginx": "1.30",             // the version checked for
//	  "configs": ["box1.conf", "box2.conf"],
//	  "findings": [{
//	    "rule": "KA01",                   // stable ID
//	    "name": "pool-needs-http11",      // stable name
//	    "severity": "warning",            // error | warning | info
//	    "file": "conf.d/app.conf",        // the path as given, or joined to its directory for included files
//	    "line": 12, "column": 9,          // 1-based; columns count bytes
//	    "end_line": 12, "end_column": 30, // exclusive end
//	    "message": "...",                 // what nginx does at runtime
//	    "include_chain": [{"file": "nginx.conf", "line": 3, "column": 5}], // outermost first
//	    "related": [{"file": "nginx.conf", "line": 5, "column": 5, "message": "upstream app"}],
//	    "fix": null                       // or {"message": "...", "edits": [{"file": "...", "start": 120, "end": 120, "new": "..."}]} with byte offsets
//	  }],
//	  "errors": [{"file": "bad.conf", "line": 3, "column": 1, "severity": "error",
//	              "message": "unexpected \"}\"", "include_chain": []}],
//	  "other_versions": [{"nginx": "1.22", "count": 3, "rules": ["KA01", "KA08"]}],
//	  "suppressed": 0,                    // dropped by # ngxkeep:ignore
//	  "baselined": 0                      // dropped by the baseline
//	}
//
// Findings are sorted by file, line, column and rule; identical findings at
// different places (a snippet included twice) are separate entries with
// their own include_chain.
//
// # Exit codes
//
// 0: no finding at or above --fail-on; 1: findings at or above it; 2: bad
// input or usage (config errors included); 3: internal error.
//
// # Baseline
//
// A baseline (Baseline, written by "ngxkeep lint --write-baseline FILE")
// accepts the findings it records; later runs with --baseline FILE report
// only new ones. Findings are identified by rule, file and directive path
// (names and arguments of the directive and its enclosing blocks), not by
// line, so edits elsewhere in the file do not invalidate the baseline.
package lint
