//go:build !unix

package upstream

import (
	"errors"
	"io"
	"net"
)

// sockProbe has no portable implementation outside unix: no checks.
type sockProbe struct{}

func newSockProbe(nc net.Conn) *sockProbe { return nil }

func (p *sockProbe) socketError() error { return nil }

func (p *sockProbe) probe() error { return nil }

var errWouldBlock = errors.New("upstream write would block")

func (p *sockProbe) writeAndWait(b []byte) (int, error, error) { return 0, errWouldBlock, nil }

func (p *sockProbe) reader(nc net.Conn) io.Reader { return nc }
