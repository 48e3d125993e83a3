package server

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// hclMap renders a map block: entries are "key=value" pairs; a key
// starting with "~" or "~*" is a regular expression.
func hclMap(name, source, def string, flags string, entries ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "  map %q {\n    source = %q\n", name, hclEscape(source))
	if def != "" {
		fmt.Fprintf(&b, "    default = %q\n", hclEscape(def))
	}
	b.WriteString(flags)
	for _, e := range entries {
		k, v, _ := strings.Cut(e, "=")
		re, ci := false, false
		switch {
		case strings.HasPrefix(k, "~*"):
			k, re, ci = k[2:], true, true
		case strings.HasPrefix(k, "~"):
			k, re = k[1:], true
		}
		fmt.Fprintf(&b, "    entry {\n      key   = %q\n      value = %q\n      regex = %v\n      case_insensitive = %v\n    }\n", k, hclEscape(v), re, ci)
	}
	b.WriteString("  }\n")
	return b.String()
}

// getWith sends a GET with the given Host and extra header lines.
func getWith(cl *client, path, host string, headers ...string) *response {
	cl.t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: %s\r\n", path, host)
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	cl.send(b.String() + "\r\n")
	return cl.read(false)
}

// hclEscape escapes HCL's template sequences ("${" and "%{").
func hclEscape(s string) string {
	return strings.NewReplacer("${", "$${", "%{", "%%{").Replace(s)
}

// retLoc is a location answering 200 with text (variables evaluated).
func retLoc(match, path, extra, text string) string {
	return fmt.Sprintf(`    location {
      match = %q
      path  = %q
%s
      return {
        code = 200
        text = %q
      }
    }
`, match, path, extra, hclEscape(text))
}

func hclSet(name, value string) string {
	return fmt.Sprintf("      set %q {\n        value = %q\n      }\n", name, hclEscape(value))
}

func serverBlock(extra, locs string) string {
	return fmt.Sprintf(`  server {
    listen {
      address = "127.0.0.1:0"
    }
    server_names = ["main.test"]
%s
%s
  }
`, extra, locs)
}

// TestMapEvaluation checks map lookups through the server: exact keys
// (case-insensitive, the empty key), the default, regular expressions in
// order with their captures and named groups, and hostnames.
func TestMapEvaluation(t *testing.T) {
	maps := hclMap("upgrade", "$http_upgrade", "upgrade", "", "=close") +
		hclMap("kind", "$arg_k", "other", "",
			"Static=exact",
			`~^img/(\w+)\.(png|jpg)$=image $2 of $1`,
			`~*^IMG=image-ci`,
			`~^(?P<first>[a-z]+)-(?P<second>[a-z]+)$=named`,
			`~^img=never (an earlier regex wins)`) +
		hclMap("site", "$http_x_site", "none", "    hostnames = true\n",
			"example.com=exact",
			"*.example.com=star",
			"*.deep.example.com=deeper",
			".example.org=dot",
			"www.example.*=tail",
			`~^(?P<sub>\w+)\.regex\.test$=re:$sub`) +
		hclMap("plain", "$http_x_site", "none", "", "*.example.com=literal")
	locs := retLoc("prefix", "/up", "", "[$upgrade]") +
		retLoc("prefix", "/kind", "", "[$kind][$1][$2][$first][$second]") +
		retLoc("prefix", "/site", "", "[$site][$sub][$plain]")
	s := start(t, instHCL(maps, serverBlock("", locs)))

	tests := []struct {
		path, header, want string
	}{
		{"/up", "", "[close]"},
		{"/up", "Upgrade: websocket", "[upgrade]"},
		{"/kind?k=static", "", "[exact][][][][]"}, // exact keys ignore case
		{"/kind?k=img/cat.png", "", "[image png of cat][cat][png][][]"},
		{"/kind?k=IMGX", "", "[image-ci][][][][]"},
		{"/kind?k=ab-cd", "", "[named][ab][cd][ab][cd]"},
		{"/kind?k=zzz", "", "[other][][][][]"},
		{"/kind", "", "[other][][][][]"}, // "" is never matched by a regex
		{"/site", "X-Site: example.com", "[exact][][none]"},
		{"/site", "X-Site: Example.COM.", "[exact][][none]"}, // trailing dot ignored
		{"/site", "X-Site: a.example.com", "[star][][none]"}, // no wildcards without hostnames
		{"/site", "X-Site: *.example.com", "[star][][literal]"},
		{"/site", "X-Site: x.deep.example.com", "[deeper][][none]"},
		{"/site", "X-Site: example.org", "[dot][][none]"},
		{"/site", "X-Site: a.b.example.org", "[dot][][none]"},
		{"/site", "X-Site: www.example.co.uk", "[tail][][none]"},
		{"/site", "X-Site: abc.regex.test", "[re:abc][abc][none]"},
		{"/site", "X-Site: other.test", "[none][][none]"},
	}
	for _, tt := range tests {
		cl := dial(t, s.addr)
		var extra []string
		if tt.header != "" {
			extra = append(extra, tt.header)
		}
		r := getWith(cl, tt.path, "t", extra...)
		expectStatus(t, r, 200)
		if r.body != tt.want {
			t.Errorf("GET %s (%s): body %q, want %q", tt.path, tt.header, r.body, tt.want)
		}
	}
}

