//go:build !linux

package server

// pendingBytes is not available on this platform.
func pendingBytes(fd int) int { return 0 }

// peekClosed is not available on this platform.
func peekClosed(fd int) bool { return false }
