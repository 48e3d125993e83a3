package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is a long-running process ngxbench started (a server under test).
// It runs in its own process group so that a last-resort SIGKILL reaches
// the workers nginx forks, and is always signalled by its PID.
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	err  error
	logs []string
}

// registry tracks every running proc so that a signal or a panic path can
// stop them all.
type registry struct {
	mu    sync.Mutex
	procs map[*proc]bool
}

var procs = &registry{procs: map[*proc]bool{}}

// start launches cmd as a server process; stdout and stderr go to
// logPath.
func (r *registry) start(name string, cmd *exec.Cmd, logPath string, extraLogs ...string) (*proc, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, done: make(chan struct{}), logs: append([]string{logPath}, extraLogs...)}
	r.mu.Lock()
	r.procs[p] = true
	r.mu.Unlock()
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop ends the process: SIGTERM to its PID (nginx: fast shutdown; ours:
// drain), then SIGKILL to the process group it leads after 5 s.
func (p *proc) stop() {
	if p == nil {
		return
	}
	if !p.exited() {
		syscall.Kill(p.pid(), syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			syscall.Kill(-p.pid(), syscall.SIGKILL)
			<-p.done
		}
	}
	procs.mu.Lock()
	delete(procs.procs, p)
	procs.mu.Unlock()
}

// stopAll stops every process still registered.
func (r *registry) stopAll() {
	r.mu.Lock()
	var ps []*proc
	for p := range r.procs {
		ps = append(ps, p)
	}
	r.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range ps {
		wg.Add(1)
		go func() { defer wg.Done(); p.stop() }()
	}
	wg.Wait()
}

// tail returns the last lines of the process's logs, for error messages.
func (p *proc) tail() string {
	var b strings.Builder
	for _, f := range p.logs {
		data, _ := os.ReadFile(f)
		data = bytes.TrimSpace(data)
		if len(data) > 1500 {
			data = data[len(data)-1500:]
		}
		if len(data) > 0 {
			fmt.Fprintf(&b, "[%s] %s\n", filepath.Base(f), data)
		}
	}
	return strings.TrimSpace(b.String())
}

// timed is the outcome of one short-lived process run.
type timed struct {
	wall   time.Duration
	maxRSS int64 // bytes
	code   int
	output string // stderr (and stdout when it is not discarded), trimmed
}

// runTimed runs cmd to completion (bounded by limit) and returns its wall
// time and the child's max RSS from rusage.
func runTimed(cmd *exec.Cmd, limit time.Duration) (timed, error) {
	var errBuf bytes.Buffer
	if cmd.Stdout == nil {
		cmd.Stdout = io.Discard
	}
	cmd.Stderr = &errBuf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return timed{}, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(limit):
		syscall.Kill(cmd.Process.Pid, syscall.SIGKILL)
		<-done
		return timed{}, fmt.Errorf("%s did not finish in %s", filepath.Base(cmd.Path), limit)
	}
	t := timed{wall: time.Since(start), output: strings.TrimSpace(errBuf.String())}
	if cmd.ProcessState == nil {
		return t, err
	}
	t.code = cmd.ProcessState.ExitCode()
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		t.maxRSS = ru.Maxrss * 1024 // kilobytes on Linux
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return t, err
	}
	return t, nil
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func freePorts(n int) ([]int, error) {
	var lns []net.Listener
	defer func() {
		for _, l := range lns {
			l.Close()
		}
	}()
	var ports []int
	for i := 0; i < n; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// waitHTTP waits until GET path on addr answers with status 200, the
// process exits, or the bound passes.
func waitHTTP(p *proc, addr, path string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	var last error
	for time.Now().Before(deadline) {
		if p != nil && p.exited() {
			return fmt.Errorf("%s exited: %v\n%s", p.name, p.err, p.tail())
		}
		code, _, err := httpGet(addr, path, time.Second)
		if err == nil && code == 200 {
			return nil
		}
		if err == nil {
			err = fmt.Errorf("status %d", code)
		}
		last = err
		time.Sleep(50 * time.Millisecond)
	}
	msg := ""
	if p != nil {
		msg = "\n" + p.tail()
	}
	return fmt.Errorf("%s not answering 200 on %s%s after %s: %v%s", nameOf(p), addr, path, limit, last, msg)
}

func nameOf(p *proc) string {
	if p == nil {
		return "server"
	}
	return p.name
}

// httpGet sends one HTTP/1.0 request and returns the status and body.
func httpGet(addr, path string, timeout time.Duration) (int, string, error) {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return 0, "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	fmt.Fprintf(c, "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n", path, addr)
	data, err := io.ReadAll(io.LimitReader(c, 1<<20))
	if err != nil && len(data) == 0 {
		return 0, "", err
	}
	line, rest, _ := bytes.Cut(data, []byte("\r\n"))
	f := strings.Fields(string(line))
	if len(f) < 2 {
		return 0, "", fmt.Errorf("bad response %q", line)
	}
	code, err := strconv.Atoi(f[1])
	if err != nil {
		return 0, "", fmt.Errorf("bad status line %q", line)
	}
	_, body, _ := bytes.Cut(rest, []byte("\r\n\r\n"))
	return code, string(body), nil
}

// raiseNofile lifts the open-files limit of ngxbench, and so of every
// process it starts, to what the idle suite needs (clients and servers
// each hold one descriptor per connection).
func raiseNofile(log io.Writer) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return
	}
	want := uint64(65536)
	if lim.Cur >= want {
		return
	}
	nl := syscall.Rlimit{Cur: want, Max: max(lim.Max, want)}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &nl); err != nil {
		// Unprivileged: the hard limit is the ceiling.
		nl = syscall.Rlimit{Cur: lim.Max, Max: lim.Max}
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &nl)
	}
}

