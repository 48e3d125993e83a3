package conformance

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/txtar"
)

// Scenario is one parsed conformance scenario (one txtar file).
type Scenario struct {
	Name    string // file name without .txtar
	File    string // path of the txtar file
	Title   string // first line of the comment
	Comment string // the txtar comment (description)

	Instances  []*InstanceTemplate // *.conf files, in file order
	Files      []txtar.File        // files/... entries, written into the target directory
	GenFiles   []GenFile           // "file PATH SIZE" lines
	Backends   []*BackendSpec      // "backend" lines, grouped by name
	Taps       []*TapSpec          // "tap" lines
	Blackholes []string            // "blackhole" lines: ports whose connects hang

	Steps []*Step // the client script
	Want  []Obs   // the expected observations ("> " lines), in order

	raw        []byte // the whole file, for -update
	scriptLine int    // 1-based line of the first script line in raw
}

// InstanceTemplate is one nginx configuration to run as its own instance.
type InstanceTemplate struct {
	Name   string   // file name without .conf
	Text   string   // template text
	Listen []string // port names used on listen lines
}

// GenFile is a generated file of Size bytes (for big static responses).
type GenFile struct {
	Path string
	Size int
}

// BackendSpec describes a scripted backend: a raw TCP HTTP/1.x server.
type BackendSpec struct {
	Name      string
	Rules     []*BackendRule
	IdleClose time.Duration // close a connection idle for this long after a response (0: never)
	// HonorClose makes the backend behave like a real server when a request
	// says "Connection: close": it adds that header to its answer and closes.
	HonorClose bool
	// Show lists request headers to report besides Connection.
	Show []string
}

// BackendRule is one "backend" line: conditions and what to do.
type BackendRule struct {
	Line int
	// Conditions (all given ones must hold).
	Path   string // exact path, without query
	Method string
	Nth    int // Nth request on its connection
	Conn   int // Nth accepted connection
	// Actions.
	Response []byte        // bytes to answer with (default: 200 with the backend name as body)
	Close    bool          // close (FIN) after answering
	Delay    time.Duration // wait before answering
	Early    bool          // answer after the head, before reading the body
	Drop     bool          // close without answering
	Reset    bool          // reset (SO_LINGER 0) without answering
}

// TapSpec is a transparent TCP relay that records the HTTP requests going
// through it and which side closed each connection first.
type TapSpec struct {
	Name string
	To   string // port name to forward to
}

// Step verbs.
const (
	stepConnect = "connect"
	stepSend    = "send"
	stepShut    = "shut"
	stepClose   = "close"
	stepReset   = "reset"
	stepRead    = "read"
	stepEnd     = "end"
	stepQuiet   = "quiet"
	stepProbe   = "probe"
	stepSleep   = "sleep"
	stepAwait   = "await"
	stepReload  = "reload"
	stepStop    = "stop"
	stepObserve = "observe"
)

// Step is one client or control step of the script.
type Step struct {
	Line   int    // line in the txtar file
	Text   string // the line as written
	Verb   string
	Conn   string        // client connection name
	Target string        // port, instance, backend or tap name
	Data   []byte        // send
	Dur    time.Duration // sleep, quiet; window of end; timeout of read
	Head   bool          // read: response to HEAD (no body)
	Show   []string      // read: response headers to show
	N      int           // await
	Brief  bool          // observe
}

// Obs is one expected or observed transcript line, tied to the step that
// produced it.
type Obs struct {
	Step int // index in Scenario.Steps
	Text string
}

var listenPortRE = regexp.MustCompile(`(?m)^\s*listen\s+[^;]*\{\{\s*\.Port\s+"([^"]+)"\s*\}\}`)

