//go:build nginx

package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ngxkeep/ngxkeep/runtime/config"
)

// This file compares the runtime with the installed nginx 1.22.1
// (go test -tags nginx): one description produces both an nginx.conf and
// the equivalent runtime model, the same byte scripts go to both, and the
// transcripts (bytes received, Date aside; how and when the socket ended)
// must match.

// dsetting is one setting in both vocabularies.
type dsetting struct{ nginx, model string }

var dsettings = map[string]dsetting{
	"keepalive_timeout":         {"keepalive_timeout %s;", "keepalive_timeout = %q"},
	"keepalive_header":          {"", "keepalive_header_timeout = %q"},
	"keepalive_requests":        {"keepalive_requests %s;", "keepalive_requests = %s"},
	"keepalive_disable":         {"keepalive_disable %s;", "keepalive_disable = [%q]"},
	"lingering_close":           {"lingering_close %s;", "lingering_close = %q"},
	"lingering_timeout":         {"lingering_timeout %s;", "lingering_timeout = %q"},
	"reset_timedout_connection": {"reset_timedout_connection %s;", "reset_timedout_connection = %s"},
	"client_max_body_size":      {"client_max_body_size %s;", "client_max_body_size = %q"},
	"client_body_timeout":       {"client_body_timeout %s;", "client_body_timeout = %q"},
}

type dloc struct {
	match, path string
	set         map[string]string
	ret         string // "200 text" or "500"
}

type dserver struct {
	headerTimeout string
	set           map[string]string // server-level, inherited by locations
	locs          []dloc
}

func (d dserver) nginx(port int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "    server {\n        listen 127.0.0.1:%d;\n", port)
	if d.headerTimeout != "" {
		fmt.Fprintf(&b, "        client_header_timeout %s;\n", d.headerTimeout)
	}
	writeSet := func(set map[string]string, indent string) {
		keys := sortedKeys(set)
		for _, k := range keys {
			if k == "keepalive_header" {
				continue
			}
			v := set[k]
			if k == "keepalive_timeout" && set["keepalive_header"] != "" {
				v += " " + set["keepalive_header"]
			}
			fmt.Fprintf(&b, indent+dsettings[k].nginx+"\n", v)
		}
	}
	writeSet(d.set, "        ")
	for _, l := range d.locs {
		m := map[string]string{"exact": "= ", "prefix": ""}[l.match]
		fmt.Fprintf(&b, "        location %s%s {\n", m, l.path)
		writeSet(l.set, "            ")
		code, text, _ := strings.Cut(l.ret, " ")
		if text != "" {
			fmt.Fprintf(&b, "            return %s %q;\n", code, text)
		} else {
			fmt.Fprintf(&b, "            return %s;\n", code)
		}
		b.WriteString("        }\n")
	}
	b.WriteString("    }\n")
	return b.String()
}

// model writes the same server as a runtime model: server-level settings
// are copied into every location (the translator's inheritance).
func (d dserver) model() string {
	var b strings.Builder
	b.WriteString("  server {\n    listen {\n      address = \"127.0.0.1:0\"\n    }\n")
	if d.headerTimeout != "" {
		fmt.Fprintf(&b, "    client_header_timeout = %q\n", d.headerTimeout)
	}
	writeSet := func(set map[string]string, indent string) {
		for _, k := range sortedKeys(set) {
			v := set[k]
			switch v {
			case "on":
				v = "true"
			case "off":
				if k != "lingering_close" {
					v = "false"
				}
			}
			fmt.Fprintf(&b, indent+dsettings[k].model+"\n", v)
		}
	}
	b.WriteString("    unmatched {\n")
	writeSet(d.set, "      ")
	b.WriteString("    }\n")
	for _, l := range d.locs {
		fmt.Fprintf(&b, "    location {\n      match = %q\n      path = %q\n", l.match, l.path)
		// nginx inherits keepalive_timeout's second parameter on its own.
		writeSet(merge(d.set, l.set), "      ")
		code, text, _ := strings.Cut(l.ret, " ")
		fmt.Fprintf(&b, "      return {\n        code = %s\n", code)
		if text != "" {
			fmt.Fprintf(&b, "        text = %q\n", text)
		}
		b.WriteString("      }\n    }\n")
	}
	b.WriteString("  }\n")
	return b.String()
}

func merge(a, b map[string]string) map[string]string {
	m := map[string]string{}
	for k, v := range a {
		m[k] = v
	}
	for k, v := range b {
		m[k] = v
	}
	return m
}

func sortedKeys(m map[string]string) []string {
	var k []string
	for key := range m {
		k = append(k, key)
	}
	sort.Strings(k)
	return k
}

