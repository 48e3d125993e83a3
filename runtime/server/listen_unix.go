//go:build unix

package server

import "syscall"

// setBacklog applies the listen directive's backlog to a listening socket
// (listen(2) again on a listening socket changes its backlog, as nginx does
// for a socket inherited on reload).
func setBacklog(rc syscall.RawConn, backlog int) {
	rc.Control(func(fd uintptr) { syscall.Listen(int(fd), backlog) })
}