// LoadDir parses every *.txtar scenario in dir, sorted by name.
func LoadDir(dir string) ([]*Scenario, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.txtar"))
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var out []*Scenario
	for _, n := range names {
		data, err := os.ReadFile(n)
		if err != nil {
			return nil, err
		}
		sc, err := Parse(n, data)
		if err != nil {
			return nil, err
		}
		out = append(out, sc)
	}
	return out, nil
}

// Parse parses one scenario. file is used in error messages and names the
// scenario.
func Parse(file string, data []byte) (*Scenario, error) {
	ar := txtar.Parse(data)
	sc := &Scenario{
		Name:    strings.TrimSuffix(filepath.Base(file), ".txtar"),
		File:    file,
		Comment: strings.TrimSpace(string(ar.Comment)),
		raw:     data,
	}
	sc.Title, _, _ = strings.Cut(sc.Comment, "\n")
	sc.Title = strings.TrimPrefix(sc.Title, "# ")
	var script []byte
	haveScript := false
	for _, f := range ar.Files {
		switch {
		case f.Name == "script":
			script, haveScript = f.Data, true
		case strings.HasSuffix(f.Name, ".conf") && !strings.Contains(f.Name, "/"):
			it := &InstanceTemplate{Name: strings.TrimSuffix(f.Name, ".conf"), Text: string(f.Data)}
			for _, m := range listenPortRE.FindAllStringSubmatch(it.Text, -1) {
				it.Listen = append(it.Listen, m[1])
			}
			if len(it.Listen) == 0 {
				return nil, fmt.Errorf("%s: %s: no listen line with a {{.Port \"NAME\"}} placeholder", file, f.Name)
			}
			sc.Instances = append(sc.Instances, it)
		case strings.HasPrefix(f.Name, "files/"):
			sc.Files = append(sc.Files, txtar.File{Name: strings.TrimPrefix(f.Name, "files/"), Data: f.Data})
		default:
			return nil, fmt.Errorf("%s: unexpected section %q (want NAME.conf, files/..., script)", file, f.Name)
		}
	}
	if !haveScript {
		return nil, fmt.Errorf("%s: no -- script -- section", file)
	}
	if len(sc.Instances) == 0 {
		return nil, fmt.Errorf("%s: no NAME.conf section", file)
	}
	sc.scriptLine = sectionLine(data, "script")
	if err := sc.parseScript(script); err != nil {
		return nil, err
	}
	return sc, nil
}

// sectionLine returns the 1-based line number of the first line after the
// "-- name --" marker.
func sectionLine(data []byte, name string) int {
	marker := []byte("-- " + name + " --\n")
	i := bytes.Index(data, marker)
	if i < 0 {
		return 1
	}
	return bytes.Count(data[:i], []byte("\n")) + 2
}

func (sc *Scenario) backend(name string) *BackendSpec {
	for _, b := range sc.Backends {
		if b.Name == name {
			return b
		}
	}
	b := &BackendSpec{Name: name}
	sc.Backends = append(sc.Backends, b)
	return b
}

func (sc *Scenario) isPeer(name string) bool {
	for _, b := range sc.Backends {
		if b.Name == name {
			return true
		}
	}
	for _, t := range sc.Taps {
		if t.Name == name {
			return true
		}
	}
	return false
}

func (sc *Scenario) declared(name string) bool {
	if sc.isPeer(name) {
		return true
	}
	for _, b := range sc.Blackholes {
		if b == name {
			return true
		}
	}
	return false
}

func (sc *Scenario) instance(name string) *InstanceTemplate {
	for _, it := range sc.Instances {
		if it.Name == name {
			return it
		}
	}
	return nil
}

