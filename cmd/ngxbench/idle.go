package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// idleSuite: RSS per idle keep-alive connection. Each run starts a fresh
// server, reads its RSS, opens --conns client connections that each make
// one request and stay open, reads the RSS again, and closes them.
func (b *bench) idleSuite() {
	s := b.res.suite("idle")
	n := b.o.conns
	if lim := nofile(); lim < uint64(n)+256 {
		s.skip("whole suite: open-files limit %d is below %d connections (raise the hard limit, or pass --conns)", lim, n)
		return
	}
	cas := fmt.Sprintf("%d idle", n)
	if n%1000 == 0 {
		cas = fmt.Sprintf("%dk idle", n/1000)
	}
	workerConns := n + 1024
	type side struct {
		tool  string
		start func(prefix string, port, stats int) (*proc, string, error)
		rss   func(p *proc) (int64, error)
	}
	sides := []side{{
		tool: "ngxkeep",
		start: func(prefix string, port, stats int) (*proc, string, error) {
			p, statsAddr, err := b.startOurs("ngxkeep", prefix, nginxReturnConf(prefix, port, 0, workerConns), hclReturn(port, workerConns), fmt.Sprintf("127.0.0.1:%d", stats))
			return p, b.pprofAddr(statsAddr), err
		},
		// `ngxkeep run` and the serve child are one process each.
		rss: func(p *proc) (int64, error) { return vmRSS(p.pid()) },
	}}
	if _, why := lookTool("nginx"); why != "" {
		s.skip("nginx: %s", why)
	} else {
		sides = append(sides, side{
			tool: "nginx",
			start: func(prefix string, port, _ int) (*proc, string, error) {
				p, err := b.startNginx("nginx", prefix, nginxReturnConf(prefix, port, 0, workerConns))
				return p, "", err
			},
			rss: func(p *proc) (int64, error) {
				rss, procs, err := treeRSS(p.pid())
				if err == nil && procs < 3 {
					err = fmt.Errorf("nginx has %d processes, want master and 2 workers", procs)
				}
				return rss, err
			},
		})
	}
	s.note("each run starts a fresh server (2 workers, worker_connections %d, keepalive_timeout 75s), reads its RSS (VmRSS; nginx: master + workers), opens %d connections that each make one request and stay idle, waits 1s, reads the RSS again; per connection = difference / %d", workerConns, n, n)
	failures := map[string]int{}
	for i := 0; i < b.o.runs && b.ctx.Err() == nil; i++ {
		for k := range sides {
			sd := sides[(i+k)%len(sides)]
			if failures[sd.tool] >= 2 {
				continue // a tool that failed twice is not retried
			}
			if err := b.idleRun(s, cas, sd.tool, n, i == b.o.runs-1, sd.start, sd.rss); err != nil {
				s.skip("%s: run %d not counted: %v", sd.tool, i+1, err)
				failures[sd.tool]++
			}
		}
	}
	s.target(Target{Name: "RSS per idle connection ngxkeep / nginx", Num: cas + "/ngxkeep/RSS per conn", Den: cas + "/nginx/RSS per conn", Op: "<=", Limit: 2.0})
}

