//go:build unix && !linux

package upstream

// pollRDHUP is Linux-only; elsewhere EOF shows as readable data.
const pollRDHUP = 0