func (sc *Scenario) parseScript(script []byte) error {
	lines := strings.Split(string(script), "\n")
	conns := map[string]bool{}
	for i, line := range lines {
		lineno := sc.scriptLine + i
		errf := func(format string, args ...any) error {
			return fmt.Errorf("%s:%d: %s", sc.File, lineno, fmt.Sprintf(format, args...))
		}
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		if strings.HasPrefix(trimmed, ">") {
			if len(sc.Steps) == 0 {
				return errf("observation before any step")
			}
			sc.Want = append(sc.Want, Obs{Step: len(sc.Steps) - 1, Text: strings.TrimSpace(strings.TrimPrefix(trimmed, ">"))})
			continue
		}
		toks, err := splitLine(trimmed)
		if err != nil {
			return errf("%v", err)
		}
		verb := toks[0].Val
		args := toks[1:]
		need := func(n int, usage string) error {
			if len(args) < n {
				return errf("usage: %s", usage)
			}
			return nil
		}
		switch verb {
		case "backend":
			if err := need(1, "backend NAME [conditions] [actions]"); err != nil {
				return err
			}
			if err := sc.parseBackend(lineno, args); err != nil {
				return errf("%v", err)
			}
			continue
		case "tap":
			if err := need(2, "tap NAME to=PORT"); err != nil {
				return err
			}
			k, v, _ := keyVal(args[1])
			if k != "to" || v == "" {
				return errf("usage: tap NAME to=PORT")
			}
			sc.Taps = append(sc.Taps, &TapSpec{Name: args[0].Val, To: v})
			continue
		case "blackhole":
			if err := need(1, "blackhole NAME"); err != nil {
				return err
			}
			if sc.declared(args[0].Val) {
				return errf("%s is already declared", args[0].Val)
			}
			sc.Blackholes = append(sc.Blackholes, args[0].Val)
			continue
		case "file":
			if err := need(2, "file PATH SIZE"); err != nil {
				return err
			}
			n, err := parseSize(args[1].Val)
			if err != nil {
				return errf("%v", err)
			}
			sc.GenFiles = append(sc.GenFiles, GenFile{Path: args[0].Val, Size: n})
			continue
		}
		st := &Step{Line: lineno, Text: trimmed, Verb: verb}
		switch verb {
		case stepConnect:
			if err := need(2, "connect CONN PORT"); err != nil {
				return err
			}
			st.Conn, st.Target = args[0].Val, args[1].Val
			conns[st.Conn] = true
		case stepSend:
			if err := need(2, `send CONN "bytes"... [body=SIZE]`); err != nil {
				return err
			}
			st.Conn = args[0].Val
			for _, a := range args[1:] {
				if a.Quoted && strings.HasPrefix(a.Raw, `"`) {
					st.Data = append(st.Data, a.Val...)
					continue
				}
				k, v, ok := keyVal(a)
				if !ok || k != "body" {
					return errf("send: want a quoted string or body=SIZE, got %s", a.Raw)
				}
				n, err := parseSize(v)
				if err != nil {
					return errf("%v", err)
				}
				st.Data = append(st.Data, bytes.Repeat([]byte("x"), n)...)
			}
		case stepShut, stepClose, stepReset, stepProbe:
			if err := need(1, verb+" CONN"); err != nil {
				return err
			}
			st.Conn = args[0].Val
		case stepRead:
			if err := need(1, "read CONN [head] [timeout=DUR] [show=H,...]"); err != nil {
				return err
			}
			st.Conn = args[0].Val
			st.Dur = 3 * time.Second
			for _, a := range args[1:] {
				switch k, v, _ := keyVal(a); k {
				case "head":
					st.Head = true
				case "show":
					st.Show = strings.Split(v, ",")
				case "timeout":
					if st.Dur, err = parseDuration(v); err != nil {
						return errf("%v", err)
					}
				default:
					return errf("read: unknown option %s", a.Raw)
				}
			}
		case stepEnd, stepQuiet:
			if err := need(1, verb+" CONN [DUR]"); err != nil {
				return err
			}
			st.Conn = args[0].Val
			st.Dur = 3 * time.Second
			if verb == stepQuiet {
				st.Dur = 500 * time.Millisecond
			}
			if len(args) > 1 {
				if st.Dur, err = parseDuration(args[1].Val); err != nil {
					return errf("%v", err)
				}
			}
		case stepSleep:
			if err := need(1, "sleep DUR"); err != nil {
				return err
			}
			if st.Dur, err = parseDuration(args[0].Val); err != nil {
				return errf("%v", err)
			}
		case stepAwait:
			if err := need(2, "await BACKEND N"); err != nil {
				return err
			}
			st.Target = args[0].Val
			if st.N, err = strconv.Atoi(args[1].Val); err != nil || st.N < 1 {
				return errf("await: bad count %s", args[1].Raw)
			}
		case stepReload, stepStop:
			if err := need(1, verb+" INSTANCE"); err != nil {
				return err
			}
			st.Target = args[0].Val
			if sc.instance(st.Target) == nil {
				return errf("%s: no instance %q (instances are the NAME.conf sections)", verb, st.Target)
			}
		case stepObserve:
			if err := need(1, "observe BACKEND [brief]"); err != nil {
				return err
			}
			st.Target = args[0].Val
			if len(args) > 1 {
				if args[1].Val != "brief" {
					return errf("observe: unknown option %s", args[1].Raw)
				}
				st.Brief = true
			}
		default:
			return errf("unknown step %q", verb)
		}
		if st.Conn != "" && verb != stepConnect && !conns[st.Conn] {
			return errf("%s: connection %q was never connected", verb, st.Conn)
		}
		sc.Steps = append(sc.Steps, st)
	}
	// Names used by steps must exist.
	for _, st := range sc.Steps {
		switch st.Verb {
		case stepAwait, stepObserve:
			if !sc.isPeer(st.Target) {
				return fmt.Errorf("%s:%d: %s: no backend or tap %q", sc.File, st.Line, st.Verb, st.Target)
			}
		}
	}
	for _, t := range sc.Taps {
		if sc.isPeer(t.To) && t.To == t.Name {
			return fmt.Errorf("%s: tap %s forwards to itself", sc.File, t.Name)
		}
	}
	return nil
}

