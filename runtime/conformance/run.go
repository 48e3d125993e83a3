package conformance

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"text/template"
	"time"
)

// Transcript is the normalized record of one scenario run against a target.
type Transcript struct {
	Target string
	Obs    []Obs
	Logs   string // instance diagnostics, for failure reports
}

// Lines returns the observation texts.
func (t *Transcript) Lines() []string {
	out := make([]string, len(t.Obs))
	for i, o := range t.Obs {
		out[i] = o.Text
	}
	return out
}

// ports hands out free loopback ports, never the same one twice in a process.
var ports struct {
	sync.Mutex
	used map[int]bool
}

func freePort() (int, error) {
	ports.Lock()
	defer ports.Unlock()
	if ports.used == nil {
		ports.used = map[int]bool{}
	}
	for range 50 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		p := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		if !ports.used[p] {
			ports.used[p] = true
			return p, nil
		}
	}
	return 0, fmt.Errorf("no free port")
}

// templateData is what scenario configurations see: {{.Port "name"}} and
// {{.Dir}}.
type templateData struct {
	port func(string) (int, error)
	Dir  string
}

// Port returns the port allocated to name (a backend, a tap, or an instance
// listener).
func (d templateData) Port(name string) (int, error) { return d.port(name) }

// run holds everything one scenario run owns.
type run struct {
	sc        *Scenario
	target    Target
	dir       string
	backends  map[string]*backend
	taps      map[string]*tap
	holes     []*blackhole
	portOf    map[string]int
	instances map[string]Instance
	order     []string
	conns     map[string]*clientConn
	tr        *Transcript
}

// Run executes sc against target in dir (an empty directory it may write
// to) and returns the transcript. An error means the run could not be set up
// (bad template, instance failed to start), not a difference.
func Run(sc *Scenario, target Target, dir string) (tr *Transcript, err error) {
	r := &run{
		sc: sc, target: target, dir: dir,
		backends: map[string]*backend{}, taps: map[string]*tap{},
		portOf: map[string]int{}, instances: map[string]Instance{},
		conns: map[string]*clientConn{},
		tr:    &Transcript{Target: target.Name()},
	}
	defer r.cleanup()
	if err := r.setup(); err != nil {
		return r.tr, err
	}
	for i, st := range sc.Steps {
		r.step(i, st)
	}
	return r.tr, nil
}

func (r *run) cleanup() {
	for _, c := range r.conns {
		c.c.Close()
	}
	var logs strings.Builder
	for _, name := range r.order {
		inst := r.instances[name]
		inst.Stop()
		if l := inst.Log(); l != "" {
			fmt.Fprintf(&logs, "=== %s %s\n%s", r.target.Name(), name, l)
		}
	}
	r.tr.Logs = logs.String()
	for _, b := range r.backends {
		b.close()
	}
	for _, t := range r.taps {
		t.close()
	}
	for _, h := range r.holes {
		h.close()
	}
}

func (r *run) port(name string) (int, error) {
	if p, ok := r.portOf[name]; ok {
		return p, nil
	}
	p, err := freePort()
	if err != nil {
		return 0, err
	}
	r.portOf[name] = p
	return p, nil
}

