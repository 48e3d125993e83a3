package topology

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/ngxkeep/ngxkeep/lint"
	"github.com/ngxkeep/ngxkeep/parser"
)

// setting returns the effective arguments of name at n and the directive
// they come from (nil for a default).
func setting(pass *lint.Pass, n *parser.Node, name string) ([]string, *parser.Node) {
	s := pass.Effective(n, name)
	return s.Args, s.Node
}

func first(args []string) string {
	if len(args) == 0 {
		return ""
	}
	return args[0]
}

// pool is the per-worker keep-alive cache of an upstream block.
type pool struct {
	size     int
	implicit bool // the 1.29.7+ default "keepalive 32 local"
}

// poolOf returns the cache nginx builds for u at the target version
// (ngx_http_upstream_init_keepalive; from 1.29.7
// ngx_http_upstream_keepalive_init_main_conf).
func poolOf(target parser.Version, u *lint.Upstream) (pool, bool) {
	if u == nil {
		return pool{}, false
	}
	if u.Keepalive == nil {
		if target.AtLeast(parser.V1_29_7) {
			return pool{size: 32, implicit: true}, true
		}
		return pool{}, false
	}
	n, err := strconv.Atoi(lint.ArgValue(u.Keepalive, 0))
	if err != nil || n <= 0 {
		return pool{}, false
	}
	if target.Before(parser.V1_29_7) && u.Balancer != nil && replacesInit(u.Balancer.Name) &&
		before(u.Keepalive, u.Balancer) {
		return pool{}, false // the balancer replaced keepalive's init_upstream (KA07)
	}
	return pool{size: n}, true
}

func replacesInit(balancer string) bool {
	switch balancer {
	case "hash", "ip_hash", "least_conn", "random":
		return true
	}
	return false
}

func before(a, b *parser.Node) bool {
	if a.Parent != b.Parent || a.Parent == nil {
		return false
	}
	for _, c := range a.Parent.Children {
		switch c {
		case a:
			return true
		case b:
			return false
		}
	}
	return false
}

// usedPool returns u's cache when at least one location proxies to u with
// settings that let connections go back into it.
func usedPool(pass *lint.Pass, u *lint.Upstream) (pool, bool) {
	pl, ok := poolOf(pass.Target, u)
	if !ok {
		return pool{}, false
	}
	for _, p := range u.Users {
		if reuses(pass, p) {
			return pl, true
		}
	}
	return pool{}, false
}

// reuses reports whether connections released by p can be cached: HTTP/1.1
// without Connection: close for proxy_pass, fastcgi_keep_conn for FastCGI.
func reuses(pass *lint.Pass, p *lint.Proxy) bool {
	switch p.Module {
	case lint.ModuleGRPC, lint.ModuleMemcached:
		return true
	case lint.ModuleFastCGI:
		return strings.EqualFold(first(pass.Effective(p.Node, "fastcgi_keep_conn").Args), "on")
	case lint.ModuleProxy:
		ver := first(pass.Effective(p.Node, "proxy_http_version").Args)
		if ver == "" {
			ver = "1.1"
			if pass.Target.Before(parser.V1_29_7) {
				ver = "1.0"
			}
		}
		if ver == "1.0" {
			return false
		}
		conn, set := "", false
		for _, n := range pass.Effective(p.Node, "proxy_set_header").Nodes {
			if len(n.Args) >= 2 && strings.EqualFold(n.Args[0].Value, "connection") {
				conn, set = n.Args[1].Value, true
			}
		}
		if !set {
			return pass.Target.AtLeast(parser.V1_29_7)
		}
		return strings.Contains(conn, "$") || !strings.Contains(strings.ToLower(conn), "close")
	}
	return false
}

// peerCount counts an upstream's addresses as
// ngx_http_upstream_init_round_robin does (primary plus backup); exact is
// false when a server is a host name (or resolved at run time).
func peerCount(u *lint.Upstream) (n int, exact bool) {
	exact = true
	for _, s := range u.Servers {
		n++
		if s.AddrErr != nil || isHostName(s.Addr) {
			exact = false
		}
		if _, ok := s.Params["resolve"]; ok {
			exact = false
		}
	}
	return n, exact
}

func isHostName(a lint.Addr) bool {
	if a.IsUnix() {
		return false
	}
	for _, c := range a.Host {
		if c == ':' {
			return false
		}
		if (c < '0' || c > '9') && c != '.' {
			return true
		}
	}
	return false
}

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

// related appends a related position at n, named through n's own instance.
func related(pass *lint.Pass, f *lint.Finding, n *parser.Node, format string, args ...any) {
	if n == nil || n.Directive == nil {
		return
	}
	f.Related = append(f.Related, pass.Related(n, format, args...))
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
