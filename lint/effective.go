package lint

import "github.com/ngxkeep/ngxkeep/parser"

// arrayDirectives are directives whose values form one list per level and
// are inherited all-or-nothing (ngx_conf_merge of arrays).
var arrayDirectives = map[string]bool{
	"proxy_set_header": true, "add_header": true, "add_trailer": true,
	"fastcgi_param": true, "uwsgi_param": true, "scgi_param": true,
	"grpc_set_header": true, "proxy_hide_header": true, "proxy_pass_header": true,
	"fastcgi_hide_header": true, "fastcgi_pass_header": true,
	"proxy_next_upstream": false,
}

// lookupEffective is the inheritance walk used until the parser's
// Node.Effective is available: the nearest level that sets the directive,
// without version defaults. Upstream blocks do not inherit from http.
func lookupEffective(n *parser.Node, name string, v parser.Version) parser.Setting {
	s := parser.Setting{Name: name, Version: v}
	start := n
	if start != nil && start.Directive != nil && start.Block == nil {
		start = start.Parent
	}
	for b := start; b != nil; b = b.Parent {
		var found []*parser.Node
		for _, c := range b.Children {
			if c.Name == name {
				found = append(found, c)
			}
		}
		if len(found) > 0 {
			if arrayDirectives[name] {
				s.Nodes = found
				s.Node = found[0]
				for _, f := range found {
					for _, a := range f.Args {
						s.Args = append(s.Args, a.Value)
					}
				}
			} else {
				last := found[len(found)-1]
				s.Node = last
				for _, a := range last.Args {
					s.Args = append(s.Args, a.Value)
				}
			}
			return s
		}
		if b.Directive != nil && b.Name == "upstream" {
			break
		}
	}
	return s
}