// TestMapCacheAndSet checks nginx's evaluation order and caching: set
// steps run in order at server then location level, a map keeps its first
// result for the whole request (internal redirects included) unless it is
// volatile, a variable set on another location's path is empty, and a
// map that depends on itself is empty.
func TestMapCacheAndSet(t *testing.T) {
	maps := hclMap("m", "$uri", "other", "", "/a=A", "/b=B") +
		hclMap("mv", "$uri", "other", "    volatile = true\n", "/a=A", "/b=B") +
		hclMap("loop1", "$loop2", "x", "") + hclMap("loop2", "$loop1", "y", "")
	locs := fmt.Sprintf(`    location {
      match = "prefix"
      path  = "/a"
%s%s      error_page {
        codes = [404]
        uri   = "/b"
      }
      return {
        code = 404
      }
    }
`, hclSet("x", "$m"), hclSet("y", "$mv")) +
		retLoc("prefix", "/b", "", "m=$m mv=$mv x=$x") +
		retLoc("prefix", "/set", hclSet("one", "1")+hclSet("two", "${one}2")+hclSet("one", "again"), "$srv/$one/$two/$only") +
		retLoc("prefix", "/other", hclSet("only", "here"), "$only") +
		retLoc("prefix", "/loop", "", "[$loop1]") +
		retLoc("prefix", "/override", hclSet("m", "set-m")+hclSet("mv", "set-mv"), "$m $mv")
	srv := serverBlock(`    set "srv" {
      value = "S:$uri"
    }
`, locs)
	s := start(t, instHCL(maps, srv))
	cl := dial(t, s.addr)
	// /a evaluates $m and $mv, then error_page 404 redirects to /b
	// (which answers with the 404 status): $m keeps "A", volatile $mv is
	// looked up again, and $x set in /a is still set (r->variables
	// survive internal redirects).
	if r := cl.get("/a"); r.status != 404 || r.body != "m=A mv=B x=A" {
		t.Errorf("/a → /b: %d %q, want 404 \"m=A mv=B x=A\"", r.status, r.body)
	}
	if r := cl.get("/b"); r.body != "m=B mv=B x=" {
		t.Errorf("/b: %q; the cache must not outlive the request", r.body)
	}
	if r := cl.get("/set"); r.body != "S:/set/again/12/" {
		t.Errorf("/set: %q, want the steps in order", r.body)
	}
	if r := cl.get("/other"); r.body != "here" {
		t.Errorf("/other: %q", r.body)
	}
	// set overrides a map's variable, a volatile one too
	// (ngx_http_script_set_var_code leaves the value cacheable).
	if r := cl.get("/override"); r.body != "set-m set-mv" {
		t.Errorf("/override: %q", r.body)
	}
	// A cycle ends (nginx fails the request with 500 after 100 levels;
	// the runtime reads the variable being evaluated as empty).
	if r := cl.get("/loop"); r.status != 200 || r.body != "[x]" {
		t.Errorf("/loop: %d %q, want the cycle cut at the repeated map", r.status, r.body)
	}
}

