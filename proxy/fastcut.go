package proxy

import (
	"context"
	"net"
	"sync"
)

// fastCut ends a fast-path exchange early — revocation, the watchdog, the
// client leaving — without a context of its own: it closes the endpoint
// connection in use, which fails whatever read or write is pending, and
// keeps any later step from starting. A per-exchange context and a
// callback on it cost CPU and allocations on every request, for a cut
// that rarely happens (BENCHMARKS.md, History).
type fastCut struct {
	mu  sync.Mutex
	cut bool
	// conn is the endpoint connection in use, nil between attempts.
	conn net.Conn
	// cancelDial cancels a dial in progress (dials are rare: connections
	// are pooled).
	cancelDial context.CancelFunc
}

// do cuts the exchange.
func (c *fastCut) do() {
	c.mu.Lock()
	c.cut = true
	conn, cancelDial := c.conn, c.cancelDial
	c.mu.Unlock()
	if cancelDial != nil {
		cancelDial()
	}
	if conn != nil {
		_ = conn.Close()
	}
}

// done reports whether the exchange was cut.
func (c *fastCut) done() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cut
}

// arm makes conn the connection a cut closes, or cancelDial the dial it
// cancels; false when the exchange was already cut (what the caller holds
// is then its own to close).
func (c *fastCut) arm(conn net.Conn, cancelDial context.CancelFunc) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cut {
		return false
	}
	c.conn, c.cancelDial = conn, cancelDial
	return true
}

// release stops a cut from closing the connection in use (it is going back
// to the pool or being closed by its owner) or cancelling a finished dial;
// false when a cut already closed it or is about to.
func (c *fastCut) release() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.conn, c.cancelDial = nil, nil
	return !c.cut
}
