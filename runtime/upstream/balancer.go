package upstream

import (
	"hash/crc32"
	"math/rand/v2"
	"net/netip"
	"sort"
	"strconv"
	"time"
)

// peer is one address of an upstream server with nginx's per-worker state
// (ngx_http_upstream_rr_peer_t). All fields are guarded by the group's mutex.
type peer struct {
	idx    int    // index within its tier
	name   string // resolved address, the cache key ("127.0.0.1:8080", "unix:/p")
	server string // the server's address as configured (hash consistent points)
	net    string // "tcp" or "unix"
	addr   string // dial address

	weight, effectiveWeight, currentWeight int

	maxFails    int
	failTimeout int64 // seconds, like nginx's time_t arithmetic
	fails       int
	accessed    int64 // unix seconds of the last failure
	checked     int64 // unix seconds of the last check
	down        bool
	maxConns    int
	conns       int

	stats *PeerCounters
}

// tier is one list of peers: the primary servers or the backup servers
// (ngx_http_upstream_rr_peers_t).
type tier struct {
	peers       []*peer
	totalWeight int
	single      bool
	tries       int // peers that are not down
}

// chashPoint is one point of the consistent-hash ring.
type chashPoint struct {
	hash   uint32
	server string
}

// pick is the per-request balancer state (ngx_http_upstream_rr_peer_data_t
// plus the hash/ip_hash/random extensions).
type pick struct {
	g       *group
	tier    *tier
	tried   []uint64
	current *peer
	tries   int // pc->tries

	// ip_hash, hash and random state
	hashTries int
	hash      uint32
	rehash    int
	addr      []byte
	key       []byte
	chashIdx  uint32
}

func (p *pick) isTried(i int) bool { return p.tried[i/64]&(1<<(uint(i)%64)) != 0 }
func (p *pick) setTried(i int)     { p.tried[i/64] |= 1 << (uint(i) % 64) }
func (p *pick) resetTried() {
	for i := range p.tried {
		p.tried[i] = 0
	}
}

// available reports the checks every nginx balancer applies to a peer.
func (pr *peer) available(now int64) bool {
	if pr.down {
		return false
	}
	if pr.maxFails > 0 && pr.fails >= pr.maxFails && now-pr.checked <= pr.failTimeout {
		return false
	}
	if pr.maxConns > 0 && pr.conns >= pr.maxConns {
		return false
	}
	return true
}

// init prepares the per-request state (ngx_http_upstream_init_round_robin_peer
// and the balancers' init_peer functions).
func (p *pick) init(g *group, key []byte, client netip.Addr) {
	p.g = g
	p.tier = g.primary
	n := len(g.primary.peers)
	if g.backup != nil && len(g.backup.peers) > n {
		n = len(g.backup.peers)
	}
	words := (n + 63) / 64
	if cap(p.tried) >= words {
		p.tried = p.tried[:words]
		p.resetTried()
	} else {
		p.tried = make([]uint64, words)
	}
	p.tries = g.primary.tries
	if g.backup != nil {
		p.tries += g.backup.tries
	}
	p.current = nil
	p.hashTries, p.hash, p.rehash, p.chashIdx = 0, 0, 0, 0
	switch g.method {
	case methodIPHash:
		// ngx_http_upstream_init_ip_hash_peer: the first three octets of an
		// IPv4 address, all 16 bytes of an IPv6 one, 3 zero bytes otherwise.
		p.hash = 89
		p.addr = p.addr[:0]
		switch {
		case client.Is4():
			a := client.As4()
			p.addr = append(p.addr, a[0], a[1], a[2])
		case client.Is6() && !client.Is4In6():
			a := client.As16()
			p.addr = append(p.addr, a[:]...)
		case client.Is4In6():
			a := client.Unmap().As4()
			p.addr = append(p.addr, a[0], a[1], a[2])
		default:
			p.addr = append(p.addr, 0, 0, 0)
		}
	case methodHash, methodCHash:
		p.key = append(p.key[:0], key...)
		if g.method == methodCHash && len(g.points) > 0 {
			// ngx_http_upstream_init_chash_peer
			p.chashIdx = findCHashPoint(g.points, crc32.ChecksumIEEE(p.key))
		}
	}
}