func (sc *Scenario) parseBackend(line int, args []token) error {
	b := sc.backend(args[0].Val)
	r := &BackendRule{Line: line}
	rule := false
	for _, a := range args[1:] {
		k, v, hasVal := keyVal(a)
		var err error
		switch k {
		case "idle-close":
			if b.IdleClose, err = parseDuration(v); err != nil {
				return err
			}
			continue
		case "show":
			b.Show = append(b.Show, strings.Split(v, ",")...)
			continue
		case "honor-close":
			b.HonorClose = true
			continue
		case "path":
			r.Path = v
		case "method":
			r.Method = v
		case "nth":
			if r.Nth, err = strconv.Atoi(v); err != nil || r.Nth < 1 {
				return fmt.Errorf("bad nth=%s", v)
			}
		case "conn":
			if r.Conn, err = strconv.Atoi(v); err != nil || r.Conn < 1 {
				return fmt.Errorf("bad conn=%s", v)
			}
		case "respond":
			r.Response = []byte(v)
		case "body":
			n, err := parseSize(v)
			if err != nil {
				return err
			}
			var buf bytes.Buffer
			fmt.Fprintf(&buf, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", n)
			buf.Write(bytes.Repeat([]byte("b"), n))
			r.Response = buf.Bytes()
		case "delay":
			if r.Delay, err = parseDuration(v); err != nil {
				return err
			}
		case "close", "early", "drop", "reset":
			if hasVal {
				return fmt.Errorf("%s takes no value", k)
			}
			switch k {
			case "close":
				r.Close = true
			case "early":
				r.Early = true
			case "drop":
				r.Drop = true
			case "reset":
				r.Reset = true
			}
		default:
			return fmt.Errorf("backend: unknown option %s", a.Raw)
		}
		rule = true
	}
	if rule {
		b.Rules = append(b.Rules, r)
	}
	return nil
}
