package upstream

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ngxkeep/ngxkeep/runtime/config"
)

// Balancing methods.
const (
	methodRR = iota
	methodLeastConn
	methodIPHash
	methodHash
	methodCHash
	methodRandom
	methodRandom2
)

// keepaliveConf is the compiled keepalive directive group of an upstream.
type keepaliveConf struct {
	max      int
	local    bool
	timeout  time.Duration
	requests int
	time     time.Duration
}

// Upstream is a compiled upstream block (explicit, or implicit from a
// proxy_pass address).
type Upstream struct {
	name     string
	idx      int
	implicit bool
	port     string // implicit upstreams: the port they were created with
	method   int
	key      *template
	primary  []peerConf
	backup   []peerConf
	// keepalive is nil when connections are never cached.
	keepalive *keepaliveConf
	points    []chashPoint
}

// Name returns the upstream's name (the block name, or host:port for an
// implicit upstream).
func (u *Upstream) Name() string { return u.name }

type peerConf struct {
	name, server, net, addr string
	weight, maxFails        int
	failTimeout             int64
	down                    bool
	maxConns                int
}

// Options configure a Set.
type Options struct {
	// Logger receives connection events; nil discards them.
	Logger *slog.Logger
	// Resolver resolves server host names; nil uses net.DefaultResolver.
	Resolver *net.Resolver
	// Dialer dials upstream connections; nil uses a net.Dialer.
	Dialer func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Set is the compiled upstream configuration of one instance, shared by
// its workers. Create it with NewSet, compile every location's proxy
// settings with CompileProxy, then create one Worker per server worker.
type Set struct {
	mu     sync.Mutex
	ups    []*Upstream
	byName map[string]*Upstream
	stats  *Stats
	logger *slog.Logger
	dial   func(ctx context.Context, network, addr string) (net.Conn, error)
	res    *net.Resolver
}

// NewSet compiles the upstream blocks of the model.
func NewSet(ups []*config.Upstream, opts Options) (*Set, error) {
	s := &Set{byName: make(map[string]*Upstream), stats: newStats(), logger: opts.Logger, res: opts.Resolver, dial: opts.Dialer}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	if s.res == nil {
		s.res = net.DefaultResolver
	}
	if s.dial == nil {
		d := &net.Dialer{}
		s.dial = d.DialContext
	}
	for i := range ups {
		u, err := s.compileUpstream(ups[i])
		if err != nil {
			return nil, err
		}
		if _, dup := s.byName[strings.ToLower(u.name)]; dup {
			return nil, fmt.Errorf("duplicate upstream %q", u.name)
		}
		s.add(u)
	}
	return s, nil
}

// Stats returns the counters of every upstream and peer of the set.
func (s *Set) Stats() *Stats { return s.stats }

// Upstream returns the upstream named name (case-insensitive), or nil.
func (s *Set) Upstream(name string) *Upstream {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byName[strings.ToLower(name)]
}

func (s *Set) add(u *Upstream) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u.idx = len(s.ups)
	s.ups = append(s.ups, u)
	if !u.implicit {
		s.byName[strings.ToLower(u.name)] = u
	}
	for _, pc := range append(append([]peerConf(nil), u.primary...), u.backup...) {
		s.stats.Peer(u.name, pc.name)
	}
}

func (s *Set) compileUpstream(cu *config.Upstream) (*Upstream, error) {
	u := &Upstream{name: cu.Name}
	if cu.Name == "" {
		return nil, fmt.Errorf("upstream without a name")
	}
	if len(cu.Servers) == 0 {
		return nil, fmt.Errorf("upstream %q: no servers are inside upstream", cu.Name)
	}
	if b := cu.Balancer; b != nil {
		switch b.Method {
		case "", config.BalancerRoundRobin:
		case config.BalancerLeastConn:
			u.method = methodLeastConn
		case config.BalancerIPHash:
			u.method = methodIPHash
		case config.BalancerHash:
			u.method = methodHash
			if b.Consistent {
				u.method = methodCHash
			}
			t, err := compileTemplate(b.Key)
			if err != nil || b.Key == "" {
				return nil, fmt.Errorf("upstream %q: invalid hash key %q", cu.Name, b.Key)
			}
			u.key = t
		case config.BalancerRandom:
			u.method = methodRandom
			if b.Two {
				u.method = methodRandom2
			}
		default:
			return nil, fmt.Errorf("upstream %q: unknown balancer %q", cu.Name, b.Method)
		}
	}
	for _, sv := range cu.Servers {
		pcs, err := s.compileServer(cu.Name, sv)
		if err != nil {
			return nil, err
		}
		if sv.Backup {
			if u.method != methodRR && u.method != methodLeastConn {
				return nil, fmt.Errorf("upstream %q: backup server %s is not supported by the balancer", cu.Name, sv.Address)
			}
			u.backup = append(u.backup, pcs...)
		} else {
			u.primary = append(u.primary, pcs...)
		}
	}
	if len(u.primary) == 0 {
		return nil, fmt.Errorf("upstream %q: no servers are inside upstream", cu.Name)
	}
	if ka := cu.Keepalive; ka != nil && ka.Enabled && ka.Connections > 0 {
		kc := &keepaliveConf{max: ka.Connections, local: ka.Local, requests: cu.KeepaliveRequests}
		var err error
		if kc.timeout, err = parseDuration(cu.KeepaliveTimeout, 60*time.Second); err != nil {
			return nil, fmt.Errorf("upstream %q: keepalive_timeout: %v", cu.Name, err)
		}
		if kc.time, err = parseDuration(cu.KeepaliveTime, time.Hour); err != nil {
			return nil, fmt.Errorf("upstream %q: keepalive_time: %v", cu.Name, err)
		}
		if kc.requests <= 0 {
			kc.requests = 1000
		}
		u.keepalive = kc
	}
	if u.method == methodCHash {
		u.points = buildCHashPoints(tierFromConf(u.primary, nil))
	}
	return u, nil
}

