package faults

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/ngxkeep/ngxkeep/runtime/config"
	"github.com/ngxkeep/ngxkeep/runtime/server"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
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
