package tunnel

import (
	"io"
	"sync"
	"testing"
	"time"
)

func stopGroupCount() int {
	stopWatchers.mu.Lock()
	defer stopWatchers.mu.Unlock()
	return len(stopWatchers.groups)
}

// TestPipeSharedStop: tunnels sharing one Stop channel share its watcher;
// tunnels that end early leave it, the rest stop together, nothing lingers.
func TestPipeSharedStop(t *testing.T) {
	const n = 20
	l := newLoopback(t)
	stop := make(chan struct{})
	tunnels := make([]legs, n)
	results := make([]<-chan Result, n)
	for i := range tunnels {
		tunnels[i] = l.legs(t)
		defer tunnels[i].closeTestEnds()
		results[i] = startPipe(tunnels[i], Options{Stop: stop})
	}
	// The first half finishes on its own.
	for i := range n / 2 {
		exchange(t, tunnels[i].client, tunnels[i].upstream, []byte("q"), []byte("a"))
		if r := waitResult(t, results[i], 5*time.Second); r.Reason != ReasonEOF {
			t.Fatalf("tunnel %d: %+v, want eof", i, r)
		}
	}
	if got := stopGroupCount(); got != 1 {
		t.Fatalf("%d stop watchers for one channel, want 1", got)
	}
	close(stop)
	for i := n / 2; i < n; i++ {
		if r := waitResult(t, results[i], 5*time.Second); r.Reason != ReasonStopped {
			t.Fatalf("tunnel %d: %+v, want stopped", i, r)
		}
	}
	if got := stopGroupCount(); got != 0 {
		t.Fatalf("%d stop watchers left after every tunnel ended", got)
	}
}

// TestPipeStopRace starts tunnels while their Stop channel closes: each
// must end stopped (or earlier), never hang.
func TestPipeStopRace(t *testing.T) {
	l := newLoopback(t)
	for round := range 20 {
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for i := range 5 {
			g := l.legs(t)
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer g.closeTestEnds()
				if i == round%5 {
					close(stop)
				}
				r := Pipe(g.proxyC, g.proxyU, Options{Stop: stop})
				if r.Reason != ReasonStopped {
					t.Errorf("round %d: %+v, want stopped", round, r)
				}
				_, _ = io.Copy(io.Discard, g.client)
			}()
		}
		// A tunnel that registered before the close is stopped by it; one
		// that registers after sees the channel closed at once.
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("tunnels did not stop")
		}
	}
	if got := stopGroupCount(); got != 0 {
		t.Fatalf("%d stop watchers left", got)
	}
}
