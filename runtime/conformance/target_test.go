package conformance

import (
	"os"
	"path/filepath"
	"testing"
)

// fakeNgxkeep is an "ngxkeep" that runs real nginx on the config it is
// given: it exercises the ngxkeep target's plumbing (availability check,
// arguments, readiness, reload and stop by PID) with a runtime known to be
// identical to nginx.
const fakeNgxkeep = `#!/bin/sh
set -e
if [ "$1" = run ] && [ "$2" = --help ]; then exit 0; fi
[ "$1" = run ] && [ "$2" = --nginx-version ] && [ "$3" = 1.22 ] || { echo "usage: run --nginx-version 1.22 CONF" >&2; exit 2; }
conf=$4
p=$(dirname "$conf")/fake-$(basename "$conf" .conf)
mkdir -p "$p/logs"
user=""
[ "$(id -u)" = 0 ] && user="user root;"
exec "$NGINX" -p "$p/" -e "$p/error.log" -c "$conf" -g "daemon off; master_process on; pid $p/nginx.pid; error_log $p/error.log info; $user"
`

func TestNgxkeepTargetPlumbing(t *testing.T) {
	if nginxTarget == nil {
		t.Skipf("nginx not available: %s", nginxWhy)
	}
	bin := filepath.Join(t.TempDir(), "ngxkeep")
	if err := os.WriteFile(bin, []byte(fakeNgxkeep), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("NGINX", nginxTarget.(NginxTarget).Binary)
	if err := CheckNgxkeepRun(bin); err != nil {
		t.Fatalf("availability check: %v", err)
	}
	if err := CheckNgxkeepRun("/bin/false"); err == nil {
		t.Errorf("a binary whose \"run --help\" fails was reported available")
	}
	target := NgxkeepTarget{Binary: bin, NginxVersion: "1.22"}
	for _, name := range []string{"client-keepalive-requests", "error-return-444-reset", "shutdown-reload-idle", "shutdown-graceful-idle"} {
		data, err := os.ReadFile(filepath.Join(scenarioDir, name+".txtar"))
		if err != nil {
			t.Fatal(err)
		}
		sc, err := Parse(name+".txtar", data)
		if err != nil {
			t.Fatal(err)
		}
		tr, err := Run(sc, target, t.TempDir())
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !Equal(sc.Want, tr.Obs) {
			t.Errorf("%s through the ngxkeep target differs:\n%s\n%s", name, SideBySide(sc, "expected", sc.Want, "ngxkeep", tr.Obs), tr.Logs)
		}
	}
}