var diffServers = []dserver{
	{
		headerTimeout: "500ms",
		set:           map[string]string{"keepalive_timeout": "75s", "keepalive_header": "9", "lingering_timeout": "300ms"},
		locs: []dloc{
			{"prefix", "/", nil, "200 ok"},
			{"prefix", "/r", map[string]string{"keepalive_requests": "3"}, "200 r"},
			{"exact", "/zero", map[string]string{"keepalive_timeout": "0"}, "200 z"},
			{"exact", "/idle", map[string]string{"keepalive_timeout": "300ms"}, "200 idle"},
			{"exact", "/safari", map[string]string{"keepalive_disable": "safari"}, "200 s"},
			{"exact", "/small", map[string]string{"client_max_body_size": "10"}, "200 small"},
			{"exact", "/always", map[string]string{"lingering_close": "always"}, "200 la"},
			{"exact", "/off", map[string]string{"lingering_close": "off"}, "200 lo"},
			{"exact", "/500", nil, "500"}, {"exact", "/500t", nil, "500 t"}, {"exact", "/404", nil, "404"},
			{"exact", "/413", nil, "413"}, {"exact", "/444", nil, "444"}, {"exact", "/408", nil, "408"},
			{"exact", "/301", nil, "301 /x"}, {"exact", "/302", nil, "302 http://e.example/"},
			{"exact", "/204", nil, "204"}, {"exact", "/299", nil, "299 n"}, {"exact", "/418", nil, "418"},
		},
	},
	{
		headerTimeout: "500ms",
		set:           map[string]string{"reset_timedout_connection": "on", "lingering_timeout": "300ms"},
		locs: []dloc{
			{"prefix", "/", nil, "200 ok"},
			{"exact", "/444", nil, "444"},
		},
	},
}

// step language: "s:<Go-quoted bytes>", "w:<ms>", "h" (shutdown write),
// "x" (write "more" to probe lingering).
type script struct {
	name   string
	server int
	steps  []string
}

