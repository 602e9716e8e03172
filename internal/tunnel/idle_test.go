package tunnel

import (
	"io"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"
)

// pipeFunc starts a tunnel implementation on the proxy ends of g; it must
// end when stop closes or the test ends close.
type pipeFunc func(g legs, stop chan struct{}) Result

func pipeWithOptions(g legs, stop chan struct{}) Result {
	// The options a proxy really passes: an idle limit and a stop channel.
	return Pipe(g.proxyC, g.proxyU, Options{IdleTimeout: time.Hour, Stop: stop, OnBytes: func(int64, int64) {}})
}

// spliceReference is the naive tunnel: io.Copy both ways, which splices
// between TCP sockets through a pipe pair held for the whole copy.
func spliceReference(g legs, _ chan struct{}) Result {
	var wg sync.WaitGroup
	var down int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		down, _ = io.Copy(g.proxyC, g.proxyU)
		_ = g.proxyC.(*net.TCPConn).CloseWrite()
	}()
	up, _ := io.Copy(g.proxyU, g.proxyC)
	_ = g.proxyU.(*net.TCPConn).CloseWrite()
	wg.Wait()
	g.proxyC.Close()
	g.proxyU.Close()
	return Result{Up: up, Down: down, Reason: ReasonEOF}
}

// idleFigures is what n idle tunnels cost beyond their sockets.
type idleFigures struct {
	n                 int
	socketFDs         int     // descriptors the 4n test sockets took
	extraFDs          int     // descriptors the tunnels added while idle
	bytesPerTunnel    float64 // heap + stacks per idle tunnel
	heapPerTunnel     float64
	stackPerTunnel    float64
	goroutinesPerTunn float64
}

// probeIdle opens n tunnels, moves a burst both ways through each, lets
// them go idle and measures, then stops them and waits for every goroutine.
func probeIdle(tb testing.TB, n int, start pipeFunc) idleFigures {
	tb.Helper()
	l := newLoopback(tb)
	// Pipes that io.Copy's splice pool kept from an earlier run are closed
	// by finalisers after a few collections; count without them.
	memInUse()
	time.Sleep(20 * time.Millisecond)
	fd0 := countFDs(tb)
	tunnels := make([]legs, n)
	for i := range tunnels {
		tunnels[i] = l.legs(tb)
	}
	f := idleFigures{n: n, socketFDs: countFDs(tb) - fd0}
	results := make(chan Result, n)
	stop := make(chan struct{})
	burst := make([]byte, 256<<10) // past a small buffer: bulk reads step up
	got := make([]byte, len(burst))
	g0 := runtime.NumGoroutine()
	heap0, stack0 := memInUse()
	for _, g := range tunnels {
		go func() { results <- start(g, stop) }()
	}
	for _, g := range tunnels {
		// A burst each way, so every direction has taken and given back a
		// buffer (or spliced) before it is measured idle.
		for _, p := range [][2]net.Conn{{g.client, g.upstream}, {g.upstream, g.client}} {
			if _, err := p[0].Write(burst); err != nil {
				tb.Fatal(err)
			}
			if _, err := io.ReadFull(p[1], got); err != nil {
				tb.Fatal(err)
			}
		}
	}
	time.Sleep(50 * time.Millisecond) // let the last reads park
	heap1, stack1 := memInUse()
	runtime.KeepAlive(burst) // allocated before heap0: must not be freed before heap1
	runtime.KeepAlive(got)
	f.extraFDs = countFDs(tb) - fd0 - f.socketFDs
	f.heapPerTunnel = float64(heap1-heap0) / float64(n)
	f.stackPerTunnel = float64(stack1-stack0) / float64(n)
	f.bytesPerTunnel = f.heapPerTunnel + f.stackPerTunnel
	f.goroutinesPerTunn = float64(runtime.NumGoroutine()-g0) / float64(n)

	close(stop)
	for _, g := range tunnels {
		g.closeTestEnds() // ends the reference, which ignores stop
	}
	deadline := time.After(30 * time.Second)
	for range n {
		select {
		case <-results:
		case <-deadline:
			tb.Fatal("tunnels did not end")
		}
	}
	return f
}

// TestPipeIdleResources: an idle tunnel holds no descriptor beyond its two
// sockets; its memory is reported, not asserted.
func TestPipeIdleResources(t *testing.T) {
	const n = 200
	f := probeIdle(t, n, pipeWithOptions)
	if f.socketFDs != 4*n {
		t.Fatalf("the %d test sockets took %d descriptors, want %d: counting is off", 4*n, f.socketFDs, 4*n)
	}
	if f.extraFDs != 0 {
		t.Errorf("%d idle tunnels added %d descriptors beyond their sockets, want 0", n, f.extraFDs)
	}
	t.Logf("Pipe: %d idle tunnels: +%d fds beyond sockets; per tunnel %.0f bytes (heap %.0f + stacks %.0f), %.1f goroutines",
		n, f.extraFDs, f.bytesPerTunnel, f.heapPerTunnel, f.stackPerTunnel, f.goroutinesPerTunn)
	if testing.Short() {
		return
	}
	ref := probeIdle(t, 50, spliceReference)
	t.Logf("io.Copy reference: %d idle tunnels: +%.1f fds per tunnel; per tunnel %.0f bytes (heap %.0f + stacks %.0f)",
		ref.n, float64(ref.extraFDs)/float64(ref.n), ref.bytesPerTunnel, ref.heapPerTunnel, ref.stackPerTunnel)
}

// TestPipeIdleGoroutinesEnd: after the tunnels end no goroutine is left
// (TestMain's goleak check covers the whole package as well).
func TestPipeIdleGoroutinesEnd(t *testing.T) {
	g0 := runtime.NumGoroutine()
	probeIdle(t, 20, pipeWithOptions)
	for range 100 {
		if runtime.NumGoroutine() <= g0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%d goroutines left, started with %d", runtime.NumGoroutine(), g0)
}
