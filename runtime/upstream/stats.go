package upstream

import (
	"sort"
	"sync"
	"sync/atomic"
)

// CloseReason says why an upstream connection was closed.
type CloseReason uint8

// Close reasons. Each upstream connection that is opened ends with exactly
// one of them.
const (
	// CloseEvictedLRU: the cache was full when another connection was
	// saved, and this one was the least recently saved.
	CloseEvictedLRU CloseReason = iota
	// CloseIdleTimeout: idle in the cache for the upstream keepalive_timeout.
	CloseIdleTimeout
	// CloseKeepaliveRequests: the connection served keepalive_requests
	// requests (checked on release).
	CloseKeepaliveRequests
	// CloseKeepaliveTime: the connection was older than keepalive_time
	// when released.
	CloseKeepaliveTime
	// CloseBackendClosed: a read event (EOF, reset or unexpected data)
	// arrived while the connection was idle in the cache.
	CloseBackendClosed
	// CloseStaleOnReuse: a connection taken from the cache failed before a
	// response arrived (the keep-alive race).
	CloseStaleOnReuse
	// CloseError: a connect, read or write error or timeout, an invalid
	// response, or a failure in the middle of the response body.
	CloseError
	// CloseNotReusable: the exchange finished but the response does not
	// allow reuse (HTTP/1.0 status line, "Connection: close",
	// close-delimited body, extra bytes after the end, unread body,
	// request body not fully sent, 101 tunnel, client abort).
	CloseNotReusable
	// CloseNoKeepalive: the upstream has no keep-alive cache (no keepalive
	// directive, an implicit upstream, or keepalive disabled).
	CloseNoKeepalive
	// CloseShutdown: the worker is exiting; nothing is cached and idle
	// connections are closed.
	CloseShutdown

	numCloseReasons
)

var closeReasonNames = [numCloseReasons]string{
	"evicted_lru", "idle_timeout", "keepalive_requests", "keepalive_time",
	"backend_closed", "stale_on_reuse", "error", "not_reusable_response",
	"no_keepalive", "shutdown",
}

// String returns the reason's stable snake_case name.
func (r CloseReason) String() string {
	if r < numCloseReasons {
		return closeReasonNames[r]
	}
	return "unknown"
}

// CloseReasons lists every reason in order.
func CloseReasons() []CloseReason {
	out := make([]CloseReason, numCloseReasons)
	for i := range out {
		out[i] = CloseReason(i)
	}
	return out
}

// PeerCounters are the live counters of one peer (one address of one
// upstream). Each worker counts in its own copy, so that requests on
// different CPUs do not contend for the same cache lines; Snapshot sums
// them.
type PeerCounters struct {
	Opened   atomic.Int64 // connections dialled successfully
	Reused   atomic.Int64 // connections taken from the keep-alive cache
	Returned atomic.Int64 // connections saved into the keep-alive cache
	Requests atomic.Int64 // attempts (a retry is a new attempt)
	Failures atomic.Int64 // failed attempts counted toward max_fails
	Idle     atomic.Int64 // connections idle in the caches now
	Closed   [numCloseReasons]atomic.Int64
}

// Stats holds the counters of every upstream and peer of a Set.
type Stats struct {
	mu    sync.Mutex
	peers map[statsKey][]*PeerCounters // per shard: 0, then worker ID + 1
}

type statsKey struct{ upstream, peer string }

func newStats() *Stats { return &Stats{peers: make(map[statsKey][]*PeerCounters)} }

// Peer returns (creating if needed) the counters of one peer that belong
// to no worker. Snapshot adds every worker's counters to them.
func (s *Stats) Peer(upstream, peer string) *PeerCounters {
	return s.shard(upstream, peer, 0)
}

// shard returns (creating if needed) counters of one peer for shard i.
func (s *Stats) shard(upstream, peer string, i int) *PeerCounters {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := statsKey{upstream, peer}
	shards := s.peers[k]
	for len(shards) <= i {
		shards = append(shards, new(PeerCounters))
	}
	s.peers[k] = shards
	return shards[i]
}

// sum adds the counters of every shard of one peer.
func (s *Stats) sum(k statsKey) PeerSnapshot {
	s.mu.Lock()
	shards := s.peers[k]
	s.mu.Unlock()
	ps := PeerSnapshot{Upstream: k.upstream, Peer: k.peer, Closed: make(map[string]int64, numCloseReasons)}
	var closed [numCloseReasons]int64
	for _, pc := range shards {
		ps.Opened += pc.Opened.Load()
		ps.Reused += pc.Reused.Load()
		ps.Returned += pc.Returned.Load()
		ps.Requests += pc.Requests.Load()
		ps.Failures += pc.Failures.Load()
		ps.Idle += pc.Idle.Load()
		for r := range closed {
			closed[r] += pc.Closed[r].Load()
		}
	}
	for r, v := range closed {
		ps.Closed[CloseReason(r).String()] = v
	}
	return ps
}

// PeerSnapshot is a copy of one peer's counters.
type PeerSnapshot struct {
	Upstream string           `json:"upstream"`
	Peer     string           `json:"peer"`
	Opened   int64            `json:"opened"`
	Reused   int64            `json:"reused"`
	Returned int64            `json:"returned"`
	Requests int64            `json:"requests"`
	Failures int64            `json:"failures"`
	Idle     int64            `json:"idle"`
	Closed   map[string]int64 `json:"closed"`
}

// UpstreamSnapshot groups the peers of one upstream with totals.
type UpstreamSnapshot struct {
	Name   string         `json:"name"`
	Totals PeerSnapshot   `json:"totals"`
	Peers  []PeerSnapshot `json:"peers"`
}

// Snapshot copies all counters, sorted by upstream and peer name.
func (s *Stats) Snapshot() []UpstreamSnapshot {
	s.mu.Lock()
	keys := make([]statsKey, 0, len(s.peers))
	for k := range s.peers {
		keys = append(keys, k)
	}
	s.mu.Unlock()
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].upstream != keys[j].upstream {
			return keys[i].upstream < keys[j].upstream
		}
		return keys[i].peer < keys[j].peer
	})
	var out []UpstreamSnapshot
	for _, k := range keys {
		ps := s.sum(k)
		if len(out) == 0 || out[len(out)-1].Name != k.upstream {
			out = append(out, UpstreamSnapshot{Name: k.upstream, Totals: PeerSnapshot{Upstream: k.upstream, Closed: map[string]int64{}}})
		}
		u := &out[len(out)-1]
		u.Peers = append(u.Peers, ps)
		t := &u.Totals
		t.Opened += ps.Opened
		t.Reused += ps.Reused
		t.Returned += ps.Returned
		t.Requests += ps.Requests
		t.Failures += ps.Failures
		t.Idle += ps.Idle
		for name, v := range ps.Closed {
			t.Closed[name] += v
		}
	}
	return out
}
