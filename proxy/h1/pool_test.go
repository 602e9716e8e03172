package h1

import (
	"net"
	"testing"
	"time"

	"github.com/callgate/callgate/internal/testwait"
)

// TestPoolExpire: idle connections are closed after the idle timeout,
// and a full pool closes what it cannot keep.
func TestPoolExpire(t *testing.T) {
	p := &pool{idle: 50 * time.Millisecond, maxIdle: 1}
	a, b := net.Pipe()
	defer b.Close()
	p.put(newConn(a, "x:80"))
	if got := p.get("y:80"); got != nil {
		t.Fatal("got a connection for another address")
	}
	testwait.Until(t, 5*time.Second, "the idle connection to expire", func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return len(p.free) == 0
	})
	if _, err := a.Write([]byte("x")); err == nil {
		t.Error("expired connection still open")
	}
	p.idle = 0
	c, d := net.Pipe()
	defer d.Close()
	e, f := net.Pipe()
	defer f.Close()
	p.put(newConn(c, "x:80"))
	p.put(newConn(e, "x:80"))
	if _, err := e.Write([]byte("x")); err == nil {
		t.Error("a full pool kept a connection past its limit")
	}
	if p.get("x:80") == nil {
		t.Error("the pool lost the connection it had room for")
	}
}