// get chooses a peer (the balancer's get function). It returns nil when no
// peer is available ("no live upstreams", NGX_BUSY). Called with g.mu held.
func (p *pick) get(now int64) *peer {
	g := p.g
	switch g.method {
	case methodLeastConn:
		return p.getLeastConn(now)
	case methodIPHash:
		return p.getIPHash(now)
	case methodHash:
		return p.getHash(now)
	case methodCHash:
		return p.getCHash(now)
	case methodRandom, methodRandom2:
		return p.getRandom(now)
	}
	return p.getRR(now)
}

// getRR is ngx_http_upstream_get_round_robin_peer.
func (p *pick) getRR(now int64) *peer {
	t := p.tier
	var pr *peer
	if t.single {
		pr = t.peers[0]
		if pr.down || (pr.maxConns > 0 && pr.conns >= pr.maxConns) {
			pr = nil
		} else {
			p.current = pr
		}
	} else {
		pr = p.smoothWeighted(now)
	}
	if pr == nil {
		if t == p.g.primary && p.g.backup != nil {
			p.tier = p.g.backup
			p.resetTried()
			return p.getRR(now)
		}
		return nil
	}
	pr.conns++
	return pr
}

// smoothWeighted is ngx_http_upstream_get_peer: nginx's smooth weighted
// round robin over the current tier.
func (p *pick) smoothWeighted(now int64) *peer {
	var best *peer
	total := 0
	for i, pr := range p.tier.peers {
		if p.isTried(i) || !pr.available(now) {
			continue
		}
		pr.currentWeight += pr.effectiveWeight
		total += pr.effectiveWeight
		if pr.effectiveWeight < pr.weight {
			pr.effectiveWeight++
		}
		if best == nil || pr.currentWeight > best.currentWeight {
			best = pr
		}
	}
	if best == nil {
		return nil
	}
	p.current = best
	p.setTried(best.idx)
	best.currentWeight -= total
	if now-best.checked > best.failTimeout {
		best.checked = now
	}
	return best
}

// getLeastConn is ngx_http_upstream_get_least_conn_peer.
func (p *pick) getLeastConn(now int64) *peer {
	t := p.tier
	if t.single && t == p.g.primary && p.g.backup == nil {
		return p.getRR(now)
	}
	var best *peer
	many := false
	for i, pr := range t.peers {
		if p.isTried(i) || !pr.available(now) {
			continue
		}
		if best == nil || pr.conns*best.weight < best.conns*pr.weight {
			best, many = pr, false
		} else if pr.conns*best.weight == best.conns*pr.weight {
			many = true
		}
	}
	if best == nil {
		if t == p.g.primary && p.g.backup != nil {
			p.tier = p.g.backup
			p.resetTried()
			return p.getLeastConn(now)
		}
		return nil
	}
	if many {
		total := 0
		first := best
		for i := first.idx; i < len(t.peers); i++ {
			pr := t.peers[i]
			if p.isTried(i) || pr.down {
				continue
			}
			if pr.conns*first.weight != first.conns*pr.weight {
				continue
			}
			if pr.maxFails > 0 && pr.fails >= pr.maxFails && now-pr.checked <= pr.failTimeout {
				continue
			}
			if pr.maxConns > 0 && pr.conns >= pr.maxConns {
				continue
			}
			pr.currentWeight += pr.effectiveWeight
			total += pr.effectiveWeight
			if pr.effectiveWeight < pr.weight {
				pr.effectiveWeight++
			}
			if pr.currentWeight > best.currentWeight {
				best = pr
			}
		}
		best.currentWeight -= total
	}
	if now-best.checked > best.failTimeout {
		best.checked = now
	}
	best.conns++
	p.current = best
	p.setTried(best.idx)
	return best
}

