package timeouts

import (
	"fmt"
	"iter"
	"slices"
	"time"

	"github.com/ngxkeep/ngxkeep/lint"
)

// The idle race (TO01, TO02, TO03): one side holds an idle keep-alive
// connection to reuse it later (a frontend's upstream pool, a load balancer
// in front of nginx), the other side closes it when its own idle timer
// fires. When the holder's timeout is not clearly shorter, it sometimes
// sends a request on a connection the other side has just closed
// (semantics §4.5).

// closerKind says what closes a pool's idle connections.
type closerKind uint8

const (
	closerNginx   closerKind = iota + 1 // a backend nginx server of the run
	closerTier                          // a declared app tier
	closerAssumed                       // unknown: the assumed timeout option
)

// closer is a peer that closes idle connections a pool holds.
type closer struct {
	kind  closerKind
	d     time.Duration
	timer idleTimer      // closerNginx
	in    *lint.Instance // closerNginx: the backend instance
	tier  *lint.Tier     // closerTier
	addr  lint.Addr      // the upstream server address
	// among is the number of server blocks on the backend socket when the
	// Host header is unknown and this is only one of them.
	among int
}

// what describes the closer for messages.
func (c closer) what(pass *lint.Pass) string {
	switch c.kind {
	case closerNginx:
		at := "server block at " + where(pass, c.timer.server)
		if c.timer.level != c.timer.server {
			at = "location " + lint.ArgsText(c.timer.level) + " at " + where(pass, c.timer.level)
		}
		if c.among > 1 {
			at += fmt.Sprintf(", one of %d server blocks on that socket: the Host header is not known statically", c.among)
		}
		return fmt.Sprintf("the backend %s (%s, %s) closes idle connections after %s (%s)",
			c.addr, instName(c.in), at, human(c.d), describe("keepalive_timeout", c.timer.v))
	case closerTier:
		return fmt.Sprintf("the app tier %q at %s closes idle connections after %s (idle_timeout in %s)",
			c.tier.Name, c.addr, human(c.d), c.tier.File)
	}
	return fmt.Sprintf("a backend at %s that is not among the linted configs is assumed to close idle connections after %s "+
		"(the TO01 option backend_idle_timeout; nginx's own default is 75s, many app servers use 5–60s)", c.addr, human(c.d))
}

// relate adds the closer's position to a finding.
func (c closer) relate(f *lint.Finding) {
	switch c.kind {
	case closerNginx:
		if c.timer.v.node != nil {
			f.AddRelated(c.timer.v.node, "%skeepalive_timeout %s closes idle client connections", who(c.in, c.timer.v.node, "backend"), c.timer.v.first())
		} else {
			f.AddRelated(c.timer.server, "%sthis server uses the default keepalive_timeout 75s", who(c.in, c.timer.server, "backend"))
		}
	case closerTier:
		addTierRelated(f, c.tier, "tier %q closes idle connections after %s", c.tier.Name, human(c.d))
	}
}

// poolClosers returns what closes the idle connections of upstream u
// (whose topology links are links), server by server: the backend nginx server blocks the
// topology links its addresses to, else a declared app tier, else (when
// assumed > 0) the assumed backend idle timeout. Servers whose backend has
// keep-alive off everywhere are skipped (TO05 and CL05 report those).
func poolClosers(pass *lint.Pass, u *lint.Upstream, links []*lint.Link, assumed time.Duration) []closer {
	// Usually one closer per server: sized for that, so that appending
	// does not leave the smaller arrays behind (0.4 MB over the 6,000
	// pools of a 2,000-server tree). keys[i] is what out[i] came from (a
	// timer's level, a tier or a server): few, so a scan beats a map.
	out := make([]closer, 0, len(u.Servers))
	keys := make([]any, 0, len(u.Servers))
	add := func(key any, c closer) {
		if !slices.Contains(keys, key) {
			keys = append(keys, key)
			out = append(out, c)
		}
	}
	for _, us := range u.Servers {
		if _, down := us.Params["down"]; down || us.AddrErr != nil {
			continue
		}
		known := false
		for _, l := range links {
			if l.UpstreamServer != us {
				continue
			}
			for _, s := range linkServers(l) {
				known = true
				if t, ok := serverIdle(pass, s); ok {
					add(t.level, closer{kind: closerNginx, d: t.d, timer: t, in: l.To, addr: us.Addr, among: ambiguous(l)})
				}
			}
			if l.Tier != nil && l.Tier.IdleTimeout > 0 {
				known = true
				add(l.Tier, closer{kind: closerTier, d: l.Tier.IdleTimeout, tier: l.Tier, addr: us.Addr})
			}
		}
		if !known && assumed > 0 {
			add(us, closer{kind: closerAssumed, d: assumed, addr: us.Addr})
		}
	}
	return out
}

// outlives reports whether a pool with idle timeout pi keeps connections
// clearly longer than closer c (TO01): more than raceMargin longer for a
// known peer, at least as long for an assumed one.
func outlives(pi poolIdle, c closer) bool {
	if pi.unlimited {
		return true
	}
	if c.kind == closerAssumed {
		return pi.d >= c.d
	}
	return pi.d-c.d > raceMargin
}

// tooClose reports whether two idle timeouts are equal within raceMargin
// (TO03).
func tooClose(a, b time.Duration) bool {
	d := a - b
	if d < 0 {
		d = -d
	}
	return d <= raceMargin
}

// frontTimers yields, for each load balancer declared in front of in with
// an idle timeout, the shortest idle timer of each server block of in
// (serverIdle): the pairs TO02 and TO03 compare.
func frontTimers(pass *lint.Pass, in *lint.Instance) iter.Seq2[*lint.Tier, idleTimer] {
	return func(yield func(*lint.Tier, idleTimer) bool) {
		if pass.Topology == nil {
			return
		}
		for _, tier := range pass.Topology.InFrontOf(in) {
			if tier.IdleTimeout <= 0 {
				continue
			}
			for _, s := range in.Servers() {
				if t, ok := serverIdle(pass, s); ok && !yield(tier, t) {
					return
				}
			}
		}
	}
}

// linkedPools yields the active pools of in's upstreams whose links reach
// a backend nginx of the run or a declared tier, with those links: the
// pools TO03 and TO09 compare with what they connect to.
func linkedPools(pass *lint.Pass, in *lint.Instance) iter.Seq2[lint.Pool, []*lint.Link] {
	return func(yield func(lint.Pool, []*lint.Link) bool) {
		index := linkIndex(pass, in)
		for _, u := range in.Upstreams() {
			links := index[u]
			if !reachesKnown(links) {
				continue
			}
			if pl, ok := pass.ActivePool(u); ok && !yield(pl, links) {
				return
			}
		}
	}
}

// reachesKnown reports whether any link leads to a backend nginx of the
// run or a declared tier.
func reachesKnown(links []*lint.Link) bool {
	for _, l := range links {
		if l.To != nil || l.Tier != nil {
			return true
		}
	}
	return false
}
