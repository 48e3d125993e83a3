//go:build !unix

package upstream

import "net"

// socketError has no portable implementation outside unix.
func socketError(nc net.Conn) error { return nil }
