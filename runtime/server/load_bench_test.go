//go:build unix

package server

import (
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// BenchmarkReturn200Load drives "return 200" from 64 keep-alive client
// connections at once, as wrk -c64 does, and reports the process CPU time
// per request (cpu-ns/op: server and client loops together, so only its
// differences between two versions of the server mean something). Under
// load the wall time per request says little on a shared machine; the CPU
// time is what the server saves.
func BenchmarkReturn200Load(b *testing.B) {
	s := startBench(b, instHCL("  worker_processes = 2\n", server(loc("prefix", "/", "      keepalive_requests = 1000000000\n"+ret(200, "ok")))))
	addr := s.Addr("127.0.0.1:0").String()
	req := []byte("GET / HTTP/1.1\r\nHost: localhost\r\nUser-Agent: wrk\r\nAccept: */*\r\n\r\n")
	const conns = 64
	cs := make([]net.Conn, conns)
	size := 0
	for i := range cs {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		cs[i] = c
		c.Write(req)
		size = readFixed(b, c, 0)
	}
	var left atomic.Int64
	left.Store(int64(b.N))
	var wg sync.WaitGroup
	b.ReportAllocs()
	start := cpuTime()
	b.ResetTimer()
	for _, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, size)
			for left.Add(-1) >= 0 {
				c.Write(req)
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				if readFixed(b, c, size, buf...) != size {
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

// readFixed reads one response of size bytes (size 0: one response whose
// head and 2-byte body come in one read) and returns its size.
func readFixed(b *testing.B, c net.Conn, size int, buf ...byte) int {
	if size == 0 {
		p := make([]byte, 4096)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := c.Read(p)
		if err != nil {
			b.Fatal(err)
		}
		return n
	}
	got := 0
	for got < size {
		n, err := c.Read(buf[got:size])
		if err != nil {
			b.Error(err)
			return got
		}
		got += n
	}
	return got
}

// cpuTime is the process's CPU time (user and system) in ns.
func cpuTime() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}