func nofile() uint64 {
	var lim syscall.Rlimit
	syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
	return lim.Cur
}

// vmRSS reads VmRSS of a process in bytes.
func vmRSS(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			f := strings.Fields(v)
			if len(f) >= 1 {
				kb, err := strconv.ParseInt(f[0], 10, 64)
				return kb * 1024, err
			}
		}
	}
	return 0, fmt.Errorf("no VmRSS for pid %d", pid)
}

// treeRSS sums VmRSS over pid and its children (nginx master and workers).
func treeRSS(pid int) (int64, int, error) {
	total, err := vmRSS(pid)
	if err != nil {
		return 0, 0, err
	}
	n := 1
	for _, c := range children(pid) {
		if rss, err := vmRSS(c); err == nil {
			total += rss
			n++
		}
	}
	return total, n, nil
}

// children lists the PIDs whose parent is pid.
func children(pid int) []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		c, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces; cut after ')'.
		i := bytes.LastIndexByte(data, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(data[i+1:]))
		if len(f) >= 2 && f[1] == strconv.Itoa(pid) {
			out = append(out, c)
		}
	}
	return out
}

// loadavg returns the three load averages as printed by uptime.
func loadavg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func load1() float64 {
	f := strings.Fields(loadavg())
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat
// (100 on every Linux architecture Go supports).
const clockTicks = 100

// cpuTime returns the CPU time (user + system) used so far by pid and its
// children (nginx's workers), from /proc/PID/stat.
func cpuTime(pid int) (time.Duration, error) {
	total, err := procCPU(pid)
	if err != nil {
		return 0, err
	}
	for _, c := range children(pid) {
		if t, err := procCPU(c); err == nil {
			total += t
		}
	}
	return total, nil
}

func procCPU(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, fmt.Errorf("bad /proc/%d/stat", pid)
	}
	// Fields after "(comm)": state is field 3, utime 14, stime 15.
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("bad /proc/%d/stat times", pid)
	}
	return time.Duration(ut+st) * time.Second / clockTicks, nil
}
