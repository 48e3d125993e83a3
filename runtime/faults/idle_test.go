//go:build faults

package faults

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// child is a server process started from this test binary.
type child struct {
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Reader
	addr string
}

func startChild(t *testing.T, hcl string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+hcl)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	outPipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, in: in, out: bufio.NewReader(outPipe)}
	t.Cleanup(func() {
		c.in.Close()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill() // by PID
			<-done
		}
	})
	line, err := c.out.ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "ready ")
	if err != nil || !ok {
		t.Fatalf("child: %q %v", line, err)
	}
	c.addr = addr
	return c
}

func (c *child) ask(t *testing.T, cmd string) childStats {
	t.Helper()
	fmt.Fprintln(c.in, cmd)
	line, err := c.out.ReadString('\n')
	var st childStats
	if err == nil {
		err = json.Unmarshal([]byte(line), &st)
	}
	if err != nil {
		t.Fatalf("child %s: %q %v", cmd, line, err)
	}
	return st
}

// TestTenThousandIdleConnections holds 10,000 keep-alive connections,
// each after one request, open against a server process and measures its
// heap, goroutines, descriptors and RSS before, during and after.
func TestTenThousandIdleConnections(t *testing.T) {
	const n = 10000
	c := startChild(t, `instance "idle" {
  version            = "1.22.1"
  worker_processes   = 1
  worker_connections = 12000
  server {
    listen {
      address = "LISTEN"
    }
    location {
      match             = "prefix"
      path              = "/"
      keepalive_timeout = "120s"
      return {
        code = 200
        text = "ok\n"
      }
    }
  }
}
`)
	base := c.ask(t, "stats")
	t.Logf("baseline: heap %d KB, %d goroutines, %d fds, RSS %d MB", base.Heap>>10, base.Goroutines, base.FDs, base.RSS>>20)
	// Three rounds: the Go runtime keeps what the first one grew
	// (goroutine descriptors, timer and map space) for reuse; the later
	// ones must not grow it further.
	var after [3]childStats
	for round := range 3 {
		held := holdIdle(t, c, n)
		t.Logf("round %d, %d idle: heap %d MB, %d goroutines, %d fds, RSS %d MB; per connection: heap %d bytes, RSS %d bytes",
			round+1, n, held.Heap>>20, held.Goroutines, held.FDs, held.RSS>>20,
			(int64(held.Heap)-int64(base.Heap))/n, (held.RSS-base.RSS)/n)
		if got := held.FDs - base.FDs; got < n || got > n+10 {
			t.Errorf("%d descriptors for %d connections", got, n)
		}
		// A goroutine (8 KB stack at least) and small buffers per idle
		// connection are expected; 64 KB would be a leak.
		if pc := (held.RSS - base.RSS) / n; pc > 64<<10 && !raceEnabled {
			t.Errorf("%d bytes of RSS per idle connection", pc)
		}
		// Back to the baseline once the server saw the closes.
		deadline := time.Now().Add(10 * time.Second)
		for {
			after[round] = c.ask(t, "stats")
			if after[round].FDs <= base.FDs && after[round].Goroutines <= base.Goroutines || time.Now().After(deadline) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		a := after[round]
		t.Logf("round %d closed: heap %d KB, %d goroutines, %d fds", round+1, a.Heap>>10, a.Goroutines, a.FDs)
		if a.FDs != base.FDs || a.Goroutines != base.Goroutines {
			t.Errorf("after closing: %d fds, %d goroutines; baseline %d, %d", a.FDs, a.Goroutines, base.FDs, base.Goroutines)
		}
	}
	if os.Getenv("FAULTS_HEAPPROF") != "" {
		c.ask(t, "heapprof")
	}
	// What the runtime keeps for reuse after 10,000 connections is about
	// 6 to 14 MB; a leak of 800 bytes per connection would pass 24 MB over
	// the three rounds.
	for round, a := range after {
		if a.Heap > base.Heap+24<<20 {
			t.Errorf("heap %d KB after round %d, baseline %d KB: connections leak", a.Heap>>10, round+1, base.Heap>>10)
		}
	}
	final := c.ask(t, "quit")
	if final.Goroutines > 3 {
		t.Errorf("%d goroutines after shutdown", final.Goroutines)
	}
}

// holdIdle opens n connections, each making one request and then staying
// idle, asks the child for its stats and closes them.
func holdIdle(t *testing.T, c *child, n int) childStats {
	t.Helper()
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, cn := range conns {
			cn.Close()
		}
	}()
	buf := make([]byte, 512)
	for i := range n {
		cn, err := net.DialTimeout("tcp", c.addr, 5*time.Second)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		conns = append(conns, cn)
		io.WriteString(cn, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
		cn.SetReadDeadline(time.Now().Add(5 * time.Second))
		k, err := cn.Read(buf)
		if err != nil || !strings.HasPrefix(string(buf[:k]), "HTTP/1.1 200") {
			t.Fatalf("connection %d: %q %v", i, buf[:k], err)
		}
	}
	return c.ask(t, "stats")
}