// TestValuesWithVariables checks return URLs, add_header, error_page URIs,
// location captures and the built-in variables.
func TestValuesWithVariables(t *testing.T) {
	locs := fmt.Sprintf(`    location {
      match = "prefix"
      path  = "/redir"
      return {
        code = 302
        text = "http://$host/to$request_uri"
      }
    }
    location {
      match = "prefix"
      path  = "/hdr"
      add_header {
        name  = "X-Args"
        value = "$args"
      }
      add_header {
        name  = "X-Empty"
        value = "$arg_none"
      }
      add_header {
        name  = "X-Static"
        value = "s"
      }
      return {
        code = 200
        text = "ok"
      }
    }
    location {
      match = "prefix"
      path  = "/err"
      error_page {
        codes = [404]
        uri   = "/target?from=$uri"
      }
      return {
        code = 404
      }
    }
    location {
      match = "regex"
      path  = "^/cap/(\\w+)/(?P<rest>.*)$"
      return {
        code = 200
        text = "$1|$rest|$2"
      }
    }
%s%s%s`,
		retLoc("prefix", "/target", "", "from=$arg_from"),
		retLoc("prefix", "/vars", "", "$request_method $uri $is_args$args h=$host a=$arg_A c=$cookie_sid x=$http_x_multi p=$server_protocol s=$scheme"),
		retLoc("prefix", "/conn", "", "$connection_requests"))
	s := start(t, instHCL("", serverBlock("", locs)))
	cl := dial(t, s.addr)

	r := getWith(cl, "/redir?q=1", "Main.Test")
	if r.status != 302 || r.header("Location") != "http://main.test/to/redir?q=1" {
		t.Errorf("return 302 with variables: %d Location %q", r.status, r.header("Location"))
	}
	r = cl.get("/hdr?a=1")
	if r.header("X-Args") != "a=1" || r.has("X-Empty") || r.header("X-Static") != "s" {
		t.Errorf("add_header: %v (X-Empty must be left out: its value is empty)", r.headers)
	}
	r = cl.get("/err")
	if r.status != 404 || r.body != "from=/err" {
		t.Errorf("error_page with a variable URI: %d %q", r.status, r.body)
	}
	r = cl.get("/cap/abc/d/e")
	if r.body != "abc|d/e|d/e" {
		t.Errorf("location captures: %q", r.body)
	}
	r = getWith(cl, "/vars?a=7&b=2", "main.test", "Cookie: x=1; sid=42", "X-Multi: one", "X-Multi: two")
	want := "GET /vars ?a=7&b=2 h=main.test a=7 c=42 x=one p=HTTP/1.1 s=http"
	if r.body != want {
		t.Errorf("built-ins (1.22: $http_ gives the first line):\n got %q\nwant %q", r.body, want)
	}
	cl3 := dial(t, s.addr)
	for i := 1; i <= 3; i++ {
		if r := cl3.get("/conn"); r.body != fmt.Sprint(i) {
			t.Errorf("$connection_requests on request %d: %q", i, r.body)
		}
	}

	// 1.23.0+ joins every header line of the name.
	s2 := start(t, strings.Replace(instHCL("", serverBlock("", retLoc("prefix", "/", "", "$http_x_multi"))), "1.22.1", "1.24.0", 1))
	cl2 := dial(t, s2.addr)
	if r := getWith(cl2, "/", "t", "X-Multi: one", "X-Multi: two"); r.body != "one, two" {
		t.Errorf("1.24 $http_x_multi: %q", r.body)
	}
}

