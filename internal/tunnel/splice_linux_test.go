//go:build linux

package tunnel

import (
	"testing"
	"time"
)

// TestPipeSpliceCapFallsBack: with no pipe to spare, bulk bursts copy
// through buffers and every byte still arrives.
func TestPipeSpliceCapFallsBack(t *testing.T) {
	saved := maxPipes
	maxPipes = 0
	defer func() { maxPipes = saved }()
	g := newLoopback(t).legs(t)
	defer g.closeTestEnds()
	before := spliceBursts.Load()
	res := startPipe(g, Options{})
	up, down := randomBytes(t, 4<<20), randomBytes(t, 4<<20)
	exchange(t, g.client, g.upstream, up, down)
	if r := waitResult(t, res, 10*time.Second); r.Reason != ReasonEOF || r.Up != 4<<20 || r.Down != 4<<20 {
		t.Fatalf("result %+v", r)
	}
	if n := spliceBursts.Load() - before; n != 0 {
		t.Errorf("%d bursts spliced past a cap of 0 pipes", n)
	}
	if n := pipesInUse.Load(); n != 0 {
		t.Errorf("%d pipe slots still taken", n)
	}
}
