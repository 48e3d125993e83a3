package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strings"
	"time"
)

// Machine describes where the numbers were taken.
type Machine struct {
	NProc     int               `json:"nproc"`
	CPU       string            `json:"cpu"`
	Memory    string            `json:"memory"`
	Kernel    string            `json:"kernel"`
	GoVersion string            `json:"go"`
	Tools     map[string]string `json:"tools"`
}

func describeMachine() Machine {
	m := Machine{NProc: runtime.NumCPU(), GoVersion: runtime.Version(), Tools: map[string]string{}}
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(l, "model name"); ok {
				m.CPU = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(l, "MemTotal:"); ok {
				var kb int64
				fmt.Sscanf(strings.TrimSpace(v), "%d", &kb)
				m.Memory = fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
			}
		}
	}
	if data, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(data))
	}
	for name, args := range map[string][]string{
		"nginx":   {"-v"},
		"wrk":     {"--version"},
		"haproxy": {"-v"},
		"caddy":   {"version"},
		"python3": {"--version"},
	} {
		if v := toolVersion(name, args...); v != "" {
			m.Tools[name] = v
		}
	}
	return m
}

func (m Machine) toolList() []string {
	var out []string
	for k, v := range m.Tools {
		out = append(out, k+" "+v)
	}
	sort.Strings(out)
	if len(out) == 0 {
		out = []string{"none found"}
	}
	return out
}

// toolVersion returns the first line of a tool's version output with
// the tool's name stripped, or "" when it is not installed.
func toolVersion(name string, args ...string) string {
	path, err := exec.LookPath(name)
	if err != nil {
		return ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, path, args...).CombinedOutput()
	line, _, _ := bytes.Cut(bytes.TrimSpace(out), []byte("\n"))
	s := strings.TrimSpace(string(line))
	switch name {
	case "nginx":
		s = strings.TrimPrefix(s, "nginx version: ")
	case "wrk":
		if i := strings.Index(s, " Copyright"); i > 0 {
			s = s[:i]
		}
		s = strings.TrimPrefix(s, "wrk ")
	case "haproxy":
		s = strings.TrimPrefix(s, "HAProxy version ")
		if i := strings.Index(s, " - "); i > 0 {
			s = s[:i]
		}
	case "python3":
		s = strings.TrimPrefix(s, "Python ")
	}
	return s
}

// lookTool returns the path of a reference tool, or "" and the skip line.
func lookTool(name string) (string, string) {
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Sprintf("%s not installed (not in PATH)", name)
	}
	return p, ""
}