// byWeight walks the tier's peers subtracting weights, as the hash
// balancers do to map w in [0, total_weight) to a peer.
func byWeight(t *tier, w int) *peer {
	for _, pr := range t.peers {
		if w < pr.weight {
			return pr
		}
		w -= pr.weight
	}
	return t.peers[len(t.peers)-1]
}

// takeHashed finishes a hash-style choice.
func (p *pick) takeHashed(pr *peer, now int64) *peer {
	p.current = pr
	pr.conns++
	if now-pr.checked > pr.failTimeout {
		pr.checked = now
	}
	p.setTried(pr.idx)
	return pr
}

// getIPHash is ngx_http_upstream_get_ip_hash_peer.
func (p *pick) getIPHash(now int64) *peer {
	t := p.g.primary
	if p.hashTries > 20 || len(t.peers) < 2 {
		return p.getRR(now)
	}
	hash := p.hash
	for {
		for _, b := range p.addr {
			hash = (hash*113 + uint32(b)) % 6271
		}
		w := int(hash % uint32(t.totalWeight))
		pr := byWeight(t, w)
		if !p.isTried(pr.idx) && pr.available(now) {
			p.hash = hash
			return p.takeHashed(pr, now)
		}
		p.hashTries++
		if p.hashTries > 20 {
			return p.getRR(now)
		}
	}
}

// getHash is ngx_http_upstream_get_hash_peer (Cache::Memcached compatible).
func (p *pick) getHash(now int64) *peer {
	t := p.g.primary
	if p.hashTries > 20 || len(t.peers) < 2 || len(p.key) == 0 {
		return p.getRR(now)
	}
	var buf [20]byte
	for {
		// ((crc32([REHASH] KEY) >> 16) & 0x7fff) + PREV_HASH
		h := uint32(0)
		if p.rehash > 0 {
			h = crc32.Update(h, crc32.IEEETable, strconv.AppendInt(buf[:0], int64(p.rehash), 10))
		}
		h = crc32.Update(h, crc32.IEEETable, p.key)
		h = (h >> 16) & 0x7fff
		p.hash += h
		p.rehash++
		w := int(p.hash % uint32(t.totalWeight))
		pr := byWeight(t, w)
		if !p.isTried(pr.idx) && pr.available(now) {
			return p.takeHashed(pr, now)
		}
		p.hashTries++
		if p.hashTries > 20 {
			return p.getRR(now)
		}
	}
}

// buildCHashPoints is ngx_http_upstream_update_chash: 160 points per unit
// of weight, crc32(HOST \0 PORT PREV_HASH), sorted and de-duplicated.
func buildCHashPoints(t *tier) []chashPoint {
	var pts []chashPoint
	for _, pr := range t.peers {
		host, port := splitServerForHash(pr.server)
		base := crc32.Update(0, crc32.IEEETable, []byte(host))
		base = crc32.Update(base, crc32.IEEETable, []byte{0})
		base = crc32.Update(base, crc32.IEEETable, []byte(port))
		var prev [4]byte
		for j := 0; j < pr.weight*160; j++ {
			h := crc32.Update(base, crc32.IEEETable, prev[:])
			pts = append(pts, chashPoint{hash: h, server: pr.server})
			prev = [4]byte{byte(h), byte(h >> 8), byte(h >> 16), byte(h >> 24)}
		}
	}
	sort.SliceStable(pts, func(i, j int) bool { return pts[i].hash < pts[j].hash })
	if len(pts) == 0 {
		return pts
	}
	i := 0
	for j := 1; j < len(pts); j++ {
		if pts[i].hash != pts[j].hash {
			i++
			pts[i] = pts[j]
		}
	}
	return pts[:i+1]
}

