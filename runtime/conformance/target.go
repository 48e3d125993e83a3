package conformance

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"
)

// A Target runs nginx configurations: real nginx, ngxkeep, or a fake used to
// test the harness.
type Target interface {
	// Name is used in reports ("nginx", "ngxkeep").
	Name() string
	// Start launches one instance. It returns once the process is started;
	// the harness then waits for spec.Listen to accept connections.
	Start(spec InstanceSpec) (Instance, error)
}

// InstanceSpec is what a target needs to run one instance.
type InstanceSpec struct {
	Name       string   // instance name (the NAME.conf section)
	Dir        string   // scenario working directory (rendered configs and files)
	ConfigPath string   // rendered configuration file, inside Dir
	Config     string   // its text
	Listen     []string // host:port addresses the instance listens on
}

// Instance is one running instance.
type Instance interface {
	// Reload re-reads the configuration (nginx: SIGHUP to the master).
	Reload() error
	// Shutdown starts a graceful shutdown (nginx: SIGQUIT) and returns at once.
	Shutdown() error
	// Stop ends the instance: fast shutdown, then a kill after a bound. It
	// waits for the process and is safe to call more than once.
	Stop() error
	// Log returns the instance's diagnostics (error log, stderr) for reports.
	Log() string
}

// processInstance is a target process started with its own process group,
// signalled by PID.
type processInstance struct {
	cmd     *exec.Cmd
	done    chan struct{}
	waitErr error
	logs    []string // files whose tails go into Log
}

func startProcess(cmd *exec.Cmd, logs ...string) (*processInstance, error) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &processInstance{cmd: cmd, done: make(chan struct{}), logs: logs}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

func (p *processInstance) signal(sig syscall.Signal) error {
	select {
	case <-p.done:
		return fmt.Errorf("process %d already exited: %v", p.cmd.Process.Pid, p.waitErr)
	default:
	}
	return syscall.Kill(p.cmd.Process.Pid, sig)
}

func (p *processInstance) Reload() error   { return p.signal(syscall.SIGHUP) }
func (p *processInstance) Shutdown() error { return p.signal(syscall.SIGQUIT) }

// Stop sends SIGTERM to the process (nginx: fast shutdown), and SIGKILL to
// its whole process group (the PID we started, and its workers) after 3s.
func (p *processInstance) Stop() error {
	pid := p.cmd.Process.Pid
	select {
	case <-p.done:
	default:
		syscall.Kill(pid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(3 * time.Second):
			// The process group we created: the master and its workers.
			syscall.Kill(-pid, syscall.SIGKILL)
			<-p.done
		}
	}
	return nil
}

func (p *processInstance) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *processInstance) Log() string {
	var b strings.Builder
	for _, f := range p.logs {
		data, err := os.ReadFile(f)
		if err != nil || len(data) == 0 {
			continue
		}
		var keep []string
		for _, line := range strings.SplitAfter(string(data), "\n") {
			if !strings.Contains(line, "[notice]") && line != "" {
				keep = append(keep, line)
			}
		}
		data = []byte(strings.Join(keep, ""))
		if len(data) > 4000 {
			data = data[len(data)-4000:]
		}
		if len(data) == 0 {
			continue
		}
		fmt.Fprintf(&b, "--- %s\n%s", filepath.Base(f), data)
	}
	return b.String()
}

// NginxTarget runs real nginx with its own prefix in the scenario directory.
type NginxTarget struct {
	Binary string // path to the nginx binary
}

// Name implements Target.
func (NginxTarget) Name() string { return "nginx" }

var httpBlockRE = regexp.MustCompile(`(?m)^\s*http\s*\{`)

// Start implements Target: nginx -p PREFIX -c CONF -g 'daemon off; ...'.
// The configuration nginx reads is the rendered one plus temp paths inside
// the prefix (Debian's compiled-in ones live under /var/lib/nginx).
func (t NginxTarget) Start(spec InstanceSpec) (Instance, error) {
	prefix := filepath.Join(spec.Dir, "nginx-"+spec.Name)
	for _, d := range []string{"logs", "tmp"} {
		if err := os.MkdirAll(filepath.Join(prefix, d), 0o755); err != nil {
			return nil, err
		}
	}
	conf := spec.Config
	if loc := httpBlockRE.FindStringIndex(conf); loc != nil {
		var paths strings.Builder
		for _, kind := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
			fmt.Fprintf(&paths, " %s_temp_path %s;", kind, filepath.Join(prefix, "tmp", kind))
		}
		conf = conf[:loc[1]] + paths.String() + conf[loc[1]:]
	}
	confPath := filepath.Join(spec.Dir, "."+spec.Name+".nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	errorLog := filepath.Join(prefix, "error.log")
	globals := fmt.Sprintf("daemon off; master_process on; pid %s; error_log %s info;",
		filepath.Join(prefix, "nginx.pid"), errorLog)
	if os.Geteuid() == 0 {
		// Workers would otherwise run as nobody, unable to read the files
		// and temp dirs inside the (private) scenario directory.
		globals += " user root;"
	}
	stderr := filepath.Join(prefix, "stderr.log")
	ef, err := os.Create(stderr)
	if err != nil {
		return nil, err
	}
	defer ef.Close()
	cmd := exec.Command(t.Binary, "-p", prefix+"/", "-e", errorLog, "-c", confPath, "-g", globals)
	cmd.Stdout = ef
	cmd.Stderr = ef
	return startProcess(cmd, errorLog, stderr)
}

// NgxkeepTarget runs "ngxkeep run --nginx-version V CONF".
type NgxkeepTarget struct {
	Binary       string
	NginxVersion string // e.g. "1.22"
}

// Name implements Target.
func (NgxkeepTarget) Name() string { return "ngxkeep" }

// Start implements Target.
func (t NgxkeepTarget) Start(spec InstanceSpec) (Instance, error) {
	logPath := filepath.Join(spec.Dir, "ngxkeep-"+spec.Name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cmd := exec.Command(t.Binary, "run", "--nginx-version", t.NginxVersion, spec.ConfigPath)
	cmd.Dir = spec.Dir
	cmd.Stdout = f
	cmd.Stderr = f
	return startProcess(cmd, logPath)
}

// CheckNgxkeepRun reports why "ngxkeep run" cannot be used, or nil.
func CheckNgxkeepRun(binary string) error {
	cmd := exec.Command(binary, "run", "--help")
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		return err
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			msg := strings.TrimSpace(out.String())
			if i := strings.IndexByte(msg, '\n'); i >= 0 {
				msg = msg[:i]
			}
			return fmt.Errorf("`ngxkeep run --help` failed: %v: %s", err, msg)
		}
		return nil
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		<-done
		return errors.New("`ngxkeep run --help` did not finish in 10s")
	}
}
