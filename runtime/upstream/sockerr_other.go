//go:build !unix

package upstream

import "net"

// sockProbe has no portable implementation outside unix: no checks.
type sockProbe struct{}

func newSockProbe(nc net.Conn) *sockProbe { return nil }

func (p *sockProbe) socketError() error { return nil }

func (p *sockProbe) probe() error { return nil }
