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

// The two cases share the process's one collector: the one that must leave
// GOGC alone runs first.
func TestTuneGC(t *testing.T) {
	t.Run("an operator's GOGC wins", func(t *testing.T) {
		t.Setenv("GOGC", "100")
		tuneGC(zap.NewNop())
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
		tuneGC(zap.NewNop())
		testwait.Until(t, 10*time.Second, "GOGC raised above 100 after a collection", func() bool {
			runtime.GC()
			return gogcPercent() > 100
		})
		if got := gogcPercent(); got > 500 {
			t.Fatalf("GOGC %d, want at most 500", got)
		}
	})
}