var diffScripts = []script{
	{"keepalive", 0, []string{`s:GET / HTTP/1.1\r\nHost: a\r\n\r\n`}},
	{"http10", 0, []string{`s:GET / HTTP/1.0\r\n\r\n`}},
	{"http10 ka", 0, []string{`s:GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n`}},
	{"http09", 0, []string{`s:GET /\r\n`}},
	{"conn close", 0, []string{`s:GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, close\r\n\r\n`}},
	{"conn last wins", 0, []string{`s:GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\nConnection: keep-alive\r\n\r\n`}},
	{"requests seq", 0, []string{`s:GET /r HTTP/1.1\r\nHost: a\r\n\r\n`, "w:50", `s:GET /r HTTP/1.1\r\nHost: a\r\n\r\n`, "w:50", `s:GET /r HTTP/1.1\r\nHost: a\r\n\r\n`}},
	{"requests pipelined", 0, []string{`s:GET /r HTTP/1.1\r\nHost: a\r\n\r\nGET /r HTTP/1.1\r\nHost: a\r\n\r\nGET /r HTTP/1.1\r\nHost: a\r\n\r\nGET /r HTTP/1.1\r\nHost: a\r\n\r\nGET /r HTTP/1.1\r\nHost: a\r\n\r\n`}},
	{"zero", 0, []string{`s:GET /zero HTTP/1.1\r\nHost: a\r\n\r\n`}},
	{"idle timeout", 0, []string{`s:GET /idle HTTP/1.1\r\nHost: a\r\n\r\n`}},
	{"safari", 0, []string{`s:GET /safari HTTP/1.1\r\nHost: a\r\nUser-Agent: Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15\r\n\r\n`}},
	{"msie6 post", 0, []string{`s:POST / HTTP/1.1\r\nHost: a\r\nUser-Agent: Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)\r\nContent-Length: 0\r\n\r\n`}},
	{"chrome 404 padding", 0, []string{`s:GET /404 HTTP/1.1\r\nHost: a\r\nUser-Agent: Mozilla/5.0 Chrome/120.0 Safari/537.36\r\n\r\n`}},
	{"500", 0, []string{`s:GET /500 HTTP/1.1\r\nHost: a\r\n\r\n`}},
	{"500 text", 0, []string{`s:GET /500t HTTP/1.1\r\nHost: a\r\n\r\n`}},
	{"413", 0, []string{`s:GET /413 HTTP/1.1\r\nHost: a\r\n\r\n`}},
	{"444", 0, []string{`s:GET /444 HTTP/1.1\r\nHost: a\r\n\r\n`}},
	{"444 reset", 1, []string{`s:GET /444 HTTP/1.1\r\nHost: a\r\n\r\n`}},
	{"408", 0, []string{`s:GET /408 HTTP/1.1\r\nHost: a\r\n\r\n`}},
	{"301 relative", 0, []string{`s:GET /301 HTTP/1.1\r\nHost: Box.Example:81\r\n\r\n`}},
	{"302 absolute", 0, []string{`s:GET /302 HTTP/1.1\r\nHost: a\r\n\r\n`}},
	{"204 head", 0, []string{`s:HEAD /204 HTTP/1.1\r\nHost: a\r\n\r\n`}},
	{"odd codes", 0, []string{`s:GET /299 HTTP/1.1\r\nHost: a\r\n\r\nGET /418 HTTP/1.1\r\nHost: a\r\n\r\n`}},
	{"head 404", 0, []string{`s:HEAD /404 HTTP/1.1\r\nHost: a\r\n\r\n`}},
	{"first byte timeout", 0, nil},
	{"partial head timeout", 0, []string{`s:GET / HTTP/1.1\r\n`}},
	{"partial head timeout reset", 1, []string{`s:GET / HTTP/1.1\r\n`}},
	{"first byte timeout reset", 1, nil},
	{"discard later", 0, []string{`s:POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n`, "w:150", "s:abc", `s:GET / HTTP/1.1\r\nHost: a\r\n\r\n`}},
	{"discard never", 0, []string{`s:POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n`}},
	{"discard never reset", 1, []string{`s:POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n`}},
	{"discard EOF", 0, []string{`s:POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc`, "w:100", "h"}},
	{"chunked pipelined", 0, []string{`s:POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n`}},
	{"bad chunk early", 0, []string{`s:POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n`}},
	{"bad chunk late", 0, []string{`s:POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n`, "w:100", `s:zz\r\n`}},
	{"413 body", 0, []string{`s:POST /small HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n`}},
	{"413 expect", 0, []string{`s:POST /small HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\nExpect: 100-continue\r\n\r\n`}},
	{"expect", 0, []string{`s:POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n`, "w:100", "s:abc"}},
	{"cl+te", 0, []string{`s:POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n`}},
	{"linger pipelined", 0, []string{`s:GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n`, "w:100", "x"}},
	{"no linger", 0, []string{`s:GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`, "w:100", "x"}},
	{"linger always", 0, []string{`s:GET /always HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`, "w:100", "x"}},
	{"linger off", 0, []string{`s:GET /off HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`, "w:100", "x"}},
	{"bad method", 0, []string{`s:get / HTTP/1.1\r\nHost: a\r\n\r\n`}},
	{"http2 version", 0, []string{`s:GET / HTTP/2.0\r\nHost: a\r\n\r\n`}},
	{"trace", 0, []string{`s:TRACE / HTTP/1.1\r\nHost: a\r\n\r\n`}},
	{"no host", 0, []string{`s:GET / HTTP/1.1\r\n\r\n`}},
	{"unknown te", 0, []string{`s:POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n`}},
	{"09 post", 0, []string{`s:POST /\r\n`}},
	{"long uri", 0, []string{"s:GET /" + strings.Repeat("a", 9000) + ` HTTP/1.1\r\nHost: a\r\n\r\n`}},
	{"long header", 0, []string{`s:GET / HTTP/1.1\r\nHost: a\r\nX: ` + strings.Repeat("v", 9000) + `\r\n\r\n`}},
	{"zero pipelined", 0, []string{`s:GET /zero HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n`, "w:100", "x"}},
	{"close with unsent body", 0, []string{`s:POST / HTTP/1.1\r\nHost: a\r\nConnection: close\r\nContent-Length: 5\r\n\r\n`}},
	{"underscore header", 0, []string{`s:GET / HTTP/1.1\r\nHost: a\r\nX_Y: 1\r\nX.Y: 2\r\nNoColon\r\n\r\n`}},
	{"head 500", 0, []string{`s:HEAD /500 HTTP/1.1\r\nHost: a\r\n\r\n`}},
	{"abs uri", 0, []string{`s:GET http://Other.Example:8080/301 HTTP/1.1\r\nHost: a\r\n\r\n`}},
	{"options star", 0, []string{`s:OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n`}},
	{"timeout after keepalive", 0, []string{`s:GET / HTTP/1.1\r\nHost: a\r\n\r\n`, "w:200", `s:GET / HTTP/1.1\r\n`}},
	{"split body pipeline", 0, []string{`s:POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nab`, "w:50", `s:cdGET /r HTTP/1.1\r\nHost: a\r\n\r\n`}},
	{"crlf only", 0, []string{"s:" + strings.Repeat(`\r\n`, 700) + `GET / HTTP/1.1\r\nHost: a\r\n\r\n`}},
	{"dup host", 0, []string{`s:GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n`}},
	{"http10 te", 0, []string{`s:POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\nab`}},
	{"expect cl0", 0, []string{`s:POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nExpect: 100-Continue\r\n\r\n`}},
	{"expect other", 0, []string{`s:POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nExpect: 100-continue, x\r\n\r\n`}},
}

