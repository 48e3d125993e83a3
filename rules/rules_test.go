package rules

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ngxkeep/ngxkeep/lint"
	"github.com/ngxkeep/ngxkeep/lint/linttest"
)

// TestRules checks every registered rule: a unique ID and name, its static
// fields, its Bad and Good examples, and its annotated testdata in
// testdata/<ID>/.
func TestRules(t *testing.T) {
	ids := map[string]bool{}
	names := map[string]bool{}
	for _, b := range lint.Builtins() {
		ids[b.ID], names[b.Name] = true, true
	}
	all := All()
	for _, a := range all {
		if ids[a.ID] || names[a.Name] {
			t.Errorf("duplicate rule ID or name: %s %s", a.ID, a.Name)
		}
		ids[a.ID], names[a.Name] = true, true
	}
	linttest.RunAll(t, "testdata", all)
}

// hostile are configs nginx would reject or that stretch the shapes the
// rules read (missing arguments, junk and extreme values, unix and IPv6
// addresses, cross-config links to nothing).
var hostile = []string{
	"events {}\nhttp { upstream u { } server { location / { proxy_pass http://u; } } }\n",
	"events {}\nhttp { upstream u { server; keepalive; keepalive_timeout x; } server { location / { proxy_pass; return; proxy_pass http://u; } } }\n",
	"events {}\nhttp { upstream u { server 127.0.0.1:1 max_fails=x fail_timeout= max_conns=-1; server [::1]:2; keepalive abc; } server { listen [::]:80 ssl; location / { proxy_next_upstream; proxy_read_timeout 1y; proxy_request_buffering off; proxy_pass https://u; } } }\n",
	"worker_processes many;\nworker_rlimit_nofile lots;\nevents { worker_connections x; }\nhttp { upstream u { ip_hash; server unix:/x.sock; server unix:; } server { listen unix:/y.sock proxy_protocol; return 500 \"\"; location / { return 408; grpc_pass grpcs://u; fastcgi_pass u; } } }\n",
	"-- a.conf --\nevents {}\nhttp { upstream b { server 127.0.0.1:9; keepalive 1; } server { listen 8; location / { proxy_next_upstream http_502; proxy_pass http://b; } } }\n-- b.conf --\nevents {}\nhttp { keepalive_timeout 0; keepalive_requests abc; server { listen 127.0.0.1:9 ssl; location / { proxy_pass http://$host; } } }\n",
	"-- a.conf --\nevents {}\nhttp { server { listen 9; location / { proxy_pass http://127.0.0.1:9; } } }\n",
	"events {}\nhttp { keepalive_timeout; keepalive_requests; keepalive_time; server { listen 80; } }\n",
	"events {}\nhttp { keepalive_timeout 1y 1M; keepalive_requests -1; keepalive_time abc; server { listen 80; } }\n",
	"events {}\nhttp { keepalive_timeout 99999999999999999999d 99999999999999999999; keepalive_requests 99999999999999999999999; server { listen 80; } }\n",
	"events {}\nhttp { keepalive_timeout 10s 5s 3s; server { listen 80; location / { keepalive_timeout 0 0; } } }\n",
	"events { worker_connections 0; }\nhttp { keepalive_timeout 2h; server { listen 80; } }\n",
	"events { worker_connections abc; }\nhttp { keepalive_requests 5000000; server { } }\n",
	"events {}\nhttp { upstream u { keepalive; keepalive_timeout; keepalive_requests x; keepalive_time; } server { location / { proxy_pass http://u; } } }\n",
	"events {}\nhttp { upstream u { server 127.0.0.1:1; keepalive 99999999999999999999 local extra; keepalive_timeout 2h; keepalive_requests 10000000; } " +
		"server { listen 1; location / { proxy_read_timeout x; proxy_pass http://u; } } }\n",
	"events {}\nhttp { upstream { } upstream u { server unix:; keepalive 1; } server { listen unix:/tmp/x.sock; http2_idle_timeout; http2_max_requests x; location { } } }\n",
	"keepalive_timeout 2h;\nupstream u { keepalive_timeout 2h; }\nserver { keepalive_timeout 0; }\n",
	"-- a.conf --\nevents {}\nhttp { upstream b { server 127.0.0.1:9; server 127.0.0.1:9 down; keepalive 4; keepalive_timeout 1d; } " +
		"server { listen 8; location / { proxy_pass http://b; proxy_read_timeout 1s; proxy_send_timeout 1s; } } }\n" +
		"-- b.conf --\nevents {}\nhttp { keepalive_timeout 0; keepalive_requests 0; keepalive_time 0; server { listen 9; location / { proxy_request_buffering off; proxy_read_timeout 1d; proxy_pass http://127.0.0.1:10; } } }\n",
}

// TestRobust runs every rule over the hostile configs (at the default
// target and at 1.14, 1.22 and 1.30) and over every test case of every
// rule in testdata (at the case's own target): no rule may fail or panic,
// and every finding has a file, a position and a message, whatever nginx
// would say about the config.
func TestRobust(t *testing.T) {
	cases := map[string]string{}
	for i, h := range hostile {
		cases["hostile"+string(rune('a'+i))] = h
		for _, v := range []string{"1.14", "1.22", "1.30"} {
			cases["hostile"+string(rune('a'+i))+"@"+v] = "# target: " + v + "\n" + h
		}
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "*", "*"))
	for _, f := range files {
		if !strings.HasSuffix(f, ".conf") && !strings.HasSuffix(f, ".txtar") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), "-- .ngxkeep.hcl --") {
			continue // options of other rules; the rule's own tests run these
		}
		cases[f] = string(b)
	}
	if len(cases) < 4*len(hostile)+20 {
		t.Fatalf("only %d cases found", len(cases))
	}
	all := All()
	for name, text := range cases {
		res := linttest.Lint(t, text, all...)
		for _, f := range res.Findings {
			if !f.Pos.IsValid() || f.File == "" || strings.TrimSpace(f.Message) == "" {
				t.Errorf("%s: malformed %s finding: %+v", name, f.Rule, f)
			}
		}
	}
}
