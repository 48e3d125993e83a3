package lint

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMatchListen(t *testing.T) {
	a := func(s string) Addr {
		t.Helper()
		x, _, err := ParseAddr(s, 80, true)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	for _, tc := range []struct {
		target, listen string
		want           addrMatch
	}{
		{"127.0.0.1:8080", "8080", matchWild},
		{"127.0.0.1:8080", "*:8080", matchWild},
		{"127.0.0.1:8080", "0.0.0.0:8080", matchWild},
		{"127.0.0.1:8080", "127.0.0.1:8080", matchExact},
		{"127.0.0.1:8080", "127.0.0.2:8080", noMatch},
		{"127.0.0.1:8080", "127.0.0.1:8081", noMatch},
		{"127.0.0.1", "127.0.0.1", matchExact}, // default port 80 on both sides
		{"127.0.0.1", "80", matchWild},
		{"localhost:8080", "127.0.0.1:8080", matchExact},
		{"localhost:8080", "[::1]:8080", matchExact},
		{"localhost:8080", "8080", matchWild},
		{"127.0.0.1:8080", "localhost:8080", matchExact},
		{"10.0.0.5:8080", "localhost:8080", noMatch},
		{"[::1]:8080", "[::]:8080", matchWild},
		{"127.0.0.1:8080", "[::]:8080", noMatch}, // ipv6only=on
		{"[::1]:8080", "8080", noMatch},
		{"backend.internal:8080", "8080", matchByPort},
		{"backend.internal:8080", "10.0.0.1:8080", noMatch},
		{"backend.internal:8080", "backend.internal:8080", matchExact},
		{"unix:/run/app.sock", "unix:/run/app.sock", matchExact},
		{"unix:/run/app.sock", "unix:/run/other.sock", noMatch},
		{"unix:/run/app.sock", "80", noMatch},
	} {
		if got := matchListen(a(tc.target), a(tc.listen)); got != tc.want {
			t.Errorf("matchListen(%s, listen %s) = %d, want %d", tc.target, tc.listen, got, tc.want)
		}
	}
}

func TestParseAddr(t *testing.T) {
	for _, tc := range []struct {
		in       string
		portOnly bool
		want     Addr
		given    bool
		err      bool
	}{
		{"127.0.0.1:8080", false, Addr{Host: "127.0.0.1", Port: 8080}, true, false},
		{"Backend.Example", false, Addr{Host: "backend.example", Port: 80}, false, false},
		{"[::1]:81", false, Addr{Host: "::1", Port: 81}, true, false},
		{"[::]", false, Addr{Host: "::", Port: 80}, false, false},
		{"8080", true, Addr{Host: "*", Port: 8080}, true, false},
		{"0.0.0.0:81", true, Addr{Host: "*", Port: 81}, true, false},
		{"unix:/tmp/x.sock", false, Addr{Unix: "/tmp/x.sock"}, false, false},
		{"unix:", false, Addr{}, false, true},
		{"host:0", false, Addr{}, false, true},
		{"host:http", false, Addr{}, false, true},
		{"[::1", false, Addr{}, false, true},
	} {
		got, given, err := ParseAddr(tc.in, 80, tc.portOnly)
		if (err != nil) != tc.err {
			t.Errorf("ParseAddr(%q) error = %v, want error %v", tc.in, err, tc.err)
			continue
		}
		if err == nil && (got != tc.want || given != tc.given) {
			t.Errorf("ParseAddr(%q) = %+v, %v; want %+v, %v", tc.in, got, given, tc.want, tc.given)
		}
	}
}

// topo builds the topology of named configs.
func topo(t *testing.T, tiers []*Tier, confs ...string) (*Topology, []*Instance) {
	t.Helper()
	var ins []*Instance
	for i := 0; i+1 < len(confs); i += 2 {
		ins = append(ins, mustInstance(t, confs[i], confs[i+1]))
	}
	resolveTiers(tiers, ins, "")
	return buildTopology(ins, tiers), ins
}

type linkSum struct {
	From, Target, Host, To, Server string
	Resolved, Exact                bool
}

func sumLinks(ls []*Link) []linkSum {
	var out []linkSum
	for _, l := range ls {
		s := linkSum{From: l.From.Path, Target: l.Target.String(), Host: l.Host, Resolved: l.Resolved, Exact: l.Exact}
		if l.To != nil {
			s.To = l.To.Path
		}
		if l.Server != nil {
			s.Server = strings.Join(l.Server.Names, ",")
			if s.Server == "" {
				s.Server = "(unnamed)"
			}
		}
		out = append(out, s)
	}
	return out
}

func TestTopologyPicksServerByHost(t *testing.T) {
	front := `
events {}
http {
    upstream app { server 127.0.0.1:8081; server localhost:8082; }
    server {
        listen 80;
        server_name www.example.com;
        location / { proxy_pass http://app; }                      # Host: app
        location /api { proxy_set_header Host api.internal; proxy_pass http://app; }
        location /h { proxy_set_header Host $host; proxy_pass http://app; }
        location /direct { proxy_pass http://127.0.0.1:8083/x; }   # implicit, Host 127.0.0.1:8083
        location /dyn { proxy_pass http://$arg_b; }                # unknown target: no link
        location /sock { proxy_pass http://unix:/run/b.sock:/; }
    }
}`
	back := `
events {}
http {
    server { listen 127.0.0.1:8081; server_name app; }
    server { listen 8081 default_server; server_name api.internal; }
    server { listen 127.0.0.1:8081 default_server; server_name other; }
    server { listen 8082; server_name *.example.com; }
    server { listen 8082; server_name api.internal; }
    server { listen 8083; }
    server { listen unix:/run/b.sock; server_name sock; }
}`
	tp, ins := topo(t, nil, "front.conf", front, "back.conf", back)
	want := []linkSum{
		{"front.conf", "127.0.0.1:8081", "app", "back.conf", "app", true, true},
		{"front.conf", "localhost:8082", "app", "back.conf", "*.example.com", true, true},
		// api.internal is only on *:8081: 127.0.0.1:8081 has its own
		// servers, so nginx picks that socket's default.
		{"front.conf", "127.0.0.1:8081", "api.internal", "back.conf", "other", true, true},
		{"front.conf", "localhost:8082", "api.internal", "back.conf", "api.internal", true, true},
		// $host of a server with one fixed name.
		{"front.conf", "127.0.0.1:8081", "www.example.com", "back.conf", "other", true, true},
		{"front.conf", "localhost:8082", "www.example.com", "back.conf", "*.example.com", true, true},
		{"front.conf", "127.0.0.1:8083", "127.0.0.1:8083", "back.conf", "(unnamed)", true, true},
		{"front.conf", "unix:/run/b.sock", "localhost", "back.conf", "sock", true, true},
	}
	if d := cmp.Diff(want, sumLinks(tp.Links)); d != "" {
		t.Errorf("links (-want +got):\n%s", d)
	}
	if ins[0].Role != RoleFrontend || ins[1].Role != RoleBackend {
		t.Errorf("roles = %v, %v; want frontend, backend", ins[0].Role, ins[1].Role)
	}
	if n := len(tp.LinksTo(ins[1])); n != len(want) {
		t.Errorf("LinksTo(back) = %d links, want %d", n, len(want))
	}
}

func TestTopologyUnresolvedAndTiers(t *testing.T) {
	front := `
events {}
http {
    upstream app { server backend.svc:9000; server 10.1.2.3:9000; }
    upstream node { server 127.0.0.1:3000; }
    upstream unused { server 127.0.0.1:9999; }
    server {
        location / { proxy_pass http://app; }
        location /n { proxy_pass http://node; }
    }
}`
	back := `
events {}
http { server { listen 9000; } }`
	tiers := []*Tier{
		{Name: "node", Addresses: []Addr{{Host: "127.0.0.1", Port: 3000}}},
		{Name: "alb", inFrontOf: []string{"front.conf"}},
	}
	tp, ins := topo(t, tiers, "front.conf", front, "back.conf", back)
	got := map[string]string{}
	for _, l := range tp.Links {
		v := "unresolved"
		switch {
		case l.To != nil && l.Exact:
			v = "exact " + l.To.Path
		case l.To != nil:
			v = "by-port " + l.To.Path
		case l.Tier != nil:
			v = "tier " + l.Tier.Name
		}
		got[l.Target.String()] = v
	}
	want := map[string]string{
		"backend.svc:9000": "by-port back.conf",
		"10.1.2.3:9000":    "exact back.conf", // an IP on a wildcard listener
		"127.0.0.1:3000":   "tier node",
		"127.0.0.1:9999":   "unresolved", // unused upstreams are linked too
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("links (-want +got):\n%s", d)
	}
	if fr := tp.InFrontOf(ins[0]); len(fr) != 1 || fr[0].Name != "alb" {
		t.Errorf("InFrontOf(front) = %v, want alb", fr)
	}
	if ins[0].Role != RoleFrontend|RoleBackend {
		t.Errorf("front role = %v, want frontend|backend (proxies, and the alb is in front)", ins[0].Role)
	}
}

func TestTopologyDualStack(t *testing.T) {
	front := `events {} http { upstream u { server 127.0.0.1:8080; } server { location / { proxy_pass http://u; } } }`
	for _, tc := range []struct {
		listen string
		linked bool
	}{{"[::]:8080", false}, {"[::]:8080 ipv6only=off", true}} {
		tp, _ := topo(t, nil, "f.conf", front, "b.conf", "events {} http { server { listen "+tc.listen+"; } }")
		if got := tp.Links[0].To != nil; got != tc.linked {
			t.Errorf("listen %s: linked = %v, want %v", tc.listen, got, tc.linked)
		}
	}
}

func TestTopologySelfLinkAndOtherInstancePreferred(t *testing.T) {
	// Both instances listen on 8080 (different machines in reality): a
	// target matching both is attributed to the other instance.
	a := `events {} http { upstream u { server 127.0.0.1:8080; } server { listen 8080; location / { proxy_pass http://u; } } }`
	b := `events {} http { server { listen 8080; } }`
	tp, _ := topo(t, nil, "a.conf", a, "b.conf", b)
	if len(tp.Links) != 1 || tp.Links[0].To == nil || tp.Links[0].To.Path != "b.conf" {
		t.Fatalf("links = %+v, want one to b.conf", sumLinks(tp.Links))
	}
	tp, _ = topo(t, nil, "a.conf", a)
	if len(tp.Links) != 1 || tp.Links[0].To == nil || tp.Links[0].To.Path != "a.conf" {
		t.Fatalf("alone, links = %+v, want a self link", sumLinks(tp.Links))
	}
}

func TestPassTopologyInRun(t *testing.T) {
	var got []string
	a := &Analyzer{ID: "XX01", Name: "x", Severity: SeverityInfo, Scope: Cross, Doc: "x", Bad: "x", Good: "x",
		Run: func(p *Pass) error {
			for _, l := range p.Topology.Links {
				if l.To != nil && l.Server != nil {
					got = append(got, l.From.Path+"→"+l.To.Path+":"+strings.Join(l.Server.Names, ","))
				}
			}
			return nil
		}}
	_, err := Run(context.Background(), Options{Analyzers: []*Analyzer{a}, Instances: []*Instance{
		mustInstance(t, "box1.conf", `events {} http { upstream box2 { server 127.0.0.1:18081; keepalive 8; } server { listen 18080; location / { proxy_pass http://box2; } } }`),
		mustInstance(t, "box2.conf", `events {} http { server { listen 18081; server_name box2; } }`),
	}})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"box1.conf→box2.conf:box2"}, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func TestPeersHostNamesAndTargetNode(t *testing.T) {
	front := `
events {}
http {
    upstream app { server 10.0.0.1:9000; server 10.0.0.2:9000 down; server 10.0.0.3:9000 backup; }
    upstream named { server backend.svc:9000; server [::1]:9000; }
    upstream dyn { zone dyn 64k; server 10.0.0.5:9000 resolve; }
    server {
        location / { proxy_pass http://app; }
        location /n { proxy_pass http://named; }
        location /d { proxy_pass http://dyn; }
        location /i { proxy_pass http://127.0.0.1:3000; }
    }
}`
	tp, ins := topo(t, nil, "front.conf", front)
	type peers struct {
		N, Live int
		Exact   bool
	}
	got := map[string]peers{}
	for _, u := range ins[0].Upstreams() {
		n, live, exact := u.Peers()
		got[u.Name] = peers{n, live, exact}
	}
	want := map[string]peers{
		"app":   {3, 2, true},  // backup counts, down is not tried
		"named": {2, 2, false}, // a host name has an unknown number of addresses
		"dyn":   {1, 1, false}, // resolved at run time
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Peers (-want +got):\n%s", d)
	}
	for s, want := range map[string]bool{"backend.svc:80": true, "10.0.0.1:80": false, "[::1]:80": false, "unix:/run/a.sock": false} {
		a, _, err := ParseAddr(s, 80, false)
		if err != nil {
			t.Fatal(err)
		}
		if a.IsHostName() != want {
			t.Errorf("%s: IsHostName() = %v, want %v", s, !want, want)
		}
	}
	links := tp.LinksFrom(ins[0])
	if len(links) != 7 {
		t.Fatalf("%d links, want 7 (6 upstream servers, 1 implicit)", len(links))
	}
	for _, l := range links {
		n := l.TargetNode()
		switch {
		case n == nil:
			t.Errorf("%s: no target node", l.Target)
		case l.Upstream != nil && n != l.UpstreamServer.Node:
			t.Errorf("%s: target node %s, want the upstream server directive", l.Target, n.Name)
		case l.Upstream == nil && n.Name != "proxy_pass":
			t.Errorf("%s: target node %s, want proxy_pass", l.Target, n.Name)
		}
	}
	if (&Link{}).TargetNode() != nil {
		t.Error("TargetNode of a link without upstream server or proxies is not nil")
	}
}

func TestArgsText(t *testing.T) {
	in := mustInstance(t, "a.conf", `events {}
http { server { location ~* "^/a b/"  { return 204; } location /x { return 204; } } }`)
	var got []string
	for _, n := range in.Nodes("location") {
		got = append(got, ArgsText(n))
	}
	if d := cmp.Diff([]string{`~* "^/a b/"`, "/x"}, got); d != "" {
		t.Errorf("ArgsText (-want +got):\n%s", d)
	}
	if ArgsText(nil) != "" {
		t.Error(`ArgsText(nil) != ""`)
	}
}
