package server

import (
	"bufio"
	"context"
	"net"
	"testing"
	"time"

	"github.com/ngxkeep/ngxkeep/runtime/config"
)

// BenchmarkReturn200 measures the whole request cycle of a keep-alive
// connection ("return 200") over loopback, one request at a time.
func BenchmarkReturn200(b *testing.B) {
	s := startBench(b, instHCL("", server(loc("prefix", "/", "      keepalive_requests = 1000000000\n"+ret(200, "ok")))))
	c, err := net.Dial("tcp", s.Addr("127.0.0.1:0").String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	req := []byte("GET / HTTP/1.1\r\nHost: localhost\r\nUser-Agent: wrk\r\nAccept: */*\r\n\r\n")
	br := bufio.NewReader(c)
	// Response: fixed size; read it whole.
	c.Write(req)
	first := readResp(b, br)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.Write(req)
		c.SetReadDeadline(time.Now().Add(time.Second))
		if _, err := br.Discard(first); err != nil {
			b.Fatal(err)
		}
	}
}

func readResp(b *testing.B, br *bufio.Reader) int {
	n := 0
	for {
		l, err := br.ReadString('\n')
		if err != nil {
			b.Fatal(err)
		}
		n += len(l)
		if l == "\r\n" {
			break
		}
	}
	body := make([]byte, 2)
	br.Read(body)
	return n + 2
}

// startBench starts a server from HCL source for a benchmark and shuts it
// down when the benchmark ends.
func startBench(b *testing.B, src string) *Instance {
	b.Helper()
	cfg, diags := config.Decode("bench.hcl", []byte(src))
	if diags.HasErrors() {
		b.Fatal(diags)
	}
	s, err := New(cfg.Instances[0], Options{})
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Shutdown(context.Background()) })
	return s
}
