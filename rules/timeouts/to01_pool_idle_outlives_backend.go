package timeouts

import (
	"fmt"
	"sort"
	"strings"

	"github.com/ngxkeep/ngxkeep/lint"
)

// TO01 reports upstream pools that keep idle connections longer than the
// backend does.
var TO01 = &lint.Analyzer{
	ID:        "TO01",
	Name:      "pool-idle-outlives-backend",
	Severity:  lint.SeverityWarning,
	Scope:     lint.Both,
	Versioned: true, // pools exist by default from 1.29.7; no idle limit before 1.15.3
	Doc: `An upstream keep-alive pool keeps idle connections longer than the backend keeps them open.

nginx caches idle upstream connections for the upstream's keepalive_timeout
(default 60s, directive since 1.15.3; before that cached connections had no
idle limit at all). The backend closes an idle client connection when its
own idle timer fires: a backend nginx after its keepalive_timeout (default
75s) of the server block that serves the upstream address, Node.js after 5s,
Jetty after 30s, and so on. When the pool's timeout is not shorter, nginx
regularly hands a request to a connection the backend has just closed: the
FIN has not been processed yet, the write succeeds, and the read returns EOF
or ECONNRESET ("upstream prematurely closed connection while reading
response header from upstream"). nginx retries a GET on a new connection
(without using up proxy_next_upstream_tries, but counting a failure towards
max_fails), while a POST, PATCH or LOCK that was already sent gets a 502 Bad
Gateway.

The rule compares the pool of every upstream{} that is really used with
keep-alive against what serves each of its server addresses: the backend
nginx server block the topology links it to (the shortest non-zero
keepalive_timeout of that server and its locations, since the idle timer is
the one of the location that served the last request), a declared app tier
(tier "..." { address = [...], idle_timeout = "5s" } in .ngxkeep.hcl), or,
when neither is known, the assumed backend idle timeout (option
backend_idle_timeout, default 75s, nginx's own default). It reports when the
pool outlives a known backend by more than a second (TO03 reports timeouts
within a second of each other) or is at least as long as the assumed one.

Fix: set keepalive_timeout in the upstream block clearly below the
backend's idle timeout (for a 75s nginx backend the default 60s is fine; for
Node.js' 5s use 3s), or raise the backend's timeout above the pool's.`,
	Bad: `events {}
http {
    upstream app {
        server 127.0.0.1:8081;
        keepalive 16;
        keepalive_timeout 300s;
    }
    server {
        listen 8080;
        location / {
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass http://app;
        }
    }
}
`,
	Good: `events {}
http {
    upstream app {
        server 127.0.0.1:8081;
        keepalive 16;
        keepalive_timeout 50s;
    }
    server {
        listen 8080;
        location / {
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass http://app;
        }
    }
}
`,
	Options: []lint.Option{{
		Name: "backend_idle_timeout",
		Doc: "idle timeout assumed for backends that are neither a linted config nor a declared tier " +
			"(nginx's default keepalive_timeout is 75s); 0 disables the comparison",
		Kind:    lint.OptionDuration,
		Default: "75s",
	}},
	Run: runTO01,
}

func runTO01(pass *lint.Pass) error {
	assumed := pass.OptionDuration("backend_idle_timeout")
	for _, in := range pass.Instances {
		links := linkIndex(pass, in)
		for _, u := range in.Upstreams() {
			pl, ok := pass.ActivePool(u)
			if !ok {
				continue
			}
			pi := poolTimeout(pass, u)
			var bad []closer
			for _, c := range poolClosers(pass, u, links[u], assumed) {
				if outlives(pi, c) {
					bad = append(bad, c)
				}
			}
			if len(bad) == 0 {
				continue
			}
			sort.SliceStable(bad, func(i, j int) bool { return bad[i].d < bad[j].d })
			reportTO01(pass, pl, pi, bad)
		}
	}
	return nil
}

func reportTO01(pass *lint.Pass, pl lint.Pool, pi poolIdle, bad []closer) {
	u := pl.Upstream
	c := bad[0]
	var b strings.Builder
	fmt.Fprintf(&b, "upstream %s keeps idle keep-alive connections %s, but %s", u.Name, pi, c.what(pass))
	if len(bad) > 1 {
		fmt.Fprintf(&b, " (and %d more backend%s close sooner than the pool)", len(bad)-1, plural(len(bad)-1))
	}
	b.WriteString(": nginx regularly reuses a connection the backend has just closed, writes the request and reads EOF or a reset " +
		"(\"upstream prematurely closed connection\"); a GET is retried on a new connection")
	if len(u.Servers) > 1 {
		b.WriteString(" but counts as a failure towards max_fails")
	}
	b.WriteString(", a POST, PATCH or LOCK already sent gets 502 Bad Gateway")
	fmt.Fprintf(&b, "; set \"keepalive_timeout %s;\" in upstream %s (clearly below %s) or raise the backend's idle timeout",
		human(safeTimeout(c.d)), u.Name, human(c.d))
	f := reportAt(pass, poolAnchor(pass, u), "%s", b.String())
	if a := poolAnchor(pass, u); a != poolNode(pl) {
		f.AddRelated(poolNode(pl), "%s", poolDesc(pl))
	}
	for _, c := range bad {
		c.relate(f)
	}
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
