package h1

import (
	"io"
	"net"
)

// ReplayConn is a connection the lane handed to Fallback after reading
// some of its bytes: Replay is read first, then the socket.
type ReplayConn struct {
	*net.TCPConn
	Replay []byte
}

func (c *ReplayConn) Read(p []byte) (int, error) {
	if len(c.Replay) > 0 {
		n := copy(p, c.Replay)
		c.Replay = c.Replay[n:]
		return n, nil
	}
	return c.TCPConn.Read(p)
}

// WriteTo keeps the replayed bytes first when the connection is copied
// whole (the embedded socket's WriteTo would skip them).
func (c *ReplayConn) WriteTo(w io.Writer) (int64, error) {
	var n int64
	if len(c.Replay) > 0 {
		m, err := w.Write(c.Replay)
		n += int64(m)
		c.Replay = c.Replay[m:]
		if err != nil {
			return n, err
		}
	}
	m, err := c.TCPConn.WriteTo(w)
	return n + m, err
}

// Drained returns the bare socket once every replayed byte was read (a
// tunnel may then copy between sockets), else nil.
func (c *ReplayConn) Drained() *net.TCPConn {
	if len(c.Replay) > 0 {
		return nil
	}
	return c.TCPConn
}
