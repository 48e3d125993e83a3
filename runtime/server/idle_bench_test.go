package server

import (
	"bufio"
	"net"
	"testing"
	"time"
)

// BenchmarkIdleRequest measures a request on a keep-alive connection that
// waited idle longer than its grace before it (parked on Linux): 2048
// connections are served round-robin, one request at a time, so that each
// waits longer than maxIdleGrace (at ~40 us a request) between two.
func BenchmarkIdleRequest(b *testing.B) {
	s := startBench(b, instHCL("  worker_connections = 4096\n", server(loc("prefix", "/", "      keepalive_requests = 1000000000\n"+ret(200, "ok")))))
	req := []byte("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
	const n = 2048
	conns := make([]net.Conn, n)
	brs := make([]*bufio.Reader, n)
	size := 0
	for i := range conns {
		c, err := net.Dial("tcp", s.Addr("127.0.0.1:0").String())
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		conns[i], brs[i] = c, bufio.NewReader(c)
		c.Write(req)
		size = readResp(b, brs[i])
	}
	time.Sleep(2 * maxIdleGrace)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c := conns[i%n]
		c.Write(req)
		c.SetReadDeadline(time.Now().Add(time.Second))
		if _, err := brs[i%n].Discard(size); err != nil {
			b.Fatal(err)
		}
	}
}
