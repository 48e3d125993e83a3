package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"charm.land/lipgloss/v2"
	"charm.land/lipgloss/v2/table"
	"github.com/charmbracelet/colorprofile"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/ngxkeep/ngxkeep/parser"
	"github.com/ngxkeep/ngxkeep/runtime/config"
	"github.com/ngxkeep/ngxkeep/runtime/server"
	"github.com/ngxkeep/ngxkeep/runtime/translate"
	"github.com/ngxkeep/ngxkeep/runtime/upstream"
	"github.com/spf13/cobra"
)

func init() { subcommands = append(subcommands, newRunCmd) }

type runFlags struct {
	version   string
	check     bool
	strict    bool
	admin     string
	logFormat string
	logLevel  string
	prefix    string
	report    string
	color     string
	pidFile   string
}

func newRunCmd() *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "run [flags] FILE...",
		Short: "Run nginx or runtime configurations as a built-in frontend and backend",
		Long: `run starts every instance of the given files in one process: runtime HCL files
(as written by "ngxkeep translate"; extension .hcl, or content starting with an
instance block) and nginx configurations (anything else), which are translated
on the fly with the coverage report on standard error. Each instance opens,
reuses and closes client and upstream connections as nginx of its version
would, and logs why every connection closed (log/slog on standard error).

Signals, as nginx's master process takes them:
  SIGHUP           reload: read the same files again; listening sockets are
                   kept, new workers start, old ones finish their requests and
                   close (an invalid new configuration is logged and ignored)
  SIGQUIT          graceful shutdown: idle connections close at once, requests
                   in flight finish with "Connection: close"; worker_shutdown_timeout
                   bounds it
  SIGTERM, SIGINT  the same graceful shutdown (nginx closes at once on these;
                   ngxkeep drains so that the summary is complete); a second
                   signal closes every connection at once
On exit run prints a summary per listener and upstream (connections,
requests, reuse ratio, close reasons with counts) to standard error and
exits 0. Standard output is not used.

run --check reads, translates and validates everything, prints the coverage
report and exits: 0 when the configuration can run, 2 when not.`,
		Example: `  ngxkeep run box1-frontend.conf box2-backend.conf
  ngxkeep run --nginx-version 1.22 nginx.conf
  ngxkeep translate -o boxes.hcl box1-frontend.conf box2-backend.conf && ngxkeep run boxes.hcl
  ngxkeep run --check --strict nginx.conf
  ngxkeep run --admin 127.0.0.1:9900 --log-format json boxes.hcl`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRun(cmd, args, &f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.version, "nginx-version", "", `nginx version emulated for nginx configurations (HCL files name theirs), e.g. 1.22 or 1.30.1, or "auto" (default `+parser.DefaultVersion.String()+`)`)
	fl.BoolVar(&f.check, "check", false, "validate the configuration and exit")
	fl.BoolVar(&f.strict, "strict", false, "refuse nginx configurations with any directive that is not preserved")
	fl.StringVar(&f.admin, "admin", "", "serve counters on this address (HTTP: /stats JSON, /metrics and /upstreams for the upstreams); a bare port means 127.0.0.1")
	fl.StringVar(&f.logFormat, "log-format", "text", "log format: text or json")
	fl.StringVar(&f.logLevel, "log-level", "info", "log level: debug (adds every Connection: close response), info (every closed connection), warn, error")
	fl.StringVar(&f.prefix, "prefix", "", "nginx prefix: relative include, root and alias paths resolve against it (default: each file's directory)")
	fl.StringVar(&f.report, "report", "text", "coverage report for nginx configurations: text, json or none")
	fl.StringVar(&f.color, "color", "auto", "colour the report and the summary: auto, always, never")
	fl.StringVar(&f.pidFile, "pid-file", "", "write the process ID to this file once listening (removed on exit), for kill -HUP $(cat FILE)")
	_ = cmd.RegisterFlagCompletionFunc("log-format", cobra.FixedCompletions([]string{"text", "json"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("log-level", cobra.FixedCompletions([]string{"debug", "info", "warn", "error"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// runInputs is what run reads from its files.
type runInputs struct {
	cfg *config.Config
	// dirs maps an instance name to the directory of the file it came from.
	dirs map[string]string
	rep  *translate.Report // nil without nginx inputs
	// files are the HCL sources, for diagnostics with source lines.
	files map[string]*hcl.File
}

// loadRunInputs reads the files: HCL decoded (errors with positions and
// "did you mean"), nginx translated, the whole model validated.
func loadRunInputs(args []string, f *runFlags, stdin io.Reader, stderr io.Writer) (*runInputs, error) {
	target, err := targetVersion(f.version)
	if err != nil {
		return nil, err
	}
	in := &runInputs{cfg: &config.Config{}, dirs: map[string]string{}, files: map[string]*hcl.File{}}
	var nginxArgs []string
	var hclFiles []*config.Instance
	hclDirs := map[*config.Instance]string{}
	for _, a := range args {
		isHCL, src, err := sniffHCL(a)
		if err != nil {
			return nil, inputErrorf("%v", err)
		}
		if !isHCL {
			nginxArgs = append(nginxArgs, a)
			continue
		}
		p := hclparse.NewParser()
		p.ParseHCL(src, a)
		for name, file := range p.Files() {
			in.files[name] = file
		}
		c, diags := config.Decode(a, src)
		if diags.HasErrors() {
			printDiags(stderr, in.files, diags)
			return nil, inputErrorf("%s: invalid runtime configuration", a)
		}
		for _, inst := range c.Instances {
			hclFiles = append(hclFiles, inst)
			hclDirs[inst] = filepath.Dir(a)
		}
	}
	if len(nginxArgs) > 0 {
		cfgs, err := loadNginx(nginxArgs, stdin, f.prefix, stderr)
		if err != nil {
			return nil, err
		}
		model, rep := translate.Translate(cfgs, target)
		in.rep = rep
		for i, inst := range model.Instances {
			in.cfg.Instances = append(in.cfg.Instances, inst)
			in.dirs[inst.Name] = filepath.Dir(cfgs[i].Name)
		}
	}
	for _, inst := range hclFiles {
		in.cfg.Instances = append(in.cfg.Instances, inst)
		in.dirs[inst.Name] = hclDirs[inst]
	}
	return in, nil
}

// sniffHCL decides whether a file is a runtime HCL file: by extension
// (.hcl yes, .conf no), else by content (the first word is "instance").
func sniffHCL(path string) (bool, []byte, error) {
	if path == "-" {
		return false, nil, nil
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return false, nil, nil
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".conf":
		return false, nil, nil
	}
	src, err := os.ReadFile(path)
	if err != nil {
		return false, nil, fmt.Errorf("open() %q failed: %v", path, err)
	}
	if strings.EqualFold(filepath.Ext(path), ".hcl") {
		return true, src, nil
	}
	sc := bufio.NewScanner(bytes.NewReader(src))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "//") {
			continue
		}
		return strings.HasPrefix(line, "instance ") || strings.HasPrefix(line, "instance\t"), src, nil
	}
	return false, src, nil
}

// printDiags writes HCL diagnostics with their source lines.
func printDiags(w io.Writer, files map[string]*hcl.File, diags hcl.Diagnostics) {
	dw := hcl.NewDiagnosticTextWriter(w, files, 78, false)
	_ = dw.WriteDiagnostics(diags)
}

func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, inputErrorf("--log-level: %v", err)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, inputErrorf("unknown --log-format %q (want text or json)", format)
}

func runRun(cmd *cobra.Command, args []string, f *runFlags) error {
	stderr := cmd.ErrOrStderr()
	if err := checkReportFlags(f.report, f.color); err != nil {
		return err
	}
	logger, err := newLogger(stderr, f.logFormat, f.logLevel)
	if err != nil {
		return err
	}
	in, err := loadRunInputs(args, f, cmd.InOrStdin(), stderr)
	if err != nil {
		return err
	}
	if in.rep != nil {
		if err := writeCoverage(stderr, in.rep, f.report, "", f.color); err != nil {
			return err
		}
	}
	if err := validateModel(in, stderr); err != nil {
		return err
	}
	if f.strict && in.rep != nil && !in.rep.AllPreserved() {
		n := len(in.rep.Entries) - in.rep.Count(translate.Preserved)
		return inputErrorf("--strict: %d of %d directives are not preserved", n, len(in.rep.Entries))
	}
	if f.check {
		servers, listens := 0, 0
		for _, inst := range in.cfg.Instances {
			servers += len(inst.Servers)
			for _, s := range inst.Servers {
				listens += len(s.Listens)
			}
		}
		// Compile every instance as Start would, without listening.
		for _, inst := range in.cfg.Instances {
			if _, err := server.New(inst, server.Options{Prefix: f.instancePrefix(in, inst.Name)}); err != nil {
				return inputErrorf("instance %q: %v", inst.Name, err)
			}
		}
		fmt.Fprintf(stderr, "ngxkeep: configuration ok: %d %s, %d %s, %d listen %s\n",
			len(in.cfg.Instances), plural(len(in.cfg.Instances), "instance", "instances"),
			servers, plural(servers, "server", "servers"), listens, plural(listens, "address", "addresses"))
		return nil
	}

	// Signals are caught from before the first socket opens, so that none
	// arriving during start-up kills the process.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)
	r := &runner{logger: logger, flags: f, insts: map[string]*server.Instance{}, started: time.Now()}
	if err := r.start(in); err != nil {
		r.shutdown(context.Background())
		return err
	}
	if f.admin != "" {
		if err := r.serveAdmin(f.admin); err != nil {
			r.shutdown(context.Background())
			return inputErrorf("--admin: %v", err)
		}
	}
	if f.pidFile != "" {
		if err := os.WriteFile(f.pidFile, []byte(fmt.Sprintf("%d\n", os.Getpid())), 0o644); err != nil {
			r.shutdown(context.Background())
			return inputErrorf("--pid-file: %v", err)
		}
		defer os.Remove(f.pidFile)
	}
	r.wait(sigs, args, cmd.InOrStdin(), stderr)
	return writeRunSummary(stderr, r, colorProfile(stderr, f.color))
}

func (f *runFlags) instancePrefix(in *runInputs, name string) string {
	if f.prefix != "" {
		return f.prefix
	}
	return in.dirs[name]
}

// validateModel prints the model's diagnostics (with the HCL source lines
// when the model came from HCL); errors refuse it.
func validateModel(in *runInputs, stderr io.Writer) error {
	diags := in.cfg.Validate()
	if len(diags) == 0 {
		return nil
	}
	printDiags(stderr, in.files, diags)
	if diags.HasErrors() {
		return inputErrorf("the configuration cannot run")
	}
	return nil
}

// runner holds the running instances.
type runner struct {
	logger  *slog.Logger
	flags   *runFlags
	started time.Time

	mu    sync.Mutex
	order []string
	insts map[string]*server.Instance
	// gone keeps instances removed by a reload, for the summary.
	gone []namedInstance
	// prevUpstreams are the upstream counters of configurations replaced
	// by reloads (each configuration counts from zero), per instance.
	prevUpstreams map[string][]upstream.UpstreamSnapshot
	admin         *adminServer
}

type namedInstance struct {
	name string
	inst *server.Instance
}

func (r *runner) newInstance(in *runInputs, ci *config.Instance) (*server.Instance, error) {
	return server.New(ci, server.Options{
		Logger: r.logger,
		Prefix: r.flags.instancePrefix(in, ci.Name),
	})
}

// start compiles and starts every instance; on error the caller shuts
// down the ones already started.
func (r *runner) start(in *runInputs) error {
	for _, ci := range in.cfg.Instances {
		s, err := r.newInstance(in, ci)
		if err != nil {
			return inputErrorf("instance %q: %v", ci.Name, err)
		}
		if err := s.Start(); err != nil {
			return inputErrorf("instance %q: %v", ci.Name, err)
		}
		r.mu.Lock()
		r.insts[ci.Name] = s
		r.order = append(r.order, ci.Name)
		r.mu.Unlock()
		var addrs []string
		for _, srv := range ci.Servers {
			for _, l := range srv.Listens {
				addrs = append(addrs, boundAddress(s, l.Address))
			}
		}
		r.logger.Info("instance started", "instance", ci.Name, "version", ci.Version, "listen", strings.Join(dedup(addrs), " "))
	}
	return nil
}

// boundAddress is a listen address as configured, with the port the
// system chose when it was 0.
func boundAddress(s *server.Instance, listen string) string {
	norm := config.NormalizeListenAddress(listen)
	host, port, err := net.SplitHostPort(norm)
	if err != nil || port != "0" {
		return norm
	}
	if a, ok := s.Addr(listen).(*net.TCPAddr); ok {
		return net.JoinHostPort(host, fmt.Sprint(a.Port))
	}
	return norm
}

func dedup(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

// reload re-reads the files and switches every instance to its new
// configuration (ngx_signal_handler → ngx_reconfigure); on any error the
// old configuration keeps running.
func (r *runner) reload(args []string, stdin io.Reader, stderr io.Writer) {
	r.logger.Info("reloading", "files", strings.Join(args, " "))
	var buf bytes.Buffer // reading problems go to the log, not the terminal
	in, err := loadRunInputs(args, r.flags, stdin, &buf)
	if err == nil {
		err = validateModel(in, &buf)
	}
	if err == nil && r.flags.strict && in.rep != nil && !in.rep.AllPreserved() {
		err = errors.New("--strict: some directives are not preserved")
	}
	if err != nil {
		r.logger.Error("reload failed; the running configuration stays", "error", err, "detail", strings.TrimSpace(buf.String()))
		return
	}
	// Compile everything first so a bad instance changes nothing.
	next := map[string]*config.Instance{}
	for _, ci := range in.cfg.Instances {
		next[ci.Name] = ci
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, name := range r.order {
		s := r.insts[name]
		ci, ok := next[name]
		if !ok {
			r.logger.Info("instance removed by reload", "instance", name)
			r.gone = append(r.gone, namedInstance{name, s})
			delete(r.insts, name)
			go s.Shutdown(context.Background())
			continue
		}
		var before []upstream.UpstreamSnapshot
		if st := s.Upstreams(); st != nil {
			before = st.Snapshot()
		}
		if err := s.Reload(ci); err != nil {
			r.logger.Error("reload failed for instance; it keeps its configuration", "instance", name, "error", err)
			continue
		}
		if r.prevUpstreams == nil {
			r.prevUpstreams = map[string][]upstream.UpstreamSnapshot{}
		}
		r.prevUpstreams[name] = mergeUpstreams(r.prevUpstreams[name], before)
	}
	var order []string
	for _, ci := range in.cfg.Instances {
		order = append(order, ci.Name)
		if _, ok := r.insts[ci.Name]; ok {
			continue
		}
		s, err := r.newInstance(in, ci)
		if err == nil {
			err = s.Start()
		}
		if err != nil {
			r.logger.Error("new instance not started", "instance", ci.Name, "error", err)
			continue
		}
		r.insts[ci.Name] = s
		r.logger.Info("instance started", "instance", ci.Name, "version", ci.Version)
	}
	var kept []string
	for _, n := range order {
		if _, ok := r.insts[n]; ok {
			kept = append(kept, n)
		}
	}
	r.order = kept
	r.logger.Info("reloaded")
}

// wait serves until a stop signal, reloading on SIGHUP; then drains. A
// second stop signal closes every connection at once.
func (r *runner) wait(sigs chan os.Signal, args []string, stdin io.Reader, stderr io.Writer) {
	var sig os.Signal
	for sig = range sigs {
		if sig == syscall.SIGHUP {
			r.reload(args, stdin, stderr)
			continue
		}
		break
	}
	r.logger.Info("shutting down gracefully", "signal", sig.String())
	ctx, force := context.WithCancel(context.Background())
	defer force()
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case s := <-sigs:
				if s == syscall.SIGHUP {
					continue
				}
				r.logger.Info("second signal: closing every connection now", "signal", s.String())
				force()
				return
			case <-done:
				return
			}
		}
	}()
	r.shutdown(ctx)
}

func (r *runner) shutdown(ctx context.Context) {
	r.mu.Lock()
	all := make([]*server.Instance, 0, len(r.insts)+len(r.gone))
	for _, n := range r.order {
		all = append(all, r.insts[n])
	}
	for _, g := range r.gone {
		all = append(all, g.inst)
	}
	admin := r.admin
	r.mu.Unlock()
	var wg sync.WaitGroup
	for _, s := range all {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.Shutdown(ctx)
		}()
	}
	wg.Wait()
	if admin != nil {
		sctx, cancel := context.WithTimeout(context.Background(), time.Second)
		admin.Shutdown(sctx)
		cancel()
	}
}

func (r *runner) instances() []namedInstance {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []namedInstance
	for _, n := range r.order {
		out = append(out, namedInstance{n, r.insts[n]})
	}
	return append(out, r.gone...)
}

// serveAdmin serves the counters: /stats (listeners and upstreams of every
// instance, JSON), and for the upstreams /metrics (Prometheus) and
// /upstreams (JSON).
func (r *runner) serveAdmin(addr string) error {
	ln, err := net.Listen("tcp", adminAddr(addr))
	if err != nil {
		return err
	}
	srv := newAdminServer(ln, map[string]adminHandler{
		"/stats": func(*adminRequest) adminResponse {
			var b bytes.Buffer
			enc := json.NewEncoder(&b)
			enc.SetIndent("", "  ")
			_ = enc.Encode(r.snapshot())
			return adminResponse{status: 200, contentType: "application/json", body: b.Bytes()}
		},
		"/metrics":   r.upstreamAdmin(true),
		"/upstreams": r.upstreamAdmin(false),
	})
	r.mu.Lock()
	r.admin = srv
	r.mu.Unlock()
	r.logger.Info("admin listening", "addr", ln.Addr().String())
	return nil
}

// adminAddr puts the admin listener on loopback unless the address names a
// host: "--admin :9900" and "--admin 9900" mean 127.0.0.1:9900, so counters
// are never exposed on every interface by accident.
func adminAddr(addr string) string {
	if !strings.Contains(addr, ":") {
		addr = ":" + addr
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host != "" {
		return addr
	}
	return net.JoinHostPort("127.0.0.1", port)
}

// upstreamAdmin serves the upstream counters of the first instance that
// proxies, per request (instances change on reload): the Prometheus text
// format (metrics) or the JSON snapshot.
func (r *runner) upstreamAdmin(metrics bool) adminHandler {
	return func(req *adminRequest) adminResponse {
		for _, ni := range r.instances() {
			st := ni.inst.Upstreams()
			if st == nil {
				continue
			}
			var b bytes.Buffer
			if !metrics {
				_ = upstream.WriteSnapshotJSON(&b, st)
				return adminResponse{status: 200, contentType: "application/json", body: b.Bytes()}
			}
			_ = upstream.WriteMetrics(&b, st, req.query["name[]"])
			body, enc := gzipBody(req.acceptEncoding, b.Bytes())
			return adminResponse{status: 200, contentType: upstream.MetricsContentType, encoding: enc, vary: true, body: body}
		}
		return adminText(404, "no instance proxies to upstreams\n")
	}
}

// Summary rows, also the /stats JSON.
type listenerSummary struct {
	Instance     string            `json:"instance"`
	Listen       string            `json:"listen"`
	Connections  uint64            `json:"connections"`
	Requests     uint64            `json:"requests"`
	Closes       map[string]uint64 `json:"closes"`
	CloseHeaders map[string]uint64 `json:"connection_close_sent"`
}

type upstreamSummary struct {
	Instance string `json:"instance"`
	upstream.UpstreamSnapshot
}

type runSnapshot struct {
	Uptime    string            `json:"uptime"`
	Listeners []listenerSummary `json:"listeners"`
	Upstreams []upstreamSummary `json:"upstreams"`
}

func (r *runner) snapshot() runSnapshot {
	snap := runSnapshot{Uptime: time.Since(r.started).Round(time.Millisecond).String(), Listeners: []listenerSummary{}, Upstreams: []upstreamSummary{}}
	for _, ni := range r.instances() {
		st := ni.inst.Stats()
		keys := make([]string, 0, len(st.Listeners))
		for k := range st.Listeners {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			ls := st.Listeners[k]
			row := listenerSummary{Instance: ni.name, Listen: k, Connections: ls.Accepted, Requests: ls.Requests,
				Closes: map[string]uint64{}, CloseHeaders: map[string]uint64{}}
			for reason, n := range ls.Closes {
				row.Closes[reason.String()] += n
			}
			for reason, n := range ls.CloseHeaders {
				row.CloseHeaders[reason.String()] += n
			}
			snap.Listeners = append(snap.Listeners, row)
		}
		var cur []upstream.UpstreamSnapshot
		if st := ni.inst.Upstreams(); st != nil {
			cur = st.Snapshot()
		}
		r.mu.Lock()
		prev := r.prevUpstreams[ni.name]
		r.mu.Unlock()
		for _, u := range mergeUpstreams(prev, cur) {
			snap.Upstreams = append(snap.Upstreams, upstreamSummary{Instance: ni.name, UpstreamSnapshot: u})
		}
	}
	return snap
}

// mergeUpstreams adds two sets of upstream counters, peer by peer (the
// idle gauge is taken from b, the current one).
func mergeUpstreams(a, b []upstream.UpstreamSnapshot) []upstream.UpstreamSnapshot {
	if len(a) == 0 {
		return b
	}
	type key struct{ u, p string }
	peers := map[key]*upstream.PeerSnapshot{}
	var order []key
	add := func(list []upstream.UpstreamSnapshot, gauge bool) {
		for _, u := range list {
			for _, p := range u.Peers {
				k := key{u.Name, p.Peer}
				cur, ok := peers[k]
				if !ok {
					cp := p
					cp.Closed = map[string]int64{}
					for n, v := range p.Closed {
						cp.Closed[n] = v
					}
					if !gauge {
						cp.Idle = 0
					}
					peers[k] = &cp
					order = append(order, k)
					continue
				}
				cur.Opened += p.Opened
				cur.Reused += p.Reused
				cur.Returned += p.Returned
				cur.Requests += p.Requests
				cur.Failures += p.Failures
				if gauge {
					cur.Idle = p.Idle
				}
				for n, v := range p.Closed {
					cur.Closed[n] += v
				}
			}
		}
	}
	add(a, false)
	add(b, true)
	sort.SliceStable(order, func(i, j int) bool {
		if order[i].u != order[j].u {
			return order[i].u < order[j].u
		}
		return order[i].p < order[j].p
	})
	var out []upstream.UpstreamSnapshot
	for _, k := range order {
		p := *peers[k]
		if len(out) == 0 || out[len(out)-1].Name != k.u {
			out = append(out, upstream.UpstreamSnapshot{Name: k.u, Totals: upstream.PeerSnapshot{Upstream: k.u, Closed: map[string]int64{}}})
		}
		u := &out[len(out)-1]
		u.Peers = append(u.Peers, p)
		u.Totals.Opened += p.Opened
		u.Totals.Reused += p.Reused
		u.Totals.Returned += p.Returned
		u.Totals.Requests += p.Requests
		u.Totals.Failures += p.Failures
		u.Totals.Idle += p.Idle
		for n, v := range p.Closed {
			u.Totals.Closed[n] += v
		}
	}
	return out
}

// writeRunSummary prints the exit summary: one table for the listeners,
// one for the upstreams.
func writeRunSummary(w io.Writer, r *runner, profile colorprofile.Profile) error {
	snap := r.snapshot()
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s\n", trTitle.Render("ngxkeep run · summary"), trDim.Render("· up "+snap.Uptime))
	var rows [][]string
	for _, l := range snap.Listeners {
		rows = append(rows, []string{l.Instance, l.Listen, fmt.Sprint(l.Connections), fmt.Sprint(l.Requests),
			reuse(int64(l.Requests), int64(l.Connections)), counts(l.Closes), counts(l.CloseHeaders)})
	}
	if len(rows) > 0 {
		b.WriteString(renderTable(rows, "INSTANCE", "LISTEN", "CONNS", "REQUESTS", "REUSE", "CLOSED (REASON×N)", "CONNECTION: CLOSE SENT"))
	}
	rows = rows[:0]
	if len(snap.Upstreams) > 0 {
		b.WriteByte('\n')
	}
	for _, u := range snap.Upstreams {
		for _, p := range u.Peers {
			closed := map[string]uint64{}
			for k, v := range p.Closed {
				if v > 0 {
					closed[k] = uint64(v)
				}
			}
			rows = append(rows, []string{u.Instance, u.Name, p.Peer, fmt.Sprint(p.Opened), fmt.Sprint(p.Requests),
				fmt.Sprint(p.Reused), upstreamReuse(p.Reused, p.Requests), counts(closed)})
		}
	}
	if len(rows) > 0 {
		b.WriteString(renderTable(rows, "INSTANCE", "UPSTREAM", "PEER", "OPENED", "REQUESTS", "REUSED", "REUSE", "CLOSED (REASON×N)"))
	}
	cw := &colorprofile.Writer{Forward: w, Profile: profile}
	_, err := cw.Write(b.Bytes())
	return err
}

func renderTable(rows [][]string, headers ...string) string {
	t := newPlainTable(headers...).Rows(rows...).StyleFunc(func(row, col int) lipgloss.Style {
		if row == table.HeaderRow {
			return trHead
		}
		return trCell
	})
	return trimLines(t.Render()) + "\n"
}

// trimLines drops the padding at the end of each rendered line.
func trimLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n")
}

// reuse is the share of a listener's requests served on a connection that
// had served one before: (requests - connections) / requests.
func reuse(requests, conns int64) string {
	if requests == 0 {
		return "-"
	}
	r := requests - conns
	if r < 0 {
		r = 0
	}
	return fmt.Sprintf("%.0f%%", 100*float64(r)/float64(requests))
}

// upstreamReuse is the share of upstream attempts made on a cached
// connection.
func upstreamReuse(reused, requests int64) string {
	if requests == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f%%", 100*float64(reused)/float64(requests))
}

// counts renders {reason: n} as "reason×n, ..." sorted by count, then name.
func counts(m map[string]uint64) string {
	type kv struct {
		k string
		v uint64
	}
	var s []kv
	for k, v := range m {
		if v > 0 {
			s = append(s, kv{k, v})
		}
	}
	if len(s) == 0 {
		return "-"
	}
	sort.Slice(s, func(i, j int) bool {
		if s[i].v != s[j].v {
			return s[i].v > s[j].v
		}
		return s[i].k < s[j].k
	})
	var parts []string
	for _, e := range s {
		parts = append(parts, fmt.Sprintf("%s×%d", e.k, e.v))
	}
	return strings.Join(parts, ", ")
}
