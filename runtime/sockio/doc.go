// Package sockio reads and writes non-blocking sockets with plain read(2)
// and write(2), for the runtime's data path (client connections in
// runtime/server, upstream connections in runtime/upstream).
//
// On Linux the calls are raw system calls, without the Go runtime's
// entersyscall/exitsyscall: on a non-blocking socket they never block (they
// return EAGAIN instead), so the scheduler has nothing to hand over while
// they run, and syscall.Read/Write would only add that cost to every
// request. Other unix systems go through syscall.Read/Write, because some
// (OpenBSD) allow system calls only through libc. Callers wait for
// readiness themselves (through syscall.RawConn) when a call returns
// EAGAIN.
package sockio
