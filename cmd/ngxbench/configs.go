package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// The configurations below are the same setup written for each tool.
// nginx and ngxkeep share every keep-alive setting by leaving them at
// nginx 1.22.1's defaults (keepalive_timeout 75s, keepalive_requests 1000,
// upstream keepalive_timeout 60s and keepalive_requests 1000).

const benchVersion = "1.22.1"

// nginxTemps returns *_temp_path directives inside prefix, so that nginx
// never creates its compiled-in /var/lib/nginx paths.
func nginxTemps(prefix string) string {
	var b strings.Builder
	for _, kind := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		fmt.Fprintf(&b, "    %s_temp_path %s;\n", kind, filepath.Join(prefix, "tmp", kind))
	}
	return b.String()
}

// nginxReturnConf: 2 workers answering `return 200 "ok"`; statusPort > 0
// adds a stub_status server on its own port (the proxy suite's backend
// counts accepted connections with it).
func nginxReturnConf(prefix string, port, statusPort, workerConns int) string {
	status := ""
	if statusPort > 0 {
		status = fmt.Sprintf("    server {\n        listen 127.0.0.1:%d;\n        location / { stub_status; }\n    }\n", statusPort)
	}
	return fmt.Sprintf(`worker_processes 2;
events { worker_connections %d; }
http {
    access_log off;
%s    server {
        listen 127.0.0.1:%d;
        location / { return 200 "ok"; }
    }
%s}
`, workerConns, nginxTemps(prefix), port, status)
}

// nginxProxyConf: 2 workers proxying to one backend through a pool of 64
// idle connections, HTTP/1.1 with the Connection header cleared.
func nginxProxyConf(prefix string, port, backend int) string {
	return fmt.Sprintf(`worker_processes 2;
events { worker_connections 4096; }
http {
    access_log off;
%s    upstream be {
        server 127.0.0.1:%d;
        keepalive 64;
    }
    server {
        listen 127.0.0.1:%d;
        location / {
            proxy_pass http://be;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
`, nginxTemps(prefix), backend, port)
}

// hclReturn is nginxReturnConf in the runtime model.
func hclReturn(port, workerConns int) string {
	return fmt.Sprintf(`instance "bench" {
  version            = %q
  worker_processes   = 2
  worker_connections = %d

  server {
    listen {
      address = "127.0.0.1:%d"
    }
    location {
      match = "prefix"
      path  = "/"
      return {
        code = 200
        text = "ok"
      }
    }
  }
}
`, benchVersion, workerConns, port)
}

// hclProxy is nginxProxyConf in the runtime model.
func hclProxy(port, backend int) string {
	return fmt.Sprintf(`instance "front" {
  version            = %q
  worker_processes   = 2
  worker_connections = 4096

  upstream "be" {
    server "127.0.0.1:%d" {}
    keepalive {
      connections = 64
      enabled     = true
    }
  }

  server {
    listen {
      address = "127.0.0.1:%d"
    }
    location {
      match = "prefix"
      path  = "/"
      proxy {
        pass         = "http://be"
        http_version = "1.1"
        set_header "Connection" {
          value = ""
        }
      }
    }
  }
}
`, benchVersion, backend, port)
}

// haproxyConf: 2 threads, HTTP keep-alive on both sides (HAProxy's
// default), and "http-reuse always" so that any idle server connection
// serves any request, as nginx's keepalive pool does.
func haproxyConf(port, backend int) string {
	return fmt.Sprintf(`global
    nbthread 2
    maxconn 4096

defaults
    mode http
    timeout connect 5s
    timeout client 75s
    timeout server 60s
    timeout http-keep-alive 75s
    http-reuse always

frontend fe
    bind 127.0.0.1:%d
    default_backend be

backend be
    server s1 127.0.0.1:%d
`, port, backend)
}

// caddyfile: reverse_proxy with up to 64 idle connections to the backend
// (Caddy's HTTP transport keeps HTTP/1.1 connections alive by default).
func caddyfile(port, backend int) string {
	return fmt.Sprintf(`{
	admin off
	auto_https off
}
http://:%d {
	bind 127.0.0.1
	reverse_proxy 127.0.0.1:%d {
		transport http {
			keepalive 60s
			keepalive_idle_conns 64
			keepalive_idle_conns_per_host 64
		}
	}
}
`, port, backend)
}

