package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// loadTarget is one server or proxy chain loaded with wrk.
type loadTarget struct {
	tool string
	addr string // host:port wrk loads
	// accepted, when set, reads the backend's accepted-connection counter;
	// queryCost is how many connections one reading adds to it.
	accepted  func() (int64, error)
	queryCost int64
	// pid is the process whose CPU time is measured (with its children):
	// the server, or the proxy chain's frontend.
	pid int
	// pprof is the address of our in-process server's /debug/pprof/, for
	// --profile.
	pprof string
}

// loadRuns measures every target --runs times with wrk, rotating the
// order each run so that no tool always runs first or last; each measured
// run follows its own warm-up.
func (b *bench) loadRuns(s *Suite, cas, cpuLabel, wrk string, ts []loadTarget) {
	errNoted := map[string]bool{}
	for i := 0; i < b.o.runs && b.ctx.Err() == nil; i++ {
		for k := range ts {
			t := ts[(i+k)%len(ts)]
			url := "http://" + t.addr + "/"
			if _, err := b.runWrk(wrk, url, b.o.warmup, false); err != nil {
				b.logf("%s: %s warm-up: %v", cas, t.tool, err)
				continue
			}
			var before int64
			var counted bool
			if t.accepted != nil {
				v, err := t.accepted()
				before, counted = v, err == nil
			}
			var prof chan error
			if b.o.profile != "" && t.pprof != "" && i == b.o.runs-1 {
				prof = make(chan error, 1)
				path := filepath.Join(b.o.profile, profileName(cas, t.tool)+".cpu.pprof")
				secs := max(int(b.o.duration/time.Second)-1, 1)
				go func() {
					prof <- fetch(t.pprof, "/debug/pprof/profile?seconds="+strconv.Itoa(secs), path, time.Duration(secs+10)*time.Second)
				}()
			}
			cpu0, cpuErr := cpuTime(t.pid)
			r, err := b.runWrk(wrk, url, b.o.duration, true)
			cpu1, cpuErr1 := cpuTime(t.pid)
			if prof != nil {
				if perr := <-prof; perr != nil {
					b.logf("%s: %s: CPU profile: %v", cas, t.tool, perr)
				}
			}
			if err != nil {
				b.logf("%s: %s run %d: %v", cas, t.tool, i+1, err)
				continue
			}
			b.logf("%s: %-18s run %d: %8.0f req/s  p50 %-9s p99 %-9s load %.1f", cas, t.tool, i+1, r.RPS, r.P50, r.P99, load1())
			if r.Errors != "" && !errNoted[t.tool] {
				errNoted[t.tool] = true
				s.note("%s, %s: wrk reported %s (first run with errors: %d)", cas, t.tool, r.Errors, i+1)
			}
			s.add(cas, t.tool, "req/s", "req/s", r.RPS)
			s.add(cas, t.tool, "p50", "ms", float64(r.P50)/float64(time.Millisecond))
			s.add(cas, t.tool, "p99", "ms", float64(r.P99)/float64(time.Millisecond))
			if t.pid != 0 && cpuErr == nil && cpuErr1 == nil && r.Requests > 0 {
				cpu := cpu1 - cpu0
				s.add(cas, t.tool, cpuLabel+" CPU per 1k req", "ms", float64(cpu)/float64(time.Millisecond)*1000/float64(r.Requests))
				s.add(cas, t.tool, cpuLabel+" CPU used", "cores", cpu.Seconds()/b.o.duration.Seconds())
			}
			if counted && r.Requests > 0 {
				after, err := t.accepted()
				if err == nil {
					opened := after - before - t.queryCost
					s.add(cas, t.tool, "upstream conns opened", "per 1k req", float64(opened)*1000/float64(r.Requests))
				}
			}
		}
	}
}

func profileName(parts ...string) string {
	r := strings.NewReplacer(" ", "_", "/", "_", "→", "to", ">", "")
	var out []string
	for _, p := range parts {
		out = append(out, r.Replace(p))
	}
	return strings.Join(out, "-")
}

