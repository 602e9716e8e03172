//go:build !linux

package rawio

import (
	"errors"
	"net"
)

// Conn is Linux-only; elsewhere New fails and callers use the net.Conn.
type Conn struct{ net.Conn }

// New reports that raw socket I/O is not available on this system.
func New(*net.TCPConn) (*Conn, error) { return nil, errors.ErrUnsupported }
