package tunnel

import (
	"sync"
	"time"
)

// idleChecksPerTimeout is how often per IdleTimeout the watcher looks at
// the byte counters: the tunnel closes at most 1/4 of the timeout late.
const idleChecksPerTimeout = 4

// idleWatch closes a tunnel on which no byte moved for a timeout. Copying
// only bumps the byte counters it already keeps; one runtime timer per
// tunnel compares them a few times per timeout, so a busy tunnel never
// resets a timer per read and an idle one holds no goroutine.
type idleWatch struct {
	t       *tunnel
	timeout time.Duration
	period  time.Duration

	mu        sync.Mutex // orders check against stop, so a stopped timer is never re-armed
	timer     *time.Timer
	stopped   bool
	lastTotal int64     // bytes moved at the last check that saw movement
	lastMove  time.Time // when that check ran
}

func startIdleWatch(t *tunnel, timeout time.Duration) *idleWatch {
	w := &idleWatch{t: t, timeout: timeout, period: max(timeout/idleChecksPerTimeout, time.Millisecond), lastMove: time.Now()}
	w.mu.Lock()
	w.timer = time.AfterFunc(w.period, w.check)
	w.mu.Unlock()
	return w
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
	} else if now.Sub(w.lastMove) >= w.timeout {
		w.stopped = true
		// end closes the connections; it never takes w.mu, so holding it
		// here cannot deadlock.
		w.t.end(ReasonIdle, nil)
		return
	}
	w.timer.Reset(min(w.period, w.timeout-now.Sub(w.lastMove)))
}

func (w *idleWatch) stop() {
	w.mu.Lock()
	w.stopped = true
	w.timer.Stop()
	w.mu.Unlock()
}
