#!/bin/sh
# Runs the full ngxbench driver and writes a dated results file pair:
#   bench/results/DATE-NAME.txt  (machine header + the driver's table)
#   bench/results/DATE-NAME.json (the same run as JSON)
# Usage (from the repository root): bench/run.sh NAME [ngxbench flags...]
set -eu
name=${1:?usage: bench/run.sh NAME [ngxbench flags...]}
shift
date=$(date -u +%Y-%m-%d)
out=bench/results/$date-$name
mkdir -p bench/results
{
	echo "# ngxbench results, $date ($name)"
	echo "#"
	echo "# command:  go run ./cmd/ngxbench --json-out $out.json $*"
	echo "# nproc:    $(nproc)"
	echo "# cpu:      $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')"
	echo "# kernel:   $(uname -sr)"
	echo "# go:       $(go version)"
	echo "# git:      HEAD $(git rev-parse --short HEAD); $(git status --porcelain -- parser lint rules runtime cmd | wc -l) uncommitted files under parser lint rules runtime cmd (go build includes them)"
	echo "# nginx:    $(nginx -v 2>&1 || echo missing)"
	echo "# haproxy:  $(haproxy -v 2>/dev/null | head -1 || echo missing)"
	echo "# caddy:    $(caddy version 2>/dev/null || echo missing)"
	echo "# wrk:      $(wrk --version 2>&1 | head -1 | sed 's/ Copyright.*//' || echo missing)"
	echo "# free -g:"
	free -g | sed 's/^/#   /'
	echo "# uptime before: $(uptime)"
	echo "# processes using CPU before the run (ps, top 8 by %CPU):"
	ps -eo pcpu,comm --sort=-pcpu | head -9 | sed 's/^/#   /'
	echo "#"
} > "$out.txt"
go run ./cmd/ngxbench --json-out "$out.json" "$@" >> "$out.txt"
echo "# uptime after: $(uptime)" >> "$out.txt"
echo "wrote $out.txt and $out.json"