// startNginx writes conf into prefix and runs nginx in the foreground
// with its own pid file and error log.
func (b *bench) startNginx(name, prefix, conf string) (*proc, error) {
	nginx, err := exec.LookPath("nginx")
	if err != nil {
		return nil, err
	}
	for _, d := range []string{"logs", "tmp"} {
		if err := os.MkdirAll(filepath.Join(prefix, d), 0o755); err != nil {
			return nil, err
		}
	}
	path := filepath.Join(prefix, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	errLog := filepath.Join(prefix, "logs", "error.log")
	globals := fmt.Sprintf("daemon off; master_process on; pid %s; error_log %s warn;", filepath.Join(prefix, "logs", "nginx.pid"), errLog)
	cmd := exec.Command(nginx, "-p", prefix+"/", "-e", errLog, "-c", path, "-g", globals)
	return procs.start(name, cmd, filepath.Join(prefix, "stderr.log"), errLog)
}

// startOurs runs our server on the configuration: `ngxkeep run` on the
// nginx file when it exists, else `ngxbench serve` on the equivalent HCL.
// Both serve JSON counters on statsAddr (ngxkeep run: --admin, when it
// has that flag); the serve child also serves net/http/pprof there. It
// returns the address the counters are on, "" when there are none.
func (b *bench) startOurs(name, prefix, nginxConf, hcl, statsAddr string) (*proc, string, error) {
	if err := os.MkdirAll(filepath.Join(prefix, "tmp"), 0o755); err != nil {
		return nil, "", err
	}
	if b.ours() == "run" {
		bin, err := b.ngxkeep()
		if err != nil {
			return nil, "", err
		}
		path := filepath.Join(prefix, "nginx.conf")
		if err := os.WriteFile(path, []byte(nginxConf), 0o644); err != nil {
			return nil, "", err
		}
		// Close reasons are logged at info; nginx's error_log here is at
		// warn, so both log the same (nothing, unless something fails).
		args := []string{"run", "--nginx-version", benchVersion, "--log-level", "warn", "--report", "none", "--color", "never"}
		if !b.runAdmin {
			statsAddr = ""
		}
		if statsAddr != "" {
			args = append(args, "--admin", statsAddr)
		}
		cmd := exec.Command(bin, append(args, path)...)
		cmd.Dir = prefix
		p, err := procs.start(name, cmd, filepath.Join(prefix, "ngxkeep.log"))
		return p, statsAddr, err
	}
	self, err := b.self()
	if err != nil {
		return nil, "", err
	}
	path := filepath.Join(prefix, "bench.hcl")
	if err := os.WriteFile(path, []byte(hcl), 0o644); err != nil {
		return nil, "", err
	}
	args := []string{"serve"}
	if statsAddr != "" {
		args = append(args, "--stats", statsAddr)
	}
	args = append(args, path)
	cmd := exec.Command(self, args...)
	cmd.Dir = prefix
	p, err := procs.start(name, cmd, filepath.Join(prefix, "serve.log"))
	return p, statsAddr, err
}

func (b *bench) startHAProxy(name, prefix, conf string) (*proc, error) {
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		return nil, err
	}
	path := filepath.Join(prefix, "haproxy.cfg")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "-f", path, "-db")
	cmd.Dir = prefix
	return procs.start(name, cmd, filepath.Join(prefix, "haproxy.log"))
}

func (b *bench) startCaddy(name, prefix, conf string) (*proc, error) {
	bin, err := exec.LookPath("caddy")
	if err != nil {
		return nil, err
	}
	path := filepath.Join(prefix, "Caddyfile")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "run", "--config", path, "--adapter", "caddyfile")
	cmd.Dir = prefix
	// Caddy's state (certificates, autosave) stays in the prefix; two
	// threads of Go code like the others' two workers.
	cmd.Env = append(os.Environ(), "GOMAXPROCS=2", "HOME="+prefix,
		"XDG_CONFIG_HOME="+filepath.Join(prefix, "config"), "XDG_DATA_HOME="+filepath.Join(prefix, "data"))
	return procs.start(name, cmd, filepath.Join(prefix, "caddy.log"))
}