// splitServerForHash splits "host:port" the way the chash module does: a
// trailing run of digits after the last ':' is the port; "unix:" has none.
func splitServerForHash(s string) (host, port string) {
	if len(s) >= 5 && (s[:5] == "unix:" || s[:5] == "UNIX:") {
		return s[5:], ""
	}
	for j := 0; j < len(s); j++ {
		c := s[len(s)-j-1]
		if c == ':' {
			return s[:len(s)-j-1], s[len(s)-j:]
		}
		if c < '0' || c > '9' {
			break
		}
	}
	return s, ""
}

// findCHashPoint is ngx_http_upstream_find_chash_point: the first point
// whose hash is >= hash.
func findCHashPoint(pts []chashPoint, hash uint32) uint32 {
	i, j := 0, len(pts)
	for i < j {
		k := (i + j) / 2
		switch {
		case hash > pts[k].hash:
			i = k + 1
		case hash < pts[k].hash:
			j = k
		default:
			return uint32(k)
		}
	}
	return uint32(i)
}

// getCHash is ngx_http_upstream_get_chash_peer.
func (p *pick) getCHash(now int64) *peer {
	t := p.g.primary
	if p.hashTries > 20 || t.single || len(p.key) == 0 {
		return p.getRR(now)
	}
	pts := p.g.points
	if len(pts) == 0 {
		return nil
	}
	for {
		server := pts[p.chashIdx%uint32(len(pts))].server
		var best *peer
		total := 0
		for i, pr := range t.peers {
			if p.isTried(i) || !pr.available(now) || pr.server != server {
				continue
			}
			pr.currentWeight += pr.effectiveWeight
			total += pr.effectiveWeight
			if pr.effectiveWeight < pr.weight {
				pr.effectiveWeight++
			}
			if best == nil || pr.currentWeight > best.currentWeight {
				best = pr
			}
		}
		if best != nil {
			best.currentWeight -= total
			return p.takeHashed(best, now)
		}
		p.chashIdx++
		p.hashTries++
		if p.hashTries > 20 {
			return p.getRR(now)
		}
	}
}

// getRandom is ngx_http_upstream_get_random_peer and, with two,
// ngx_http_upstream_get_random2_peer (least-connections of two draws).
func (p *pick) getRandom(now int64) *peer {
	t := p.g.primary
	if p.hashTries > 20 || len(t.peers) < 2 {
		return p.getRR(now)
	}
	two := p.g.method == methodRandom2
	var prev *peer
	for {
		pr := byWeight(t, rand.IntN(t.totalWeight))
		ok := pr != prev && !p.isTried(pr.idx) && pr.available(now)
		if ok {
			if !two {
				return p.takeHashed(pr, now)
			}
			if prev != nil {
				if pr.conns*prev.weight > prev.conns*pr.weight {
					pr = prev
				}
				return p.takeHashed(pr, now)
			}
			prev = pr
		}
		p.hashTries++
		if p.hashTries > 20 {
			return p.getRR(now)
		}
	}
}

// free is ngx_http_upstream_free_round_robin_peer: failure accounting and
// the tries counter. Called with g.mu held.
func (p *pick) free(failed bool, now int64) (disabled bool) {
	pr := p.current
	if pr == nil {
		return false
	}
	p.current = nil
	if p.tier.single {
		// A single server is never marked failed; no further tries.
		pr.fails = 0
		pr.conns--
		p.tries = 0
		return false
	}
	if failed {
		pr.fails++
		pr.accessed = now
		pr.checked = now
		if pr.stats != nil {
			pr.stats.Failures.Add(1)
		}
		if pr.maxFails > 0 {
			pr.effectiveWeight -= pr.weight / pr.maxFails
			if pr.fails >= pr.maxFails {
				disabled = true
			}
		}
		if pr.effectiveWeight < 0 {
			pr.effectiveWeight = 0
		}
	} else if pr.accessed < pr.checked {
		// mark the peer live once a check passed
		pr.fails = 0
	}
	pr.conns--
	if p.tries > 0 {
		p.tries--
	}
	return disabled
}

// unixNow is ngx_time(): wall-clock seconds.
func unixNow() int64 { return time.Now().Unix() }