type transcript struct {
	data string
	end  string
	at   time.Duration
}

func runScript(t *testing.T, addr string, sc script) transcript {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	var buf bytes.Buffer
	done := make(chan string, 1)
	var endAt time.Duration
	go func() {
		b := make([]byte, 65536)
		for {
			c.SetReadDeadline(time.Now().Add(1500 * time.Millisecond))
			n, err := c.Read(b)
			buf.Write(b[:n])
			if err != nil {
				endAt = time.Since(start)
				switch {
				case errors.Is(err, syscall.ECONNRESET):
					done <- "rst"
				case errors.Is(err, io.EOF):
					done <- "fin"
				default:
					done <- "open"
				}
				return
			}
		}
	}()
	probe := ""
	for _, st := range sc.steps {
		kind, arg, _ := strings.Cut(st, ":")
		switch kind {
		case "s":
			s, err := strconv.Unquote(`"` + arg + `"`)
			if err != nil {
				s = arg
			}
			c.Write([]byte(s))
		case "w":
			n, _ := strconv.Atoi(arg)
			time.Sleep(time.Duration(n) * time.Millisecond)
		case "h":
			c.(*net.TCPConn).CloseWrite()
		case "x":
			// Is the server still reading after its FIN (lingering)?
			_, e1 := c.Write([]byte("more"))
			time.Sleep(50 * time.Millisecond)
			_, e2 := c.Write([]byte("more"))
			probe = " lingering"
			if e1 != nil || e2 != nil {
				probe = " closed"
			}
		}
	}
	end := <-done
	return transcript{data: buf.String(), end: end + probe, at: endAt}
}

var dateRe = regexp.MustCompile(`Date: [^\r]*\r\n`)

func startNginx(t *testing.T, conf string) {
	bin, err := exec.LookPath("nginx")
	if err != nil {
		t.Skip("nginx not installed")
	}
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "logs"), 0o755)
	os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(conf), 0o644)
	cmd := exec.Command(bin, "-p", dir, "-c", filepath.Join(dir, "nginx.conf"),
		"-g", "daemon off; pid "+filepath.Join(dir, "nginx.pid")+"; error_log "+filepath.Join(dir, "error.log")+";")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	})
	time.Sleep(300 * time.Millisecond)
}

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func TestDifferentialNginx(t *testing.T) {
	ports := []int{freePort(t), freePort(t)}
	var conf strings.Builder
	conf.WriteString("worker_processes 1;\nevents { worker_connections 64; }\nhttp {\n    access_log off;\n")
	for i, d := range diffServers {
		conf.WriteString(d.nginx(ports[i]))
	}
	conf.WriteString("}\n")
	startNginx(t, conf.String())

	var ours []string
	for _, d := range diffServers {
		src := "instance \"d\" {\n  version = \"1.22.1\"\n" + d.model() + "}\n"
		cfg, diags := config.Decode("d.hcl", []byte(src))
		if diags.HasErrors() {
			t.Fatalf("%v\n%s", diags, src)
		}
		s, err := New(cfg.Instances[0], Options{Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Shutdown(context.Background()) })
		ours = append(ours, s.Addr("127.0.0.1:0").String())
	}
	for _, sc := range diffScripts {
		sc := sc
		t.Run(sc.name, func(t *testing.T) {
			n := runScript(t, fmt.Sprintf("127.0.0.1:%d", ports[sc.server]), sc)
			o := runScript(t, ours[sc.server], sc)
			nd, od := dateRe.ReplaceAllString(n.data, ""), dateRe.ReplaceAllString(o.data, "")
			// Redirects carry the port of each server.
			od = strings.ReplaceAll(od, ours[sc.server][strings.LastIndex(ours[sc.server], ":"):], fmt.Sprintf(":%d", ports[sc.server]))
			if nd != od || n.end != o.end {
				t.Errorf("transcripts differ\n nginx: %s %q\n ours:  %s %q", n.end, nd, o.end, od)
			}
			if d := n.at - o.at; d > 400*time.Millisecond || d < -400*time.Millisecond {
				t.Errorf("end time: nginx %v, ours %v", n.at, o.at)
			}
		})
	}
}
