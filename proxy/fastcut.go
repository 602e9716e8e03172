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
// callback on it cost ~3 µs of CPU per request, more than the rest of the
// bookkeeping around the exchange.
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

// use makes conn the connection a cut closes; false when the exchange was
// already cut (conn is then the caller's to close).
func (c *fastCut) use(conn net.Conn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cut {
		return false
	}
	c.conn = conn
	return true
}

// release stops a cut from closing the connection in use (it is going back
// to the pool or being closed by its owner); false when a cut already
// closed it or is about to.
func (c *fastCut) release() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.conn = nil
	return !c.cut
}

// dialing registers the cancel of a dial in progress; false when the
// exchange was already cut. dialed unregisters it.
func (c *fastCut) dialing(cancel context.CancelFunc) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cut {
		return false
	}
	c.cancelDial = cancel
	return true
}

func (c *fastCut) dialed() {
	c.mu.Lock()
	c.cancelDial = nil
	c.mu.Unlock()
}
