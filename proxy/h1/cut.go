package h1

import (
	"net"
	"sync"
)

// cut ends a round trip when its request's context ends — revocation, the
// proxy's idle watchdog, the client leaving: it closes the connection in
// use, which fails whatever read or write is pending, and keeps any later
// step from starting. It is the Transport's only way to stop early.
type cut struct {
	mu   sync.Mutex
	done bool
	// conn is the connection in use, nil between attempts.
	conn net.Conn
}

// do cuts the round trip (context.AfterFunc calls it).
func (c *cut) do() {
	c.mu.Lock()
	c.done = true
	conn := c.conn
	c.mu.Unlock()
	if conn != nil {
		_ = conn.Close()
	}
}

// arm makes conn the connection a cut closes; false when the round trip
// was already cut (conn is then the caller's to close).
func (c *cut) arm(conn net.Conn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done {
		return false
	}
	c.conn = conn
	return true
}

// release stops a cut from closing the connection in use (it is going back
// to the pool or being closed by its owner); false when a cut already
// closed it or is about to.
func (c *cut) release() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.conn = nil
	return !c.done
}