// fetch GETs path from addr into file.
func fetch(addr, path, file string, timeout time.Duration) error {
	cl := &http.Client{Timeout: timeout}
	resp, err := cl.Get("http://" + addr + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// stubAccepts reads the "accepts" counter of nginx's stub_status page.
func stubAccepts(addr string) (int64, error) {
	code, body, err := httpGet(addr, "/", 2*time.Second)
	if err != nil {
		return 0, err
	}
	if code != 200 {
		return 0, fmt.Errorf("stub_status: status %d", code)
	}
	return parseStubAccepts(body)
}

// parseStubAccepts reads "accepts" from a stub_status page:
//
//	Active connections: 1
//	server accepts handled requests
//	 10 10 12
//	Reading: 0 Writing: 1 Waiting: 0
func parseStubAccepts(body string) (int64, error) {
	lines := strings.Split(body, "\n")
	for i, l := range lines {
		if strings.Contains(l, "accepts") && i+1 < len(lines) {
			f := strings.Fields(lines[i+1])
			if len(f) >= 1 {
				return strconv.ParseInt(f[0], 10, 64)
			}
		}
	}
	return 0, fmt.Errorf("stub_status: no accepts in %q", body)
}

// oursAccepted reads the accepted-connection counter of our server: the
// serve child's "accepted", or the sum of "connections" over the listeners
// of `ngxkeep run --admin`.
func oursAccepted(addr string) (int64, error) {
	code, body, err := httpGet(addr, "/stats", 2*time.Second)
	if err != nil {
		return 0, err
	}
	if code != 200 {
		return 0, fmt.Errorf("stats: status %d", code)
	}
	var st struct {
		serveStats
		Listeners []struct {
			Connections uint64 `json:"connections"`
		} `json:"listeners"`
	}
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		return 0, err
	}
	n := st.Accepted
	for _, l := range st.Listeners {
		n += l.Connections
	}
	return int64(n), nil
}

// serverSuite: ngxkeep vs nginx answering `return 200 "ok"`.
func (b *bench) serverSuite() {
	s := b.res.suite("server")
	wrk, why := lookTool("wrk")
	if wrk == "" {
		s.skip("whole suite: %s", why)
		return
	}
	var ts []loadTarget
	var started []*proc
	defer func() {
		for _, p := range started {
			p.stop()
		}
	}()
	ports, err := freePorts(3)
	if err != nil {
		s.skip("whole suite: %v", err)
		return
	}
	{
		prefix := b.dir("server-ours")
		addr := fmt.Sprintf("127.0.0.1:%d", ports[0])
		p, stats, err := b.startOurs("ngxkeep", prefix, nginxReturnConf(prefix, ports[0], 0, 4096), hclReturn(ports[0], 4096), fmt.Sprintf("127.0.0.1:%d", ports[2]))
		if err == nil {
			started = append(started, p)
			err = waitHTTP(p, addr, "/", 15*time.Second)
		}
		if err != nil {
			s.skip("ngxkeep: %v", err)
		} else {
			ts = append(ts, loadTarget{tool: "ngxkeep", addr: addr, pid: p.pid(), pprof: b.pprofAddr(stats)})
		}
	}
	if _, why := lookTool("nginx"); why != "" {
		s.skip("nginx: %s", why)
	} else {
		prefix := b.dir("server-nginx")
		addr := fmt.Sprintf("127.0.0.1:%d", ports[1])
		p, err := b.startNginx("nginx", prefix, nginxReturnConf(prefix, ports[1], 0, 4096))
		if err == nil {
			started = append(started, p)
			err = waitHTTP(p, addr, "/", 15*time.Second)
		}
		if err != nil {
			s.skip("nginx: %v", err)
		} else {
			ts = append(ts, loadTarget{tool: "nginx", addr: addr, pid: p.pid()})
		}
	}
	if len(ts) == 0 {
		return
	}
	s.note("both answer `return 200 \"ok\"` with 2 workers, access_log off, nginx 1.22.1 keep-alive defaults (keepalive_timeout 75s, keepalive_requests 1000); ours runs as %s", b.oursDesc())
	s.note("load: wrk -t2 -c64 -d%s --latency, each measured run after a %s warm-up; wrk shares the 2 CPUs with the server", wrkSeconds(b.o.duration), wrkSeconds(b.o.warmup))
	b.loadRuns(s, "return 200", "server", wrk, ts)
	s.target(Target{Name: "req/s ngxkeep / nginx", Num: "return 200/ngxkeep/req/s", Den: "return 200/nginx/req/s", Op: ">=", Limit: 1.0})
	s.target(Target{Name: "p99 ngxkeep / nginx", Num: "return 200/ngxkeep/p99", Den: "return 200/nginx/p99", Op: "<=", Limit: 1.5})
	s.target(Target{Name: "p50 ngxkeep / nginx", Num: "return 200/ngxkeep/p50", Den: "return 200/nginx/p50"})
}

// pprofAddr is stats when our servers run in-process (with pprof).
func (b *bench) pprofAddr(stats string) string {
	if b.ours() == "inproc" {
		return stats
	}
	return ""
}

func (b *bench) oursDesc() string {
	if b.ours() == "run" {
		return "`ngxkeep run --log-level warn` on the same nginx.conf"
	}
	return "`ngxbench serve` (runtime/server with its proxy in a child process, on the equivalent HCL)"
}

// proxySuite: proxy chains with a keep-alive pool of 64 to the backend.
func (b *bench) proxySuite() {
	s := b.res.suite("proxy")
	wrk, why := lookTool("wrk")
	if wrk == "" {
		s.skip("whole suite: %s", why)
		return
	}
	var started []*proc
	defer func() {
		for _, p := range started {
			p.stop()
		}
	}()
	ports, err := freePorts(12)
	if err != nil {
		s.skip("whole suite: %v", err)
		return
	}
	next := func() int { p := ports[0]; ports = ports[1:]; return p }
	addrOf := func(port int) string { return fmt.Sprintf("127.0.0.1:%d", port) }
	lastPID := func() int { return started[len(started)-1].pid() }
	start := func(name string, startFn func() (*proc, error), addr string) bool {
		p, err := startFn()
		if err == nil {
			started = append(started, p)
			err = waitHTTP(p, addr, "/", 15*time.Second)
		}
		if err != nil {
			s.skip("%s: %v", name, err)
			return false
		}
		return true
	}

	// Backends.
	var nginxBE, oursBE int
	var nginxBEStatus, oursBEStats string
	if _, why := lookTool("nginx"); why != "" {
		s.skip("nginx backend and every chain in front of it: %s", why)
	} else {
		port, status := next(), next()
		prefix := b.dir("proxy-nginx-backend")
		if start("nginx backend", func() (*proc, error) {
			return b.startNginx("nginx backend", prefix, nginxReturnConf(prefix, port, status, 4096))
		}, addrOf(port)) {
			nginxBE, nginxBEStatus = port, addrOf(status)
		}
	}
	{
		port, stats := next(), next()
		prefix := b.dir("proxy-ours-backend")
		var statsAddr string
		if start("ngxkeep backend", func() (p *proc, err error) {
			p, statsAddr, err = b.startOurs("ngxkeep backend", prefix, nginxReturnConf(prefix, port, 0, 4096), hclReturn(port, 4096), addrOf(stats))
			return p, err
		}, addrOf(port)) {
			oursBE, oursBEStats = port, statsAddr
		}
	}

	// Frontends.
	var ts []loadTarget
	nginxCounter := func() (int64, error) { return stubAccepts(nginxBEStatus) }
	oursCounter := func() (int64, error) { return oursAccepted(oursBEStats) }
	if oursBE != 0 {
		port, stats := next(), next()
		prefix := b.dir("proxy-ours-ours")
		var statsAddr string
		if start("ngxkeep → ngxkeep", func() (p *proc, err error) {
			p, statsAddr, err = b.startOurs("ngxkeep frontend", prefix, nginxProxyConf(prefix, port, oursBE), hclProxy(port, oursBE), addrOf(stats))
			return p, err
		}, addrOf(port)) {
			t := loadTarget{tool: "ngxkeep → ngxkeep", addr: addrOf(port), pid: lastPID(), pprof: b.pprofAddr(statsAddr)}
			if oursBEStats != "" {
				t.accepted = oursCounter
			} else {
				s.skip("reuse ratio of ngxkeep → ngxkeep: this `ngxkeep run` has no --admin counters the driver can read")
			}
			ts = append(ts, t)
		}
	}
	if nginxBE != 0 {
		port := next()
		prefix := b.dir("proxy-nginx-nginx")
		if start("nginx → nginx", func() (*proc, error) {
			return b.startNginx("nginx frontend", prefix, nginxProxyConf(prefix, port, nginxBE))
		}, addrOf(port)) {
			ts = append(ts, loadTarget{tool: "nginx → nginx", addr: addrOf(port), pid: lastPID(), accepted: nginxCounter, queryCost: 1})
		}
		port, stats := next(), next()
		prefix = b.dir("proxy-ours-nginx")
		var statsAddr string
		if start("ngxkeep → nginx", func() (p *proc, err error) {
			p, statsAddr, err = b.startOurs("ngxkeep frontend (nginx backend)", prefix, nginxProxyConf(prefix, port, nginxBE), hclProxy(port, nginxBE), addrOf(stats))
			return p, err
		}, addrOf(port)) {
			ts = append(ts, loadTarget{tool: "ngxkeep → nginx", addr: addrOf(port), pid: lastPID(), accepted: nginxCounter, queryCost: 1, pprof: b.pprofAddr(statsAddr)})
		}
		if _, why := lookTool("haproxy"); why != "" {
			s.skip("HAProxy → nginx: %s", why)
		} else {
			port := next()
			prefix := b.dir("proxy-haproxy")
			if start("HAProxy → nginx", func() (*proc, error) {
				return b.startHAProxy("haproxy", prefix, haproxyConf(port, nginxBE))
			}, addrOf(port)) {
				ts = append(ts, loadTarget{tool: "HAProxy → nginx", addr: addrOf(port), pid: lastPID(), accepted: nginxCounter, queryCost: 1})
			}
		}
		if _, why := lookTool("caddy"); why != "" {
			s.skip("Caddy → nginx: %s", why)
		} else {
			port := next()
			prefix := b.dir("proxy-caddy")
			if start("Caddy → nginx", func() (*proc, error) {
				return b.startCaddy("caddy", prefix, caddyfile(port, nginxBE))
			}, addrOf(port)) {
				ts = append(ts, loadTarget{tool: "Caddy → nginx", addr: addrOf(port), pid: lastPID(), accepted: nginxCounter, queryCost: 1})
			}
		}
	}
	if len(ts) == 0 {
		return
	}
	s.note("frontends: 2 workers/threads; nginx and ngxkeep: upstream keepalive 64, proxy_http_version 1.1, proxy_set_header Connection \"\" (other settings at nginx 1.22.1 defaults); HAProxy 2 threads (nbthread 2), HTTP keep-alive both sides, http-reuse always; Caddy GOMAXPROCS=2, reverse_proxy with keepalive_idle_conns(_per_host) 64; backends: 2 workers answering `return 200 \"ok\"`, keepalive_requests 1000 (default)")
	s.note("ours runs as %s", b.oursDesc())
	s.note("upstream conns opened per 1k req = connections the backend accepted during the measured wrk run (nginx: stub_status accepts, minus the reading's own connection; ours: the accepted-connection counter of its /stats endpoint) × 1000 / requests wrk completed")
	b.loadRuns(s, "proxy", "frontend", wrk, ts)
	const c = "proxy/"
	s.target(Target{Name: "req/s ngxkeep→ngxkeep / nginx→nginx", Num: c + "ngxkeep → ngxkeep/req/s", Den: c + "nginx → nginx/req/s", Op: ">=", Limit: 1.0})
	s.target(Target{Name: "req/s ngxkeep→nginx / HAProxy→nginx", Num: c + "ngxkeep → nginx/req/s", Den: c + "HAProxy → nginx/req/s", Op: ">=", Limit: 1.0})
	s.target(Target{Name: "req/s ngxkeep→ngxkeep / HAProxy→nginx", Num: c + "ngxkeep → ngxkeep/req/s", Den: c + "HAProxy → nginx/req/s", Op: ">=", Limit: 1.0})
	s.target(Target{Name: "reuse: conns/1k req ngxkeep→ngxkeep / nginx→nginx", Num: c + "ngxkeep → ngxkeep/upstream conns opened", Den: c + "nginx → nginx/upstream conns opened", Op: "~=", Limit: 1.0, Tol: 0.25})
	s.target(Target{Name: "reuse: conns/1k req ngxkeep→nginx / nginx→nginx", Num: c + "ngxkeep → nginx/upstream conns opened", Den: c + "nginx → nginx/upstream conns opened", Op: "~=", Limit: 1.0, Tol: 0.25})
	s.target(Target{Name: "req/s ngxkeep→nginx / nginx→nginx", Num: c + "ngxkeep → nginx/req/s", Den: c + "nginx → nginx/req/s"})
	s.target(Target{Name: "p99 ngxkeep→ngxkeep / nginx→nginx", Num: c + "ngxkeep → ngxkeep/p99", Den: c + "nginx → nginx/p99"})
	s.target(Target{Name: "req/s HAProxy→nginx / nginx→nginx (reference ≈ 1.05)", Num: c + "HAProxy → nginx/req/s", Den: c + "nginx → nginx/req/s"})
	s.target(Target{Name: "req/s Caddy→nginx / nginx→nginx (reference ≈ 0.14)", Num: c + "Caddy → nginx/req/s", Den: c + "nginx → nginx/req/s"})
}
