//go:build !linux

package server

import "sync/atomic"

// idlePark where idle connections keep their goroutine: never parked.
type idlePark struct {
	parked atomic.Bool
}

// idler is absent on this platform.
type idler struct{}

func newIdler(w *Worker) *idler { return nil }

func (p *idler) stop() {}

func (p *idler) wake(c *conn) {}

func (c *conn) initPark() {}

// sockFD reports -1: writes always go through the poller here.
func (c *conn) sockFD() int { return -1 }

// parkable reports false: idle connections keep their goroutine here.
func (c *conn) parkable() bool { return false }

// clientAddr is the client's address for the log.
func (c *conn) clientAddr() string { return c.nc.RemoteAddr().String() }

// park keeps the goroutine of an idle connection on this platform.
func (c *conn) park() bool { return false }
