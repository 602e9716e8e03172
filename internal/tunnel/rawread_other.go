//go:build !unix

package tunnel

import "net"

// rawReader is unix-only; elsewhere every direction uses the plain loop.
type rawReader struct{ bulk bool }

func newRawReader(net.Conn, *bufPools) *rawReader { return nil }
func (*rawReader) read() (int, error)             { panic("unreachable") }
func (*rawReader) buf() []byte                    { panic("unreachable") }
func (*rawReader) release()                       {}
