//go:build linux

package tunnel

import (
	"bytes"
	"io"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/callgate/callgate/internal/testwait"
)

func parkedCount() int { return Parked() }

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testwait.Until(t, 10*time.Second, what, cond)
}

// echoRound writes p from one end and reads it back at the other.
func echoRound(t *testing.T, from, to net.Conn, p []byte) {
	t.Helper()
	if _, err := from.Write(p); err != nil {
		t.Fatalf("write: %v", err)
	}
	got := make([]byte, len(p))
	_ = to.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(to, got); err != nil {
		t.Fatalf("read: %v", err)
	}
	if !bytes.Equal(got, p) {
		t.Fatal("bytes changed on the way")
	}
}

// TestParkIdleTunnelsHoldNoGoroutine: idle tunnels give up both
// goroutines, wake on data from either side (small and bulk), park again,
// and end normally.
func TestParkIdleTunnelsHoldNoGoroutine(t *testing.T) {
	const n = 50
	l := newLoopback(t)
	before := runtime.NumGoroutine()
	all := make([]legs, n)
	results := make([]chan Result, n)
	for i := range all {
		all[i] = l.legs(t)
		results[i] = make(chan Result, 1)
		ch := results[i]
		Start(all[i].proxyC, all[i].proxyU, Options{IdleTimeout: time.Minute, ParkAfter: 40 * time.Millisecond},
			func(r Result) { ch <- r })
	}
	for _, g := range all {
		echoRound(t, g.client, g.upstream, []byte("hello"))
		echoRound(t, g.upstream, g.client, []byte("world"))
	}
	waitFor(t, "every direction parked", func() bool { return parkedCount() == 2*n })
	// The parker's loop stays, and timer callbacks come and go; the 2n
	// copying goroutines must be gone.
	waitFor(t, "the copying goroutines gone", func() bool { return runtime.NumGoroutine()-before <= 3 })

	bulk := randomBytes(t, 4<<20)
	for i, g := range all {
		if i%10 == 0 {
			echoRound(t, g.upstream, g.client, bulk) // spliced after waking
		}
		echoRound(t, g.client, g.upstream, []byte("again"))
	}
	waitFor(t, "every direction parked again", func() bool { return parkedCount() == 2*n })

	// Orderly close while parked: EOF both ways.
	for i, g := range all {
		_ = g.client.(*net.TCPConn).CloseWrite()
		_ = g.upstream.(*net.TCPConn).CloseWrite()
		r := waitResult(t, results[i], 10*time.Second)
		if r.Reason != ReasonEOF || r.Err != nil {
			t.Fatalf("tunnel %d: %+v, want eof", i, r)
		}
		g.closeTestEnds()
	}
	waitFor(t, "the parker empty", func() bool { return parkedCount() == 0 })
}

// TestParkedTunnelEnds: a parked tunnel still ends by Stop, by the idle
// timeout and by a reset, each reported with its reason.
func TestParkedTunnelEnds(t *testing.T) {
	l := newLoopback(t)
	park := func(opts Options) (legs, chan Result) {
		g := l.legs(t)
		ch := make(chan Result, 1)
		opts.ParkAfter = 20 * time.Millisecond
		before := parkedCount()
		Start(g.proxyC, g.proxyU, opts, func(r Result) { ch <- r })
		echoRound(t, g.client, g.upstream, []byte("x"))
		waitFor(t, "the tunnel parked", func() bool { return parkedCount() == before+2 })
		return g, ch
	}

	t.Run("stop", func(t *testing.T) {
		stop := make(chan struct{})
		g, ch := park(Options{Stop: stop})
		defer g.closeTestEnds()
		close(stop)
		if r := waitResult(t, ch, 5*time.Second); r.Reason != ReasonStopped {
			t.Fatalf("%+v, want stopped", r)
		}
	})
	t.Run("idle_timeout", func(t *testing.T) {
		g, ch := park(Options{IdleTimeout: 300 * time.Millisecond})
		defer g.closeTestEnds()
		if r := waitResult(t, ch, 5*time.Second); r.Reason != ReasonIdle {
			t.Fatalf("%+v, want idle", r)
		}
	})
	t.Run("reset", func(t *testing.T) {
		g, ch := park(Options{})
		defer g.closeTestEnds()
		_ = g.upstream.(*net.TCPConn).SetLinger(0)
		_ = g.upstream.Close()
		r := waitResult(t, ch, 5*time.Second)
		if r.Reason != ReasonError && r.Reason != ReasonEOF {
			t.Fatalf("%+v, want error or eof", r)
		}
	})
	waitFor(t, "the parker empty", func() bool { return parkedCount() == 0 })
}

// TestParkChurn moves data while the tunnel parks and wakes every few
// milliseconds: nothing is lost, duplicated or reordered.
func TestParkChurn(t *testing.T) {
	g := newLoopback(t).legs(t)
	defer g.closeTestEnds()
	res := make(chan Result, 1)
	Start(g.proxyC, g.proxyU, Options{ParkAfter: 2 * time.Millisecond}, func(r Result) { res <- r })
	for i := range 40 {
		echoRound(t, g.client, g.upstream, randomBytes(t, 1+i*997))
		echoRound(t, g.upstream, g.client, randomBytes(t, 1+i*1499))
		if i%8 == 0 {
			time.Sleep(10 * time.Millisecond) // long enough to park
		}
	}
	up, down := randomBytes(t, 2<<20), randomBytes(t, 2<<20)
	exchange(t, g.client, g.upstream, up, down)
	if r := waitResult(t, res, 10*time.Second); r.Reason != ReasonEOF || r.Err != nil {
		t.Fatalf("%+v, want eof", r)
	}
}

// TestParkMixedLegs: with a TLS client leg only the TCP side parks (a
// TLS read holds its goroutine); the tunnel counts as parked, still
// carries bytes both ways, and ends normally.
func TestParkMixedLegs(t *testing.T) {
	l := newLoopback(t)
	srv, cli := tlsPair(t, l)
	pu, u := l.pair(t)
	defer cli.Close()
	defer u.Close()
	res := make(chan Result, 1)
	before := parkedCount()
	h := Start(srv, pu, Options{IdleTimeout: time.Minute, ParkAfter: 20 * time.Millisecond}, func(r Result) { res <- r })
	echoRound(t, cli, u, []byte("up"))
	echoRound(t, u, cli, []byte("down"))
	waitFor(t, "the TCP side parked", func() bool { return parkedCount() == before+1 })
	if !h.t.allParked() {
		t.Error("a tunnel whose only parkable side parked is not counted as parked")
	}
	echoRound(t, u, cli, []byte("wake"))
	echoRound(t, cli, u, []byte("and back"))
	h.Stop()
	if r := waitResult(t, res, 5*time.Second); r.Reason != ReasonStopped {
		t.Fatalf("%+v, want stopped", r)
	}
	waitFor(t, "the parker empty", func() bool { return parkedCount() == before })
}
