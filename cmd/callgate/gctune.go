package main

import (
	"os"
	"sync"

	"github.com/bytedance/gopkg/util/gctuner"
	"go.uber.org/zap"
)

// gcHeapFloor is the heap size the next collection is aimed at while
// little is live. A proxy's live heap is small next to what it allocates
// per second under load, so with Go's default (collect when the heap
// doubles) it collects many times a second; aiming higher collects less
// often for the same work (measured in BENCHMARKS.md, History). From 16 MiB
// in use up, GOGC stays at 100: a large live heap (many open tunnels) keeps
// Go's default headroom.
const gcHeapFloor = 32 << 20

// gcTuning starts the process's one tuner (gctuner keeps a global one and
// its limits are read without locks, so they are set once, before it runs).
var gcTuning sync.Once

// tuneGC sets GOGC after every collection to (gcHeapFloor - in use) / in
// use, kept between 100 and 500, and reports whether it does. An operator's
// GOGC in the environment wins; GOMEMLIMIT still caps the heap either way.
func tuneGC(log *zap.Logger) bool {
	if v, ok := os.LookupEnv("GOGC"); ok {
		log.Info("GOGC is set: the collector's tuning is left to it", zap.String("GOGC", v))
		return false
	}
	gcTuning.Do(func() {
		gctuner.SetMinGCPercent(100)
		gctuner.SetMaxGCPercent(500)
		gctuner.Tuning(gcHeapFloor)
	})
	return true
}
