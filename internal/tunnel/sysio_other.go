//go:build !linux

package tunnel

import (
	"io"
	"net"
)

// socketWriter is c itself where package rawio is not available.
func socketWriter(c net.Conn) io.Writer { return c }
