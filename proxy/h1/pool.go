package h1

import (
	"sync"
	"time"
)

// pool holds a Transport's idle connections, oldest first, each with
// the address it was dialed for.
type pool struct {
	idle    time.Duration // 0: no idle limit
	maxIdle int
	mu      sync.Mutex
	free    []*conn
	// sweep closes connections idle for longer than idle; it runs only
	// while the pool holds some.
	sweep *time.Timer
}

// get takes the most recently pooled connection to addr, or nil.
func (p *pool) get(addr string) *conn {
	var stale []*conn
	p.mu.Lock()
	var c *conn
	for i := len(p.free) - 1; i >= 0; i-- {
		if p.free[i].addr != addr {
			continue
		}
		c = p.free[i]
		copy(p.free[i:], p.free[i+1:])
		p.free[len(p.free)-1] = nil
		p.free = p.free[:len(p.free)-1]
		if p.idle > 0 && time.Since(c.idleAt) > p.idle {
			stale = append(stale, c)
			c = nil
			continue
		}
		break
	}
	p.mu.Unlock()
	for _, sc := range stale {
		_ = sc.nc.Close()
	}
	return c
}

// put pools c, or closes it when the pool is full.
func (p *pool) put(c *conn) {
	p.mu.Lock()
	if len(p.free) >= p.maxIdle {
		p.mu.Unlock()
		_ = c.nc.Close()
		return
	}
	c.idleAt = time.Now()
	p.free = append(p.free, c)
	if p.idle > 0 && p.sweep == nil {
		p.sweep = time.AfterFunc(p.idle, p.expire)
	}
	p.mu.Unlock()
}

// expire closes the connections idle for longer than p.idle and re-arms
// for the oldest one left.
func (p *pool) expire() {
	now := time.Now()
	p.mu.Lock()
	n := 0
	for n < len(p.free) && now.Sub(p.free[n].idleAt) >= p.idle {
		n++
	}
	old := make([]*conn, n)
	copy(old, p.free[:n])
	rest := copy(p.free, p.free[n:])
	clear(p.free[rest:])
	p.free = p.free[:rest]
	if len(p.free) > 0 {
		p.sweep.Reset(p.free[0].idleAt.Add(p.idle).Sub(now))
	} else {
		p.sweep = nil
	}
	p.mu.Unlock()
	for _, c := range old {
		_ = c.nc.Close()
	}
}

// closeAll closes every pooled connection.
func (p *pool) closeAll() {
	p.mu.Lock()
	free := p.free
	p.free = nil
	if p.sweep != nil {
		p.sweep.Stop()
		p.sweep = nil
	}
	p.mu.Unlock()
	for _, c := range free {
		_ = c.nc.Close()
	}
}

// IdleConns is the number of connections in the pool.
func (t *Transport) IdleConns() int {
	t.pool.mu.Lock()
	defer t.pool.mu.Unlock()
	return len(t.pool.free)
}
