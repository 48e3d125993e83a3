package faults

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ngxkeep/ngxkeep/runtime/config"
	"github.com/ngxkeep/ngxkeep/runtime/server"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(serveChild())
	}
	goleak.VerifyTestMain(m)
}

// childEnv holds, in a child process started by startChild, the HCL
// configuration the child serves.
const childEnv = "FAULTS_CHILD_CONFIG"

// childStats is what a child reports of itself.
type childStats struct {
	Heap       uint64 // live heap after GC
	Goroutines int
	FDs        int
	RSS        int64 // resident set, bytes
}

func selfStats() childStats {
	// Twice: sync.Pool contents survive one collection.
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	st := childStats{Heap: m.HeapAlloc, Goroutines: runtime.NumGoroutine(), FDs: fdCount()}
	if data, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
				st.RSS = kb << 10
			}
		}
	}
	return st
}

// serveChild runs the configuration of childEnv on a socket of its own,
// prints "ready ADDR", then answers each "stats" line on standard input
// with a JSON childStats line, and "quit" with a graceful shutdown and a
// last stats line.
func serveChild() int {
	if os.Getenv("FAULTS_HEAPPROF") != "" {
		runtime.MemProfileRate = 512
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	addr := ln.Addr().String()
	cfg, diags := config.Decode("child.hcl", []byte(strings.ReplaceAll(os.Getenv(childEnv), "LISTEN", addr)))
	if diags.HasErrors() {
		fmt.Println("error", diags)
		return 1
	}
	s, err := server.New(cfg.Instances[0], server.Options{
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
		Listeners: map[string]*net.TCPListener{addr: ln.(*net.TCPListener)},
	})
	if err == nil {
		err = s.Start()
	}
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	fmt.Println("ready", addr)
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		switch sc.Text() {
		case "stats":
		case "heapprof":
			if f, err := os.Create(os.Getenv("FAULTS_HEAPPROF")); err == nil {
				runtime.GC()
				pprof.WriteHeapProfile(f)
				f.Close()
			}
		case "quit":
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			s.Shutdown(ctx)
			cancel()
		default:
			continue
		}
		out, _ := json.Marshal(selfStats())
		fmt.Println(string(out))
		if sc.Text() == "quit" {
			return 0
		}
	}
	return 0
}

// instance is a runtime/server instance on a loopback port of its own,
// configured from HCL with {{listen}} standing for that port.
type instance struct {
	*server.Instance
	addr string
	src  string
}

// startInstance runs the HCL configuration src, where LISTEN is replaced
// by the address of a loopback socket opened here (kept across reloads).
func startInstance(t testing.TB, src string) *instance {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	src = strings.ReplaceAll(src, "LISTEN", addr)
	cfg := decode(t, src)
	s, err := server.New(cfg, server.Options{
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
		Listeners: map[string]*net.TCPListener{addr: ln.(*net.TCPListener)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	return &instance{Instance: s, addr: addr, src: src}
}

func decode(t testing.TB, src string) *config.Instance {
	t.Helper()
	cfg, diags := config.Decode("faults.hcl", []byte(src))
	if diags.HasErrors() {
		t.Fatalf("config: %v\n%s", diags, src)
	}
	if diags := cfg.Validate(); diags.HasErrors() {
		t.Fatalf("config: %v", diags)
	}
	return cfg.Instances[0]
}

// reload reloads the instance with its own configuration (SIGHUP).
func (s *instance) reload(t testing.TB) {
	t.Helper()
	if err := s.Reload(decode(t, s.src)); err != nil {
		t.Errorf("reload: %v", err)
	}
}

func (s *instance) stop(t testing.TB) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Errorf("shutdown: %v", err)
	}
}

// proxyHCL is a proxy in front of the backends, nginx 1.22 semantics:
// keepalive pool, HTTP/1.1 with Connection cleared, next_upstream
// "error timeout" (the default), no retry of non-idempotent requests.
func proxyHCL(backends ...*backend) string {
	var servers strings.Builder
	for _, b := range backends {
		fmt.Fprintf(&servers, "    server %q {\n      max_fails = 0\n    }\n", b.addr)
	}
	return fmt.Sprintf(`instance "faults" {
  version            = "1.22.1"
  worker_processes   = 2
  worker_connections = 1024
  upstream "be" {
%s    keepalive {
      connections = 16
      enabled     = true
    }
  }
  server {
    listen {
      address = "LISTEN"
    }
    location {
      match             = "prefix"
      path              = "/"
      keepalive_timeout = "30s"
      proxy {
        pass            = "http://be"
        http_version    = "1.1"
        connect_timeout = "1s"
        read_timeout    = "3s"
        set_header "Connection" {
          value = ""
        }
      }
    }
  }
}
`, servers.String())
}
