package tunnel

import (
	"io"
	"net"

	"github.com/callgate/callgate/internal/rawio"
)

// sysRead is one read(2) that keeps the P (see package rawio): a tunnel's
// reads and writes are non-blocking and never wait in the kernel.
func sysRead(fd uintptr, p []byte) (int, error) {
	n, e := rawio.ReadFD(fd, p)
	if e != 0 {
		return 0, e
	}
	return n, nil
}

// socketWriter writes to c's socket without handing off the P when c is a
// plain TCP connection, else through c.
func socketWriter(c net.Conn) io.Writer {
	if tc, ok := c.(*net.TCPConn); ok {
		if rw, err := rawio.New(tc); err == nil {
			return rw
		}
	}
	return c
}
