package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// scriptCmds are the custom commands of the scripts that run servers
// (run_*.txtar). Every one is bounded in time.
//
//	freeport VAR...              set each VAR to a free 127.0.0.1 port
//	envsubst FILE...             replace $VAR and ${VAR} in the files
//	http [-want RE] HOSTPORT PATH...
//	                             send GET PATH for each PATH on one connection
//	                             (POST:N:PATH sends a POST with an N-byte body)
//	                             (retrying the connect for up to 10s) and print
//	                             each response's status line, Connection
//	                             header and body; with -want, repeat the whole
//	                             exchange until the output matches RE (10s)
//	signal PIDFILE SIG           send SIG (HUP, QUIT, TERM, INT) to the PID in
//	                             PIDFILE, waiting up to 10s for the file; after
//	                             a stop signal the process gets 15s to exit
//	                             before it is killed (so "wait" is bounded)
var scriptCmds = map[string]func(ts *testscript.TestScript, neg bool, args []string){
	"freeport": cmdFreeport,
	"envsubst": cmdEnvsubst,
	"http":     cmdHTTP,
	"signal":   cmdSignal,
}

const scriptWait = 10 * time.Second

func cmdFreeport(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: freeport VAR...")
	}
	for _, v := range args {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		ts.Check(err)
		ts.Setenv(v, strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
		ln.Close()
	}
}

func cmdEnvsubst(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: envsubst FILE...")
	}
	for _, f := range args {
		data := ts.ReadFile(f)
		out := os.Expand(data, func(name string) string {
			if v := ts.Getenv(name); v != "" {
				return v
			}
			return "$" + name // nginx variables stay
		})
		ts.Check(os.WriteFile(ts.MkAbs(f), []byte(out), 0o644))
	}
}

func cmdHTTP(ts *testscript.TestScript, neg bool, args []string) {
	var want *regexp.Regexp
	if len(args) >= 2 && args[0] == "-want" {
		want = regexp.MustCompile(args[1])
		args = args[2:]
	}
	if neg || len(args) < 2 {
		ts.Fatalf("usage: http [-want RE] HOSTPORT PATH...")
	}
	deadline := time.Now().Add(scriptWait)
	for {
		out, err := exchange(args[0], args[1:], deadline)
		if err == nil && (want == nil || want.MatchString(out)) {
			ts.Stdout().Write([]byte(out))
			return
		}
		if time.Now().After(deadline) {
			if err != nil {
				ts.Fatalf("http %s: %v", args[0], err)
			}
			ts.Fatalf("http %s: no response matched %q in %v; last:\n%s", args[0], want, scriptWait, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// exchange sends the requests on one connection and renders the answers.
func exchange(addr string, paths []string, deadline time.Time) (string, error) {
	var c net.Conn
	var err error
	for {
		c, err = net.DialTimeout("tcp", addr, time.Second)
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	var b strings.Builder
	for _, p := range paths {
		req := fmt.Sprintf("GET %s HTTP/1.1\r\nHost: test\r\n\r\n", p)
		if rest, ok := strings.CutPrefix(p, "POST:"); ok {
			size, path, _ := strings.Cut(rest, ":")
			n, err := strconv.Atoi(size)
			if err != nil {
				return "", fmt.Errorf("bad request %q", p)
			}
			req = fmt.Sprintf("POST %s HTTP/1.1\r\nHost: test\r\nContent-Length: %d\r\n\r\n%s", path, n, strings.Repeat("x", n))
		}
		if _, err := io.WriteString(c, req); err != nil {
			return b.String(), err
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return b.String(), err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return b.String(), err
		}
		conn := resp.Header.Get("Connection")
		if resp.Close {
			conn = "close" // ReadResponse removes the header it acted on
		}
		fmt.Fprintf(&b, "%s %s\nConnection: %s\n%s", resp.Proto, resp.Status, conn, body)
		if resp.Close {
			break
		}
	}
	return b.String(), nil
}

func cmdSignal(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: signal PIDFILE SIG")
	}
	sigs := map[string]syscall.Signal{"HUP": syscall.SIGHUP, "QUIT": syscall.SIGQUIT, "TERM": syscall.SIGTERM, "INT": syscall.SIGINT}
	sig, ok := sigs[args[1]]
	if !ok {
		ts.Fatalf("unknown signal %q", args[1])
	}
	deadline := time.Now().Add(scriptWait)
	for {
		data, err := os.ReadFile(ts.MkAbs(args[0]))
		if err == nil {
			pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
			if err == nil && pid > 0 {
				ts.Check(syscall.Kill(pid, sig))
				if sig != syscall.SIGHUP {
					go watchdog(pid, 15*time.Second)
				}
				return
			}
		}
		if time.Now().After(deadline) {
			ts.Fatalf("no PID in %s after %v", args[0], scriptWait)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// watchdog kills pid if it is still alive after d.
func watchdog(pid int, d time.Duration) {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if syscall.Kill(pid, 0) != nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	syscall.Kill(pid, syscall.SIGKILL)
}
