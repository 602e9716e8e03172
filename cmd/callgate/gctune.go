package main

import (
	"os"

	"github.com/bytedance/gopkg/util/gctuner"
	"go.uber.org/zap"
)

// gcHeapFloor is the heap size the garbage collector may grow to before it
// runs, however little of it is live. A proxy's live heap is a few MiB
// while it allocates a few KiB per request, so with Go's default (collect
// when the heap doubles) it collected ~14 times a second at 13k req/s and
// spent ~15% of its CPU doing so; letting the heap reach 32 MiB first costs
// at most that much memory. Above it, collections run as with GOGC=100, so
// a large live heap (many open tunnels) keeps Go's default headroom.
const gcHeapFloor = 32 << 20

// tuneGC raises GOGC (up to 500) while the heap in use is below
// gcHeapFloor, re-evaluated after every collection. An operator's GOGC in
// the environment wins; GOMEMLIMIT still caps the heap either way.
func tuneGC(log *zap.Logger) {
	if v, ok := os.LookupEnv("GOGC"); ok {
		log.Info("GOGC is set: the collector's tuning is left to it", zap.String("GOGC", v))
		return
	}
	gctuner.SetMinGCPercent(100)
	gctuner.SetMaxGCPercent(500)
	gctuner.Tuning(gcHeapFloor)
}
