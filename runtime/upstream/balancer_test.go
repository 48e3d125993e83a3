package upstream

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/ngxkeep/ngxkeep/runtime/config"
)

// testGroup builds one worker's group for servers given as
// "addr weight [backup] [down]".
func testGroup(t *testing.T, bal *config.Balancer, servers ...string) *group {
	t.Helper()
	u := &config.Upstream{Name: "u", Balancer: bal}
	for _, s := range servers {
		f := strings.Fields(s)
		sv := config.UpstreamServer{Address: f[0]}
		fmt.Sscan(f[1], &sv.Weight)
		for _, x := range f[2:] {
			sv.Backup = sv.Backup || x == "backup"
			sv.Down = sv.Down || x == "down"
		}
		u.Servers = append(u.Servers, sv)
	}
	s, err := NewSet([]*config.Upstream{u}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	w := s.NewWorker(0)
	t.Cleanup(w.Shutdown)
	return w.groups[0]
}

// sequence runs n requests that succeed at once and returns the peers.
func sequence(g *group, n int, key string, client string) []string {
	var out []string
	for i := 0; i < n; i++ {
		var p pick
		var ip netip.Addr
		if client != "" {
			ip = netip.MustParseAddr(client)
		}
		p.init(g, []byte(key), ip)
		pr := p.get(unixNow())
		if pr == nil {
			out = append(out, "-")
			continue
		}
		out = append(out, pr.name)
		p.free(false, unixNow())
	}
	return out
}

func TestSmoothWeightedRoundRobin(t *testing.T) {
	g := testGroup(t, nil, "127.0.0.1:1 5", "127.0.0.1:2 1", "127.0.0.1:3 1")
	got := strings.Join(sequence(g, 7, "", ""), " ")
	// nginx's smooth weighted round robin for weights 5,1,1: a a b a c a a
	want := "127.0.0.1:1 127.0.0.1:1 127.0.0.1:2 127.0.0.1:1 127.0.0.1:3 127.0.0.1:1 127.0.0.1:1"
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

func TestBackupTierAndDown(t *testing.T) {
	g := testGroup(t, nil, "127.0.0.1:1 1 down", "127.0.0.1:2 1 backup")
	if got := sequence(g, 2, "", ""); got[0] != "127.0.0.1:2" || got[1] != "127.0.0.1:2" {
		t.Fatalf("%v", got)
	}
}

func TestFailTimeoutEjectsAndRecovers(t *testing.T) {
	g := testGroup(t, nil, "127.0.0.1:1 1", "127.0.0.1:2 1")
	var p pick
	p.init(g, nil, netip.Addr{})
	now := unixNow()
	first := p.get(now)
	p.free(true, now) // max_fails=1: disabled for 10s
	for _, name := range sequence(g, 4, "", "") {
		if name == first.name {
			t.Fatalf("failed peer chosen within fail_timeout")
		}
	}
	// after fail_timeout the peer is tried again and a success clears fails
	first.checked -= 11
	first.accessed -= 11
	seen := false
	for _, name := range sequence(g, 4, "", "") {
		seen = seen || name == first.name
	}
	if !seen || first.fails != 0 {
		t.Fatalf("peer not recovered: seen %v fails %d", seen, first.fails)
	}
}

func TestIPHashStableAndPerSlash24(t *testing.T) {
	g := testGroup(t, &config.Balancer{Method: "ip_hash"}, "127.0.0.1:1 1", "127.0.0.1:2 1", "127.0.0.1:3 1")
	a := sequence(g, 5, "", "198.51.100.10")
	for _, x := range a {
		if x != a[0] {
			t.Fatalf("ip_hash not stable: %v", a)
		}
	}
	// only the first three octets count
	if b := sequence(g, 1, "", "198.51.100.200"); b[0] != a[0] {
		t.Fatalf("same /24 mapped differently")
	}
	// nginx's hash: 89, then (h*113 + octet) % 6271 over 3 octets
	h := uint32(89)
	for _, o := range []uint32{198, 51, 100} {
		h = (h*113 + o) % 6271
	}
	if want := fmt.Sprintf("127.0.0.1:%d", h%3+1); a[0] != want {
		t.Fatalf("ip_hash chose %s, want %s", a[0], want)
	}
}

func TestHashKey(t *testing.T) {
	g := testGroup(t, &config.Balancer{Method: "hash", Key: "$request_uri"}, "127.0.0.1:1 1", "127.0.0.1:2 1", "127.0.0.1:3 1")
	counts := map[string]int{}
	for i := 0; i < 300; i++ {
		k := fmt.Sprintf("/k%d", i)
		a := sequence(g, 2, k, "")
		if a[0] != a[1] {
			t.Fatalf("hash not stable for %s", k)
		}
		counts[a[0]]++
	}
	if len(counts) != 3 {
		t.Fatalf("keys did not spread: %v", counts)
	}
}

func TestConsistentHashMovesOnlyRemovedKeys(t *testing.T) {
	three := testGroup(t, &config.Balancer{Method: "hash", Key: "$uri", Consistent: true}, "127.0.0.1:1 1", "127.0.0.1:2 1", "127.0.0.1:3 1")
	two := testGroup(t, &config.Balancer{Method: "hash", Key: "$uri", Consistent: true}, "127.0.0.1:1 1", "127.0.0.1:2 1")
	if n := len(three.points); n != 480 {
		t.Fatalf("%d points, want 160 per weight unit", n)
	}
	moved := 0
	for i := 0; i < 500; i++ {
		k := fmt.Sprintf("/key/%d", i)
		a := sequence(three, 1, k, "")[0]
		b := sequence(two, 1, k, "")[0]
		if a != "127.0.0.1:3" && a != b {
			moved++
		}
	}
	if moved != 0 {
		t.Fatalf("%d keys moved between surviving servers", moved)
	}
}

func TestLeastConnPrefersIdle(t *testing.T) {
	g := testGroup(t, &config.Balancer{Method: "least_conn"}, "127.0.0.1:1 1", "127.0.0.1:2 1")
	var busy pick
	busy.init(g, nil, netip.Addr{})
	held := busy.get(unixNow())
	for _, name := range sequence(g, 3, "", "") {
		if name == held.name {
			t.Fatalf("least_conn chose the busy peer")
		}
	}
}

func TestRandomTwoAvoidsBusy(t *testing.T) {
	g := testGroup(t, &config.Balancer{Method: "random", Two: true}, "127.0.0.1:1 1", "127.0.0.1:2 1")
	var busy pick
	busy.init(g, nil, netip.Addr{})
	held := busy.get(unixNow())
	for _, name := range sequence(g, 20, "", "") {
		if name == held.name {
			t.Fatalf("random two chose the busy peer")
		}
	}
}
