package main

import (
	"os"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/callgate/callgate/internal/testwait"
)

func gogcPercent() uint64 {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// tunerStarted is set once a test has started the process's tuner, which
// then runs until the process exits.
var tunerStarted bool

// The two cases share the process's one collector: the case that must leave
// GOGC alone runs first, and checks the collector itself only while no tuner
// has started (the first of several -count runs).
func TestTuneGC(t *testing.T) {
	t.Run("an operator's GOGC wins", func(t *testing.T) {
		t.Setenv("GOGC", "100")
		if tuneGC(zap.NewNop()) {
			t.Fatal("tuneGC tunes the collector with GOGC=100 in the environment")
		}
		if tunerStarted {
			return
		}
		runtime.GC()
		runtime.GC()
		time.Sleep(50 * time.Millisecond) // a tuner, had one started, runs after a collection
		if got := gogcPercent(); got != 100 {
			t.Fatalf("GOGC is %d with GOGC=100 in the environment, want 100", got)
		}
	})
	t.Run("a small heap gets headroom", func(t *testing.T) {
		if _, set := os.LookupEnv("GOGC"); set {
			t.Skip("GOGC is set in this test's environment")
		}
		tunerStarted = true
		if !tuneGC(zap.NewNop()) {
			t.Fatal("tuneGC left the collector alone without GOGC in the environment")
		}
		testwait.Until(t, 10*time.Second, "GOGC raised above 100 after a collection", func() bool {
			runtime.GC()
			return gogcPercent() > 100
		})
		if got := gogcPercent(); got > 500 {
			t.Fatalf("GOGC %d, want at most 500", got)
		}
	})
}
