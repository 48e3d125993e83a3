//go:build !unix

package server

// socketReadable cannot wait without reading here: report readable and let
// the body read block under the connection lock.
func socketReadable(fd int) bool { return true }