func (r *run) setup() error {
	sc := r.sc
	for _, spec := range sc.Backends {
		b, err := startBackend(spec)
		if err != nil {
			return err
		}
		r.backends[spec.Name] = b
		r.portOf[spec.Name] = b.port()
	}
	for _, spec := range sc.Taps {
		t, err := startTap(spec)
		if err != nil {
			return err
		}
		r.taps[spec.Name] = t
		r.portOf[spec.Name] = t.port()
	}
	for _, name := range sc.Blackholes {
		h, err := startBlackhole()
		if err != nil {
			return err
		}
		r.holes = append(r.holes, h)
		r.portOf[name] = h.port
	}
	for _, f := range sc.Files {
		p := filepath.Join(r.dir, filepath.FromSlash(f.Name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			return err
		}
	}
	for _, g := range sc.GenFiles {
		p := filepath.Join(r.dir, filepath.FromSlash(g.Path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, bytes.Repeat([]byte("z"), g.Size), 0o644); err != nil {
			return err
		}
	}
	data := templateData{port: r.port, Dir: r.dir}
	specs := make([]InstanceSpec, 0, len(sc.Instances))
	for _, it := range sc.Instances {
		tmpl, err := template.New(it.Name + ".conf").Option("missingkey=error").Parse(it.Text)
		if err != nil {
			return fmt.Errorf("%s: %s.conf: %v", sc.File, it.Name, err)
		}
		var buf bytes.Buffer
		if err := tmpl.Execute(&buf, data); err != nil {
			return fmt.Errorf("%s: %s.conf: %v", sc.File, it.Name, err)
		}
		path := filepath.Join(r.dir, it.Name+".conf")
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			return err
		}
		spec := InstanceSpec{Name: it.Name, Dir: r.dir, ConfigPath: path, Config: buf.String()}
		for _, l := range it.Listen {
			p, err := r.port(l)
			if err != nil {
				return err
			}
			spec.Listen = append(spec.Listen, "127.0.0.1:"+strconv.Itoa(p))
		}
		specs = append(specs, spec)
	}
	for _, t := range sc.Taps {
		p, err := r.port(t.To)
		if err != nil {
			return err
		}
		r.taps[t.Name].run("127.0.0.1:" + strconv.Itoa(p))
	}
	for _, spec := range specs {
		inst, err := r.target.Start(spec)
		if err != nil {
			return fmt.Errorf("start %s: %v", spec.Name, err)
		}
		r.instances[spec.Name] = inst
		r.order = append(r.order, spec.Name)
	}
	for _, spec := range specs {
		for _, addr := range spec.Listen {
			if err := waitAccept(addr, r.instances[spec.Name], 10*time.Second); err != nil {
				return fmt.Errorf("%s: instance %s: %v\n%s", r.target.Name(), spec.Name, err, r.instances[spec.Name].Log())
			}
		}
	}
	return nil
}

// waitAccept polls addr until the instance answers there. Connecting is not
// enough (nginx's master binds the port before its workers run, and a
// connection's timers start only when a worker accepts it), so it sends an
// invalid request line, which is rejected before any location or upstream is
// involved, and waits for the answer or the close.
func waitAccept(addr string, inst Instance, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		c, err := net.DialTimeout("tcp", addr, 500*time.Millisecond)
		if err == nil {
			c.SetDeadline(time.Now().Add(limit))
			_, err = c.Write([]byte("\x01\r\n\r\n"))
			if err == nil {
				var b [1]byte
				_, err = c.Read(b[:])
				if err == io.EOF {
					err = nil
				}
			}
			c.Close()
			if err != nil {
				return fmt.Errorf("readiness probe on %s: %v", addr, err)
			}
			return nil
		}
		if e, ok := inst.(interface{ Exited() bool }); ok && e.Exited() {
			return fmt.Errorf("exited before listening on %s", addr)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nothing accepts on %s after %s", addr, limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (r *run) obs(i int, format string, args ...any) {
	r.tr.Obs = append(r.tr.Obs, Obs{Step: i, Text: fmt.Sprintf(format, args...)})
}

func (r *run) peer(name string) *recorder {
	if b, ok := r.backends[name]; ok {
		return b.rec
	}
	return r.taps[name].rec
}

func (r *run) step(i int, st *Step) {
	cc := r.conns[st.Conn]
	if st.Conn != "" && st.Verb != stepConnect && cc == nil {
		r.obs(i, "%s: not connected", st.Conn)
		return
	}
	switch st.Verb {
	case stepConnect:
		if old := r.conns[st.Conn]; old != nil {
			old.c.Close()
		}
		p, err := r.port(st.Target)
		if err != nil {
			r.obs(i, "%s connect: %v", st.Conn, err)
			return
		}
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(p), 2*time.Second)
		if err != nil {
			how := "failed"
			if strings.Contains(err.Error(), "refused") {
				how = "refused"
			}
			r.obs(i, "%s connect: %s", st.Conn, how)
			delete(r.conns, st.Conn)
			return
		}
		tc := c.(*net.TCPConn)
		tc.SetNoDelay(true)
		r.conns[st.Conn] = &clientConn{name: st.Conn, c: tc, br: newReader(tc)}
	case stepSend:
		if s := cc.send(st.Data); s != "" {
			r.obs(i, "%s", s)
		}
	case stepShut:
		cc.c.CloseWrite()
	case stepClose:
		cc.c.Close()
	case stepReset:
		cc.c.SetLinger(0)
		cc.c.Close()
	case stepRead:
		r.obs(i, "%s", cc.read(st.Dur, st.Head, st.Show))
	case stepEnd:
		r.obs(i, "%s", cc.end(st.Dur))
	case stepProbe:
		r.obs(i, "%s", cc.probe())
	case stepQuiet:
		r.obs(i, "%s", cc.quiet(st.Dur))
	case stepSleep:
		time.Sleep(st.Dur)
	case stepAwait:
		rec := r.peer(st.Target)
		if !rec.await(st.N, 5*time.Second) {
			r.obs(i, "await %s %d: timed out with %d requests", st.Target, st.N, rec.requests())
		}
	case stepReload:
		if err := r.instances[st.Target].Reload(); err != nil {
			r.obs(i, "reload %s: %v", st.Target, err)
		}
	case stepStop:
		if err := r.instances[st.Target].Shutdown(); err != nil {
			r.obs(i, "stop %s: %v", st.Target, err)
		}
	case stepObserve:
		for _, l := range r.peer(st.Target).observe(st.Brief) {
			r.obs(i, "%s", l)
		}
	}
}
