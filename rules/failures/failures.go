// Package failures holds the rules about retries, failure accounting and
// connection closes (RT01–RT06, CL01–CL06): what nginx does when a pooled
// connection fails, which requests it retries or replays, and which settings
// make it close client or upstream connections.
package failures

import "github.com/ngxkeep/ngxkeep/lint"

// Analyzers are the package's rules, sorted by ID.
var Analyzers = []*lint.Analyzer{
	CL01, CL02, CL03, CL04, CL05, CL06,
	RT01, RT02, RT03, RT04, RT05, RT06,
}
