//go:build !unix

package server

import "syscall"

// setBacklog keeps the backlog Go's net package chose: this platform has
// no portable way to change it on a listening socket.
func setBacklog(rc syscall.RawConn, backlog int) {}
