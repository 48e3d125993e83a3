//go:build !linux

package server

// pendingBytes is not available on this platform.
func pendingBytes(fd int) int { return 0 }
