package timeouts

import (
	"fmt"
	"strings"

	"github.com/ngxkeep/ngxkeep/lint"
	"github.com/ngxkeep/ngxkeep/parser"
)

// TO10 reports directives and parameters the target nginx version does not
// have.
var TO10 = &lint.Analyzer{
	ID:        "TO10",
	Name:      "directive-needs-version",
	Severity:  lint.SeverityError,
	Scope:     lint.Single,
	Versioned: true,
	Doc: `A directive or parameter is used that the target nginx version does not have.

Keep-alive tuning directives arrived over many releases: upstream
keepalive_timeout and keepalive_requests in 1.15.3, keepalive_time (client and
upstream) in 1.19.10, keepalive_min_timeout in 1.27.4, the upstream server
"resolve" parameter in 1.27.3, "keepalive N local" and "keepalive 0" in
1.29.7, proxy_http_version 2 in 1.29.4, and so on. A config written for a
newer nginx fails "nginx -t" on an older fleet ("unknown directive", "is not
allowed here", "invalid number of arguments", "invalid parameter",
"invalid value"), so the deploy or the reload is refused. Directives
removed from nginx (spdy_*, ...) fail the same way on newer versions.

The rule checks every directive of the config against the directive table of
the target version (--nginx-version), per context (the upstream
keepalive_timeout is a different directive from the http one), plus the
version-dependent parameters above. Third-party directives are not checked.

Fix: remove or rewrite the directive for the version you deploy, or lint with
the version you really run.`,
	Bad: `# target: 1.18
events {}
http {
    keepalive_time 30m;
    server {
        listen 8080;
        location / {
            return 200 "ok\n";
        }
    }
}
`,
	Good: `# target: 1.22
events {}
http {
    keepalive_time 30m;
    server {
        listen 8080;
        location / {
            return 200 "ok\n";
        }
    }
}
`,
	Run: runTO10,
}

func runTO10(pass *lint.Pass) error {
	t := pass.Target
	var missing []*parser.Spec
	for _, s := range parser.AllSpecs() {
		if !s.Loose && !s.ExistsIn(t) {
			missing = append(missing, s)
		}
	}
	for _, in := range pass.Instances {
		reported := map[*parser.Node]bool{}
		for _, s := range missing {
			for _, n := range in.Nodes(s.Name) {
				if n.Directive == nil || n.Ctx&s.Contexts == 0 || reported[n] || existsFor(n, t) {
					continue
				}
				reported[n] = true
				reportMissingDirective(pass, n, s)
			}
		}
		checkParams(pass, in)
	}
	return nil
}

// existsFor reports whether some directive called n.Name is allowed in n's
// context in version v (names can have several specs, one per context).
func existsFor(n *parser.Node, v parser.Version) bool {
	for _, s := range parser.Specs(n.Name) {
		if s.Contexts&n.Ctx != 0 && s.ExistsIn(v) {
			return true
		}
	}
	return false
}

// knownIn reports whether v has any directive called name (nginx then says
// "is not allowed here" rather than "unknown directive").
func knownIn(name string, v parser.Version) bool {
	for _, s := range parser.Specs(name) {
		if !s.Loose && s.ExistsIn(v) {
			return true
		}
	}
	return false
}

func reportMissingDirective(pass *lint.Pass, n *parser.Node, s *parser.Spec) {
	t := pass.Target
	what := n.Name
	if s.Contexts&^parser.CtxUpstream == 0 {
		what = "upstream " + n.Name
	}
	nginxSays := fmt.Sprintf("unknown directive \"%s\"", n.Name)
	if knownIn(n.Name, t) {
		nginxSays = fmt.Sprintf("\"%s\" directive is not allowed here", n.Name)
	}
	var when string
	if !s.Until.IsZero() && !t.Before(s.Until) {
		when = fmt.Sprintf("%s was removed in nginx %s", what, s.Until)
	} else {
		when = fmt.Sprintf("%s appeared in nginx %s", what, s.Since)
	}
	pass.Report(lint.Finding{Node: n, Pos: n.Pos, End: n.NameEnd(), Message: fmt.Sprintf(
		"%s: nginx %s rejects it (nginx -t: %s), so this config cannot be loaded there; "+
			"remove it for that version, or lint with the version you really deploy (--nginx-version)",
		when, t, nginxSays)})
}

// checkParams reports version-dependent parameters of directives that exist
// in the target version.
func checkParams(pass *lint.Pass, in *lint.Instance) {
	t := pass.Target
	param := func(n *parser.Node, i int, since parser.Version, what, nginxSays string) {
		pass.ReportArg(n, i, "%s appeared in nginx %s: nginx %s rejects it (nginx -t: %s), so this config cannot be loaded there; "+
			"remove it for that version, or lint with the version you really deploy (--nginx-version)", what, since, t, nginxSays)
	}
	if t.Before(parser.V1_29_7) {
		for _, n := range in.NodesIn("keepalive", parser.CtxUpstream) {
			if len(n.Args) >= 2 {
				param(n, 1, parser.V1_29_7, "\"keepalive N "+n.Args[1].Value+"\"",
					"invalid number of arguments in \"keepalive\" directive")
			}
			if len(n.Args) >= 1 && n.Args[0].Value == "0" {
				param(n, 0, parser.V1_29_7, "\"keepalive 0\" (turning off the default pool)",
					"invalid value \"0\" in \"keepalive\" directive")
			}
		}
	}
	if t.Before(v1_27_3) {
		for _, n := range in.NodesIn("server", parser.CtxUpstream) {
			for i, a := range n.Args {
				if i == 0 {
					continue
				}
				if a.Value == "resolve" || strings.HasPrefix(a.Value, "service=") {
					name, _, _ := strings.Cut(a.Value, "=")
					param(n, i, v1_27_3, "the upstream server parameter \""+name+"\"",
						"invalid parameter \""+a.Value+"\"")
				}
			}
		}
	}
	if t.Before(v1_29_4) {
		for _, n := range in.Nodes("proxy_http_version") {
			if len(n.Args) == 1 && n.Args[0].Value == "2" {
				param(n, 0, v1_29_4, "\"proxy_http_version 2\" (HTTP/2 to backends)", "invalid value \"2\"")
			}
		}
	}
	if t.Before(v1_25_0) {
		for _, n := range in.NodesIn("listen", parser.CtxServer) {
			for i, a := range n.Args {
				if i > 0 && a.Value == "quic" {
					param(n, i, v1_25_0, "the listen parameter \"quic\" (HTTP/3)", "invalid parameter \"quic\"")
				}
			}
		}
	}
}