func (s *Set) compileServer(upstream string, sv config.UpstreamServer) ([]peerConf, error) {
	base := peerConf{server: sv.Address, weight: sv.Weight, maxFails: 1, failTimeout: 10, down: sv.Down, maxConns: sv.MaxConns}
	if base.weight <= 0 {
		base.weight = 1
	}
	if sv.MaxFails != nil {
		base.maxFails = *sv.MaxFails
	}
	if sv.FailTimeout != "" {
		d, err := parseDuration(sv.FailTimeout, 0)
		if err != nil {
			return nil, fmt.Errorf("upstream %q server %s: fail_timeout: %v", upstream, sv.Address, err)
		}
		base.failTimeout = int64(d / time.Second)
	}
	addrs, err := s.resolve(sv.Address, "80")
	if err != nil {
		return nil, fmt.Errorf("upstream %q server %s: %v", upstream, sv.Address, err)
	}
	out := make([]peerConf, 0, len(addrs))
	for _, a := range addrs {
		pc := base
		pc.net, pc.addr, pc.name = a.net, a.addr, a.name
		out = append(out, pc)
	}
	return out, nil
}

type resolvedAddr struct{ net, addr, name string }

// resolve turns "host[:port]" or "unix:/path" into dial addresses.
func (s *Set) resolve(address, defPort string) ([]resolvedAddr, error) {
	if strings.HasPrefix(strings.ToLower(address), "unix:") {
		p := address[5:]
		if p == "" {
			return nil, fmt.Errorf("no path in unix address")
		}
		return []resolvedAddr{{"unix", p, "unix:" + p}}, nil
	}
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		host, port = strings.Trim(address, "[]"), defPort
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return nil, fmt.Errorf("invalid port in %q", address)
	}
	ips, err := s.res.LookupHost(context.Background(), host)
	if err != nil {
		return nil, fmt.Errorf("host not found in upstream %q", address)
	}
	out := make([]resolvedAddr, 0, len(ips))
	for _, ip := range ips {
		a := net.JoinHostPort(ip, port)
		out = append(out, resolvedAddr{"tcp", a, a})
	}
	return out, nil
}

// implicit returns the implicit upstream for a literal proxy_pass host:port,
// creating it on first use (ngx_http_upstream_add without a block).
func (s *Set) implicit(host, port string) (*Upstream, error) {
	name := net.JoinHostPort(host, port)
	s.mu.Lock()
	for _, u := range s.ups {
		if u.implicit && u.name == name {
			s.mu.Unlock()
			return u, nil
		}
	}
	s.mu.Unlock()
	addrs, err := s.resolve(name, port)
	if err != nil {
		return nil, err
	}
	u := &Upstream{name: name, implicit: true, port: port}
	for _, a := range addrs {
		u.primary = append(u.primary, peerConf{name: a.name, server: name, net: a.net, addr: a.addr, weight: 1, maxFails: 1, failTimeout: 10})
	}
	s.add(u)
	return u, nil
}

// lookup finds the upstream a run-time proxy_pass host names, as
// ngx_http_upstream_init_request does: an explicit block with that name
// when no port was given, or an implicit upstream with the same host:port.
func (s *Set) lookup(host, port string, noPort bool) *Upstream {
	s.mu.Lock()
	defer s.mu.Unlock()
	if noPort {
		if u := s.byName[strings.ToLower(host)]; u != nil {
			return u
		}
		port = "80"
	}
	name := net.JoinHostPort(host, port)
	for _, u := range s.ups {
		if u.implicit && u.name == name {
			return u
		}
	}
	return nil
}

func tierFromConf(pcs []peerConf, stats func(string) *PeerCounters) *tier {
	t := &tier{}
	for i, pc := range pcs {
		p := &peer{idx: i, name: pc.name, server: pc.server, net: pc.net, addr: pc.addr,
			weight: pc.weight, effectiveWeight: pc.weight, maxFails: pc.maxFails,
			failTimeout: pc.failTimeout, down: pc.down, maxConns: pc.maxConns}
		if stats != nil {
			p.stats = stats(pc.name)
		}
		t.peers = append(t.peers, p)
		t.totalWeight += pc.weight
		if !pc.down {
			t.tries++
		}
	}
	t.single = len(pcs) == 1
	return t
}
