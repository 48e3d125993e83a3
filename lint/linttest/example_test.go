package linttest_test

import (
	"fmt"
	"testing"

	"github.com/ngxkeep/ngxkeep/lint"
	"github.com/ngxkeep/ngxkeep/lint/linttest"
)

// A rule is an Analyzer value: identity, docs, examples and a Run function
// that reports through the pass.
var lingering = &lint.Analyzer{
	ID:       "XX01",
	Name:     "lingering-close-off-example",
	Severity: lint.SeverityWarning,
	Scope:    lint.Single,
	Doc:      "lingering_close off (example rule).\n\nnginx closes with unread data in the socket; the kernel sends RST.",
	Bad:      "http { lingering_close off; }\n",
	Good:     "http { lingering_close on; }\n",
	Run: func(pass *lint.Pass) error {
		for _, in := range pass.Instances {
			for _, n := range in.Nodes("lingering_close") {
				if lint.ArgValue(n, 0) == "off" {
					pass.ReportArg(n, 0, "nginx closes without reading what the client still sends: the client sees a reset instead of the response").
						SetFix("remove lingering_close off", lint.Delete(n))
				}
			}
		}
		return nil
	},
}

// Rule tests: the examples, and the annotated cases in testdata/<ID>/.
func TestLingering(t *testing.T) {
	linttest.Examples(t, lingering)
	// linttest.Run(t, "testdata/XX01", lingering)
}

func ExampleLint() {
	t := &testing.T{}
	res := linttest.Lint(t, `
-- .ngxkeep.hcl --
nginx_version = "1.22"
-- nginx.conf --
http {
    server {
        lingering_close off;
    }
}
`, lingering)
	for _, f := range res.Findings {
		fmt.Printf("%s:%d:%d %s %s (fix: %s)\n", f.File, f.Pos.Line, f.Pos.Col, f.Rule, f.Severity, f.Fix.Message)
	}
	fmt.Println("target", res.Target)
	// Output:
	// nginx.conf:3:25 XX01 warning (fix: remove lingering_close off)
	// target 1.22
}
