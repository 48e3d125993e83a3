package lint

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Addr is a network address as nginx configs write it: host and port, or a
// unix socket path.
type Addr struct {
	// Host is a lower-case host name or an IP literal without brackets;
	// "*" for a wildcard listen (listen 80, *:80, 0.0.0.0:80; "::" for
	// [::]:80). Empty for unix sockets.
	Host string
	Port int
	// Unix is the socket path of a "unix:" address.
	Unix string
}

// IsUnix reports whether a is a unix socket address.
func (a Addr) IsUnix() bool { return a.Unix != "" }

// IsHostName reports whether a names a host by a DNS name, which nginx
// resolves at startup, rather than by an IP literal or a unix socket.
func (a Addr) IsHostName() bool {
	if a.IsUnix() {
		return false
	}
	for _, c := range a.Host {
		if c == ':' {
			return false // IPv6
		}
		if (c < '0' || c > '9') && c != '.' {
			return true
		}
	}
	return false
}

func (a Addr) String() string {
	if a.Unix != "" {
		return "unix:" + a.Unix
	}
	h := a.Host
	if strings.Contains(h, ":") {
		h = "[" + h + "]"
	}
	return h + ":" + strconv.Itoa(a.Port)
}

// ParseAddr parses "host[:port]", "[v6][:port]", "port" (only when
// allowPortOnly) or "unix:/path" the way ngx_parse_url does, with defPort
// when no port is given. portGiven tells whether the text had a port.
func ParseAddr(s string, defPort int, allowPortOnly bool) (a Addr, portGiven bool, err error) {
	if p, ok := strings.CutPrefix(s, "unix:"); ok {
		if p == "" {
			return Addr{}, false, fmt.Errorf("no path in the unix domain socket %q", s)
		}
		return Addr{Unix: p}, false, nil
	}
	if allowPortOnly {
		if n, err := strconv.Atoi(s); err == nil {
			if n < 1 || n > 65535 {
				return Addr{}, false, fmt.Errorf("invalid port in %q", s)
			}
			return Addr{Host: "*", Port: n}, true, nil
		}
	}
	host, port := s, ""
	if strings.HasPrefix(s, "[") {
		i := strings.IndexByte(s, ']')
		if i < 0 {
			return Addr{}, false, fmt.Errorf("invalid IPv6 address in %q", s)
		}
		host = s[1:i]
		rest := s[i+1:]
		if rest != "" {
			if rest[0] != ':' {
				return Addr{}, false, fmt.Errorf("invalid address %q", s)
			}
			port = rest[1:]
		}
	} else if i := strings.LastIndexByte(s, ':'); i >= 0 {
		host, port = s[:i], s[i+1:]
	}
	a.Host = strings.ToLower(host)
	a.Port = defPort
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return Addr{}, false, fmt.Errorf("invalid port in %q", s)
		}
		a.Port, portGiven = n, true
	}
	if a.Host == "" {
		return Addr{}, false, fmt.Errorf("no host in %q", s)
	}
	if a.Host == "*" || a.Host == "0.0.0.0" {
		a.Host = "*"
	}
	return a, portGiven, nil
}

// hostKind classifies a host for listen matching.
type hostKind uint8

const (
	hostName hostKind = iota // a DNS name nginx resolves at startup
	hostV4
	hostV6
	hostWild4 // * / 0.0.0.0
	hostWild6 // [::]
)

func classify(h string) (hostKind, netip.Addr) {
	switch h {
	case "*":
		return hostWild4, netip.Addr{}
	case "::":
		return hostWild6, netip.Addr{}
	}
	ip, err := netip.ParseAddr(h)
	if err != nil {
		return hostName, netip.Addr{}
	}
	if ip.Is4() || ip.Is4In6() {
		return hostV4, ip.Unmap()
	}
	return hostV6, ip
}

// loopbackName reports whether h is a name that resolves to loopback
// ("localhost", "localhost.localdomain", "*.localhost").
func loopbackName(h string) bool {
	return h == "localhost" || h == "localhost.localdomain" || strings.HasSuffix(h, ".localhost")
}

// addrMatch says how well a target address (an upstream server or proxy_pass
// host) matches a listen address.
type addrMatch uint8

const (
	noMatch     addrMatch = iota
	matchByPort           // same port; the target is a host name that a wildcard listener may serve
	matchWild             // a known IP served by a wildcard listener
	matchExact            // same IP (or localhost ↔ loopback) and port, or the same unix socket
)

// matchListen decides whether a connection to target reaches a socket
// listening on l (bind semantics of ngx_http_add_addresses: a specific
// address wins over a wildcard on the same port, which the caller handles by
// preferring the best match).
func matchListen(target, l Addr) addrMatch {
	if target.IsUnix() || l.IsUnix() {
		if target.Unix != "" && target.Unix == l.Unix {
			return matchExact
		}
		return noMatch
	}
	if target.Port != l.Port {
		return noMatch
	}
	tk, tip := classify(target.Host)
	lk, lip := classify(l.Host)
	switch lk {
	case hostWild4, hostWild6:
		// *:port accepts IPv4 only, [::]:port IPv6 only (ipv6only=on is
		// the default since 1.3.4).
		family := hostV4
		if lk == hostWild6 {
			family = hostV6
		}
		switch tk {
		case family:
			return matchWild
		case hostName:
			if loopbackName(target.Host) {
				return matchWild
			}
			return matchByPort
		}
		return noMatch
	case hostV4, hostV6:
		switch tk {
		case hostV4, hostV6:
			if tip == lip {
				return matchExact
			}
		case hostName:
			if loopbackName(target.Host) && isLocalhostIP(lip) {
				return matchExact
			}
		}
		return noMatch
	default: // a listen on a host name: nginx binds the addresses it resolves to
		if target.Host == l.Host {
			return matchExact
		}
		if loopbackName(l.Host) {
			if tk == hostV4 || tk == hostV6 {
				if isLocalhostIP(tip) {
					return matchExact
				}
			}
			if loopbackName(target.Host) {
				return matchExact
			}
		}
		return noMatch
	}
}

// isLocalhostIP reports whether ip is one of the addresses "localhost"
// resolves to (127.0.0.1, ::1).
func isLocalhostIP(ip netip.Addr) bool {
	return ip == netip.AddrFrom4([4]byte{127, 0, 0, 1}) || ip == netip.IPv6Loopback()
}
