package tunnel

import (
	"sync"
	"time"
)

// idleChecksPerTimeout is how often per IdleTimeout the watcher looks at
// the byte counters: the tunnel closes at most 1/4 of the timeout late.
const idleChecksPerTimeout = 4

// idleWatch closes a tunnel on which no byte moved for a timeout, and asks
// it to park once it was idle for Options.ParkAfter. Copying only bumps
// the byte counters it already keeps; one runtime timer per tunnel
// compares them a few times per period, so a busy tunnel never resets a
// timer per read and an idle one holds no goroutine.
type idleWatch struct {
	t         *tunnel
	timeout   time.Duration // 0: no idle limit
	parkAfter time.Duration // 0: never park

	mu        sync.Mutex // orders check against stop, so a stopped timer is never re-armed
	timer     *time.Timer
	stopped   bool
	lastTotal int64     // bytes moved at the last check that saw movement
	lastMove  time.Time // when that check ran
}

func startIdleWatch(t *tunnel, timeout, parkAfter time.Duration) *idleWatch {
	w := &idleWatch{t: t, timeout: timeout, parkAfter: parkAfter, lastMove: time.Now()}
	w.mu.Lock()
	w.timer = time.AfterFunc(w.period(), w.check)
	w.mu.Unlock()
	return w
}

// period is how long until the next look: a quarter of the idle timeout,
// and half of ParkAfter while the tunnel is not parked yet.
func (w *idleWatch) period() time.Duration {
	var p time.Duration
	if w.timeout > 0 {
		p = w.timeout / idleChecksPerTimeout
	}
	if w.parkAfter > 0 && !w.t.allParked() {
		if half := w.parkAfter / 2; p == 0 || half < p {
			p = half
		}
	}
	if p == 0 {
		p = time.Minute // parked, with no idle limit: nothing to decide
	}
	return max(p, time.Millisecond)
}

func (w *idleWatch) check() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return
	}
	now := time.Now()
	if total := w.t.up.Load() + w.t.down.Load(); total != w.lastTotal {
		w.lastTotal, w.lastMove = total, now
	} else {
		idle := now.Sub(w.lastMove)
		if w.timeout > 0 && idle >= w.timeout {
			w.stopped = true
			// end closes the connections; it never takes w.mu, so holding
			// it here cannot deadlock.
			w.t.end(ReasonIdle, nil)
			return
		}
		if w.parkAfter > 0 && idle >= w.parkAfter && !w.t.allParked() {
			w.t.requestPark()
		}
	}
	next := w.period()
	if w.timeout > 0 {
		next = min(next, w.timeout-now.Sub(w.lastMove))
	}
	w.timer.Reset(next)
}

// rearm brings the next look forward to the short period of a tunnel
// that is not parked, after a parked direction woke.
func (w *idleWatch) rearm() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped || w.parkAfter == 0 {
		return
	}
	w.timer.Reset(w.period())
}

func (w *idleWatch) stop() {
	w.mu.Lock()
	w.stopped = true
	w.timer.Stop()
	w.mu.Unlock()
}
