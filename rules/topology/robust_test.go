package topology

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ngxkeep/ngxkeep/lint/linttest"
)

// hostile are configs nginx would reject or that stretch the shapes the
// rules read (missing arguments, junk values, unix and IPv6 addresses,
// cross-config links to nothing): the rules must neither fail nor panic.
var hostile = []string{
	"events {}\nhttp { upstream u { } server { location / { proxy_pass http://u; } } }\n",
	"events {}\nhttp { upstream u { server; keepalive; keepalive_timeout x; } server { location / { proxy_pass; return; proxy_pass http://u; } } }\n",
	"events {}\nhttp { upstream u { server 127.0.0.1:1 max_fails=x fail_timeout= max_conns=-1; server [::1]:2; keepalive abc; } server { listen [::]:80 ssl; location / { proxy_next_upstream; proxy_read_timeout 1y; proxy_request_buffering off; proxy_pass https://u; } } }\n",
	"worker_processes many;\nworker_rlimit_nofile lots;\nevents { worker_connections x; }\nhttp { upstream u { ip_hash; server unix:/x.sock; server unix:; } server { listen unix:/y.sock proxy_protocol; return 500 \"\"; location / { return 408; grpc_pass grpcs://u; fastcgi_pass u; } } }\n",
	"-- a.conf --\nevents {}\nhttp { upstream b { server 127.0.0.1:9; keepalive 1; } server { listen 8; location / { proxy_next_upstream http_502; proxy_pass http://b; } } }\n-- b.conf --\nevents {}\nhttp { keepalive_timeout 0; keepalive_requests abc; server { listen 127.0.0.1:9 ssl; location / { proxy_pass http://$host; } } }\n",
	"-- a.conf --\nevents {}\nhttp { server { listen 9; location / { proxy_pass http://127.0.0.1:9; } } }\n",
}

// TestRobust runs every rule of the package over the hostile configs and
// over every test case of every rule in ../testdata.
func TestRobust(t *testing.T) {
	cases := map[string]string{}
	for i, h := range hostile {
		cases["hostile"+string(rune('a'+i))] = h
	}
	files, _ := filepath.Glob(filepath.Join("..", "testdata", "*", "*"))
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
	if len(cases) < len(hostile)+20 {
		t.Fatalf("only %d cases found", len(cases))
	}
	for name, text := range cases {
		res := linttest.Lint(t, text, Analyzers...)
		for _, f := range res.Findings {
			if f.Message == "" || !f.Pos.IsValid() {
				t.Errorf("%s: %s finding without message or position: %+v", name, f.Rule, f)
			}
		}
	}
}
