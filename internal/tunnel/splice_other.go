//go:build !linux

package tunnel

import (
	"net"
	"sync/atomic"
)

var spliceBursts atomic.Int64 // stays 0

// splicer is Linux-only; elsewhere bulk bursts copy through buffers.
type splicer struct{ disabled bool }

func (*splicer) acquire() bool                          { return false }
func newSplicer(net.Conn, net.Conn) *splicer            { return nil }
func (*splicer) burst(*direction) (eof bool, err error) { return false, nil }
