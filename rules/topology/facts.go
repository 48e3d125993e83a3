package topology

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/ngxkeep/ngxkeep/lint"
	"github.com/ngxkeep/ngxkeep/parser"
)

// mainDirective returns the main-context directive called name (the last
// one wins for nginx's duplicate check, but duplicates are an error).
func mainDirective(in *lint.Instance, name string, ctx parser.Context) *parser.Node {
	var out *parser.Node
	for _, n := range in.NodesIn(name, ctx) {
		out = n
	}
	return out
}

// workers is an instance's worker_processes.
type workers struct {
	n    int
	auto bool
	node *parser.Node
}

// label is "4 workers", or "4 workers (auto, assumed_cpus)" for
// worker_processes auto.
func (w workers) label() string {
	s := fmt.Sprintf("%d workers", w.n)
	if w.n == 1 {
		s = "1 worker"
	}
	if w.auto {
		s += " (worker_processes auto, option assumed_cpus)"
	}
	return s
}

// assumedCPUsOption is the option of TP03 and TP06 that says how many
// worker processes "worker_processes auto" starts; one declaration keeps
// the two rules' options alike (a top-level option must be).
var assumedCPUsOption = lint.Option{Name: "assumed_cpus", Doc: "number of worker processes assumed for worker_processes auto", Kind: lint.OptionInt, Default: "4"}

// assumedCPUs returns the assumed_cpus option of the pass, at least 1.
func assumedCPUs(pass *lint.Pass) int {
	return max(pass.OptionInt("assumed_cpus"), 1)
}

// workerProcesses returns worker_processes (default 1); auto counts as
// cpus.
func workerProcesses(in *lint.Instance, cpus int) workers {
	n := mainDirective(in, "worker_processes", parser.CtxMain)
	if n == nil {
		return workers{n: 1}
	}
	v := lint.ArgValue(n, 0)
	if v == "auto" {
		return workers{n: cpus, auto: true, node: n}
	}
	x, err := strconv.Atoi(v)
	if err != nil || x < 1 {
		return workers{n: 1, node: n}
	}
	return workers{n: x, node: n}
}

// workerConnections returns events { worker_connections } (default 512).
func workerConnections(in *lint.Instance) (int, *parser.Node) {
	n := mainDirective(in, "worker_connections", parser.CtxEvents)
	if n == nil {
		return 512, nil
	}
	x, err := strconv.Atoi(lint.ArgValue(n, 0))
	if err != nil || x < 1 {
		return 512, n
	}
	return x, n
}

// paramIndex returns the index of the server directive argument that sets
// parameter name ("max_fails=3"), or -1.
func paramIndex(n *parser.Node, name string) int {
	for i, a := range n.Args {
		if i == 0 {
			continue
		}
		if k, _, _ := strings.Cut(a.Value, "="); k == name {
			return i
		}
	}
	return -1
}

// listList renders up to four listen addresses of an instance.
func listenList(in *lint.Instance) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in.Servers() {
		for _, l := range s.Listens {
			if l.AddrErr != nil {
				continue
			}
			a := l.Addr.String()
			if !seen[a] {
				seen[a] = true
				out = append(out, a)
			}
		}
	}
	return out
}

func shortList(xs []string, max int) string {
	if len(xs) <= max {
		return strings.Join(xs, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(xs[:max], ", "), len(xs)-max)
}