// TestProxyVariables runs variables through the proxy: a map feeding
// Connection (the WebSocket idiom), headers from the client request, a
// set variable naming the upstream (pooled), and proxy_redirect.
func TestProxyVariables(t *testing.T) {
	be := newScriptedBackend(t, func(r beReq) beAction {
		switch {
		case strings.HasPrefix(r.head, "GET /moved "):
			return beAction{resp: "HTTP/1.1 302 Found\r\nLocation: http://be/new/place\r\nContent-Length: 0\r\n\r\n"}
		case strings.HasPrefix(r.head, "GET /elsewhere "):
			return beAction{resp: "HTTP/1.1 302 Found\r\nLocation: http://other/x\r\nContent-Length: 0\r\n\r\n"}
		case strings.HasPrefix(r.head, "GET /relative "):
			return beAction{resp: "HTTP/1.1 302 Found\r\nLocation: /rel\r\nRefresh: 5; url=http://be/r\r\nContent-Length: 0\r\n\r\n"}
		}
		return beAction{resp: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"}
	})
	defer be.close()
	maps := hclMap("connection_upgrade", "$http_upgrade", "upgrade", "", "=")
	src := fmt.Sprintf(`instance "t" {
  version = "1.22.1"
%s
  upstream "be" {
    server %q {}
    keepalive {
      connections = 4
      enabled     = true
    }
  }
  server {
    listen {
      address = "127.0.0.1:0"
    }
    location {
      match = "prefix"
      path  = "/"
      set "target" {
        value = "be"
      }
      proxy {
        pass         = "http://$target"
        http_version = "1.1"
        set_header "Connection" {
          value = "$connection_upgrade"
        }
        set_header "X-Info" {
          value = "$host|$arg_a|$http_x_in|$remote_addr"
        }
        redirect {
          from = "http://be/"
          to   = "/"
        }
      }
    }
  }
}
`, maps, be.addr())
	s := start(t, src)
	cl := dial(t, s.addr)
	for i := 0; i < 3; i++ {
		r := getWith(cl, fmt.Sprintf("/p%d?a=%d", i, i), "front.test", "X-In: v")
		expectStatus(t, r, 200)
	}
	conns, reqs := be.counts()
	if conns != 1 || len(reqs) != 3 {
		t.Errorf("set $target naming the upstream: %d connections for %d requests, want 1 (pooled)", conns, len(reqs))
	}
	for i, rq := range reqs {
		if c := rq.header("Connection"); c != "" {
			t.Errorf("request %d sent Connection %q; the map gives '' without Upgrade", i, c)
		}
		if want := fmt.Sprintf("front.test|%d|v|127.0.0.1", i); rq.header("X-Info") != want {
			t.Errorf("request %d X-Info %q, want %q", i, rq.header("X-Info"), want)
		}
	}

	r := getWith(cl, "/moved", "front.test")
	if loc := r.header("Location"); !strings.HasPrefix(loc, "http://front.test:") || !strings.HasSuffix(loc, "/new/place") {
		t.Errorf("proxy_redirect: Location %q, want http://front.test:PORT/new/place", loc)
	}
	r = getWith(cl, "/elsewhere", "front.test")
	if loc := r.header("Location"); loc != "http://other/x" {
		t.Errorf("a Location no rule matches passes unchanged: %q", loc)
	}
	r = getWith(cl, "/relative", "front.test")
	if loc := r.header("Location"); loc != "/rel" {
		t.Errorf("a relative Location the rules do not rewrite stays relative: %q", loc)
	}
	if ref := r.header("Refresh"); ref != "5; url=/r" {
		t.Errorf("Refresh: %q, want its URL rewritten", ref)
	}

	// With Upgrade, the map gives "upgrade".
	cl2 := dial(t, s.addr)
	cl2.send("GET /ws HTTP/1.1\r\nHost: front.test\r\nUpgrade: websocket\r\n\r\n")
	cl2.read(false)
	deadline := time.Now().Add(2 * time.Second)
	for {
		_, reqs := be.counts()
		last := reqs[len(reqs)-1]
		if strings.HasPrefix(last.head, "GET /ws ") {
			if c := last.header("Connection"); c != "upgrade" {
				t.Errorf("with Upgrade: Connection %q, want upgrade", c)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the backend never saw /ws")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// BenchmarkReturnMapSet is BenchmarkReturn200 with a map evaluated by a
// set step, an add_header and a return text with variables: the cost of
// the variable machinery per request (compare with BenchmarkReturn200).
func BenchmarkReturnMapSet(b *testing.B) {
	maps := hclMap("m", "$http_user_agent", "other", "", "wrk=bench", `~^curl/(\d+)=curl $1`)
	locs := fmt.Sprintf(`    location {
      match = "prefix"
      path  = "/"
      keepalive_requests = 1000000000
%s      add_header {
        name  = "X-M"
        value = "$m"
      }
      return {
        code = 200
        text = "$x"
      }
    }
`, hclSet("x", "${m}!"))
	s := startBench(b, instHCL(maps, serverBlock("", locs)))
	c, err := net.Dial("tcp", s.Addr("127.0.0.1:0").String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	req := []byte("GET / HTTP/1.1\r\nHost: localhost\r\nUser-Agent: wrk\r\nAccept: */*\r\n\r\n")
	br := bufio.NewReader(c)
	c.Write(req)
	n := 0
	for {
		l, err := br.ReadString('\n')
		if err != nil {
			b.Fatal(err)
		}
		n += len(l)
		if l == "\r\n" {
			break
		}
	}
	body := make([]byte, len("bench!"))
	if _, err := io.ReadFull(br, body); err != nil || string(body) != "bench!" {
		b.Fatalf("body %q, %v", body, err)
	}
	first := n + len(body)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.Write(req)
		c.SetReadDeadline(time.Now().Add(time.Second))
		if _, err := br.Discard(first); err != nil {
			b.Fatal(err)
		}
	}
}
