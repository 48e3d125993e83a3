package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/ngxkeep/ngxkeep/runtime/config"
	"github.com/ngxkeep/ngxkeep/runtime/server"
)

// serveMain is the hidden subcommand "ngxbench serve [--stats ADDR]
// FILE.hcl": it runs every instance of a runtime configuration in this
// process until SIGTERM or SIGINT, as `ngxkeep run` does, but with
// net/http/pprof available (the in-process equivalent used for profiles,
// and the fallback where `ngxkeep run` does not exist). --stats serves
// GET /stats (JSON: accepted connections and requests summed over the
// listeners, upstream counters) and net/http/pprof's /debug/pprof/ on its
// own listener, which the driver uses for the reuse ratio and profiles.
func serveMain(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("ngxbench serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	statsAddr := fs.String("stats", "", "serve counters as JSON on this address")
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: ngxbench serve [--stats ADDR] FILE.hcl")
		return 2
	}
	src, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		fmt.Fprintf(stderr, "serve: %v\n", err)
		return 2
	}
	cfg, diags := config.Decode(fs.Arg(0), src)
	if !diags.HasErrors() {
		diags = append(diags, cfg.Validate()...)
	}
	if diags.HasErrors() {
		fmt.Fprintf(stderr, "serve: %s\n", diags.Error())
		return 2
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	var running []*server.Instance
	stopAll := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		for _, r := range running {
			r.Shutdown(ctx)
		}
	}
	for _, inst := range cfg.Instances {
		r, err := startServed(inst, logger)
		if err != nil {
			stopAll()
			fmt.Fprintf(stderr, "serve: instance %q: %v\n", inst.Name, err)
			return 1
		}
		running = append(running, r)
	}
	if *statsAddr != "" {
		ln, err := net.Listen("tcp", *statsAddr)
		if err != nil {
			stopAll()
			fmt.Fprintf(stderr, "serve: stats: %v\n", err)
			return 1
		}
		mux := http.NewServeMux()
		mux.HandleFunc("/stats", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(collectStats(running))
		})
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		hs := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go hs.Serve(ln)
		defer hs.Close()
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	<-sigs
	stopAll()
	return 0
}

// startServed runs one instance; runtime/server makes the proxy the
// handler of locations with a Proxy block.
func startServed(inst *config.Instance, logger *slog.Logger) (*server.Instance, error) {
	s, err := server.New(inst, server.Options{Logger: logger})
	if err != nil {
		return nil, err
	}
	if err := s.Start(); err != nil {
		return nil, err
	}
	return s, nil
}

// serveStats is the JSON of GET /stats.
type serveStats struct {
	Accepted uint64 `json:"accepted"`
	Requests uint64 `json:"requests"`
}

func collectStats(running []*server.Instance) serveStats {
	var st serveStats
	for _, r := range running {
		for _, l := range r.Stats().Listeners {
			st.Accepted += l.Accepted
			st.Requests += l.Requests
		}
	}
	return st
}
