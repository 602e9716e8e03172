//go:build !unix

package tunnel

import "net"

// rawReader is unix-only; elsewhere every direction uses the plain loop.
type rawReader struct{}

func newRawReader(net.Conn, *bufPool) *rawReader { return nil }
func (*rawReader) read() (int, error)            { panic("unreachable") }
func (*rawReader) buf() []byte                   { panic("unreachable") }
func (*rawReader) release()                      {}
