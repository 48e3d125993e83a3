//go:build !linux

package server

import (
	"os"
	"time"
)

// pendingBytes is not available on this platform.
func pendingBytes(fd int) int { return 0 }

// peekClosed is not available on this platform.
func peekClosed(fd int) bool { return false }

// sendFile is not available on this platform: files are copied through
// the output buffer.
func (rw *rawWriter) sendFile(f *os.File, n int64, timeout time.Duration) (int64, bool, error) {
	return 0, false, nil
}
