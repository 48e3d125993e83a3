package lint

import (
	"testing"

	"github.com/ngxkeep/ngxkeep/parser"
)

const poolConf = `events {}
http {
    upstream blue { server 127.0.0.1:1; keepalive 16; }
    upstream green { server 127.0.0.1:2; keepalive 8 local; least_conn; }
    upstream red { server 127.0.0.1:3; keepalive 0; }
    upstream plain { server 127.0.0.1:4; }
    map $cookie_c $pool { default blue; g green; }
    map $cookie_d $mixed { default blue; x 10.0.0.1:81; }
    server {
        listen 80;
        location /lit/ { proxy_http_version 1.1; proxy_set_header Connection ""; proxy_pass http://blue; }
        location /map/ { proxy_pass http://$pool; }
        location /mixed/ { proxy_pass http://$mixed; }
        location /set/ { set $t plain; proxy_pass http://$t/x; }
        location /req/ { proxy_pass http://$arg_h; }
        location /close/ { proxy_http_version 1.1; proxy_set_header Connection close; proxy_pass http://plain; }
        location /fcgi/ { fastcgi_keep_conn on; fastcgi_pass red; }
    }
}
`

func TestRouteAndUsers(t *testing.T) {
	in := mustInstance(t, "a.conf", poolConf)
	routes := map[string]Proxy{}
	for _, p := range in.Proxies() {
		routes[p.Location().Args[0].Value] = *p
	}
	names := func(us []*Upstream) []string {
		var out []string
		for _, u := range us {
			out = append(out, u.Name)
		}
		return out
	}
	for _, tc := range []struct {
		loc, ups, other, upstream string
	}{
		{"/lit/", "blue", "", "blue"},
		{"/map/", "blue green", "", ""},
		{"/mixed/", "blue", `the value "10.0.0.1:81" of $mixed, which names no upstream{} block`, ""},
		{"/set/", "plain", "", "plain"},
		{"/req/", "", "$arg_h (taken from the request)", ""},
		{"/fcgi/", "red", "", "red"},
	} {
		p := routes[tc.loc]
		got := ""
		for i, n := range names(p.Route().Upstreams) {
			if i > 0 {
				got += " "
			}
			got += n
		}
		up := ""
		if p.Upstream != nil {
			up = p.Upstream.Name
		}
		if got != tc.ups || p.Route().Other != tc.other || up != tc.upstream {
			t.Errorf("%s: route %q other %q upstream %q; want %q, %q, %q", tc.loc, got, p.Route().Other, up, tc.ups, tc.other, tc.upstream)
		}
	}
	users := map[string]int{}
	for _, u := range in.Upstreams() {
		users[u.Name] = len(u.Users)
	}
	if users["blue"] != 3 || users["green"] != 1 || users["plain"] != 2 {
		t.Errorf("users = %v; want blue 3 (literal, map, mixed), green 1, plain 2", users)
	}
}

func TestPoolAndReuse(t *testing.T) {
	in := mustInstance(t, "a.conf", poolConf)
	v122, v130 := parser.Version{Major: 1, Minor: 22}, parser.Version{Major: 1, Minor: 30}
	pass := func(v parser.Version) *Pass {
		return &Pass{Target: v, Instances: []*Instance{in},
			shared: &shared{target: v}}
	}
	for _, tc := range []struct {
		up     string
		v      parser.Version
		ok     bool
		size   int
		lost   bool
		active bool
	}{
		{"blue", v122, true, 16, false, true},  // /lit/ speaks HTTP/1.1 without close
		{"green", v122, false, 8, true, false}, // least_conn after keepalive drops it
		{"green", v130, true, 8, false, true},  // not from 1.29.7; /map/ reuses by default
		{"red", v130, false, 0, false, false},  // keepalive 0
		{"plain", v122, false, 0, false, false},
		{"plain", v130, true, 32, false, true}, // implicit; /set/ reuses, /close/ does not
	} {
		p := pass(tc.v)
		u := in.Upstream(tc.up)
		pl, ok := p.Pool(u)
		_, active := p.ActivePool(u)
		if ok != tc.ok || pl.Size != tc.size || (pl.Lost != nil) != tc.lost || active != tc.active {
			t.Errorf("%s at %s: Pool = %+v, %v, active %v; want ok %v size %d lost %v active %v",
				tc.up, tc.v, pl, ok, active, tc.ok, tc.size, tc.lost, tc.active)
		}
	}
	for _, x := range in.Proxies() {
		loc := x.Location().Args[0].Value
		want122 := loc == "/lit/" || loc == "/fcgi/"
		want130 := loc != "/close/"
		for _, c := range []struct {
			v    parser.Version
			want bool
		}{{v122, want122}, {v130, want130}} {
			p := pass(c.v)
			if got := p.Reuses(x); got != c.want {
				t.Errorf("%s at %s: Reuses = %v; want %v", loc, c.v, got, c.want)
			}
			if got := p.Reuses(x); got != c.want { // memoized
				t.Errorf("%s at %s: second Reuses = %v; want %v", loc, c.v, got, c.want)
			}
		}
	}
}