func (b *bench) idleRun(s *Suite, cas, tool string, n int, last bool,
	start func(prefix string, port, stats int) (*proc, string, error), rss func(*proc) (int64, error)) error {
	ports, err := freePorts(2)
	if err != nil {
		return err
	}
	prefix := b.dir("idle-" + tool)
	p, stats, err := start(prefix, ports[0], ports[1])
	if err != nil {
		return err
	}
	defer p.stop()
	addr := fmt.Sprintf("127.0.0.1:%d", ports[0])
	if err := waitHTTP(p, addr, "/", 15*time.Second); err != nil {
		return err
	}
	time.Sleep(500 * time.Millisecond)
	base, err := rss(p)
	if err != nil {
		return err
	}
	conns, failed, first, err := openIdle(addr, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	if err != nil {
		return err
	}
	if failed > 0 {
		s.note("%s, run: %d of %d connections got no response within 10s and were dropped; per connection divides by the %d open ones (first error: %v)", tool, failed, n, len(conns), first)
	}
	time.Sleep(time.Second)
	if p.exited() {
		return fmt.Errorf("server exited with the connections open: %v\n%s", p.err, p.tail())
	}
	loaded, err := rss(p)
	if err != nil {
		return err
	}
	if b.o.profile != "" && stats != "" && last {
		path := filepath.Join(b.o.profile, profileName(cas, tool)+".heap.pprof")
		if err := fetch(stats, "/debug/pprof/heap", path, 30*time.Second); err != nil {
			b.logf("idle: heap profile: %v", err)
		}
		// The text form ends with runtime.MemStats (stacks, GC goal).
		if err := fetch(stats, "/debug/pprof/heap?debug=1", strings.TrimSuffix(path, ".pprof")+".txt", 30*time.Second); err != nil {
			b.logf("idle: heap profile text: %v", err)
		}
	}
	per := float64(loaded-base) / float64(len(conns))
	b.logf("idle: %-8s base %6.1f MiB, with %d conns %6.1f MiB: %.2f KiB/conn", tool, mib(base), len(conns), mib(loaded), per/1024)
	s.add(cas, tool, "RSS per conn", "KiB", per/1024)
	s.add(cas, tool, "RSS before", "MiB", mib(base))
	s.add(cas, tool, "RSS with conns", "MiB", mib(loaded))
	return nil
}

func mib(v int64) float64 { return float64(v) / (1 << 20) }

var idleRequest = []byte("GET / HTTP/1.1\r\nHost: bench\r\n\r\n")

// openIdle opens n connections to addr; each sends one request and reads
// the whole response ("ok", Content-Length 2), then stays open. A
// connection without a response within 10s is dropped and counted; more
// than 1% of them is an error.
func openIdle(addr string, n int) (conns []net.Conn, failed int, first, err error) {
	all := make([]net.Conn, n)
	var next atomic.Int64
	var nfailed atomic.Int64
	var firstErr error
	var mu sync.Mutex
	var wg sync.WaitGroup
	limit := int64(n / 100)
	for w := 0; w < 32; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			br := bufio.NewReaderSize(nil, 512)
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				c, err := oneRequest(addr, br, time.Now().Add(10*time.Second))
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("connection %d: %v", i, err)
					}
					mu.Unlock()
					if nfailed.Add(1) > limit {
						next.Store(int64(n)) // stop the others
						return
					}
					continue
				}
				all[i] = c
			}
		}()
	}
	wg.Wait()
	for _, c := range all {
		if c != nil {
			conns = append(conns, c)
		}
	}
	failed = int(nfailed.Load())
	if int64(failed) > limit {
		return conns, failed, firstErr, fmt.Errorf("%d connections failed (more than 1%%); first: %v", failed, firstErr)
	}
	return conns, failed, firstErr, nil
}

func oneRequest(addr string, br *bufio.Reader, deadline time.Time) (net.Conn, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	c.SetDeadline(deadline)
	if _, err := c.Write(idleRequest); err != nil {
		c.Close()
		return nil, err
	}
	br.Reset(c)
	status, err := br.ReadSlice('\n')
	if err != nil {
		c.Close()
		return nil, err
	}
	if !bytes.HasPrefix(status, []byte("HTTP/1.1 200")) {
		c.Close()
		return nil, fmt.Errorf("status line %q", status)
	}
	length := -1
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			c.Close()
			return nil, err
		}
		if len(bytes.TrimSpace(line)) == 0 {
			break
		}
		if v, ok := bytes.CutPrefix(bytes.ToLower(line), []byte("content-length:")); ok {
			fmt.Sscanf(string(bytes.TrimSpace(v)), "%d", &length)
		}
		if bytes.EqualFold(bytes.TrimSpace(line), []byte("Connection: close")) {
			c.Close()
			return nil, fmt.Errorf("server closes the connection after the request")
		}
	}
	if length < 0 {
		c.Close()
		return nil, fmt.Errorf("response without Content-Length")
	}
	if _, err := io.CopyN(io.Discard, br, int64(length)); err != nil {
		c.Close()
		return nil, err
	}
	if br.Buffered() > 0 {
		c.Close()
		return nil, fmt.Errorf("%d unexpected bytes after the response", br.Buffered())
	}
	c.SetDeadline(time.Time{})
	return c, nil
}
