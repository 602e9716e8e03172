package proxy

import (
	"sync/atomic"
	"time"
)

// watchdog calls fire when nothing touched it for idle. Touching is one
// atomic store (no timer reset per read); the timer re-arms itself for the
// remaining time when it finds recent activity.
type watchdog struct {
	idle   time.Duration
	last   atomic.Int64 // unix nanoseconds of the last touch
	timer  atomic.Pointer[time.Timer]
	fire   func()
	gone   atomic.Bool // fired
	closed atomic.Bool
}

func newWatchdog(idle time.Duration, fire func()) *watchdog {
	w := &watchdog{idle: idle, fire: fire}
	w.touch()
	w.timer.Store(time.AfterFunc(idle, w.check))
	return w
}

func (w *watchdog) touch() { w.last.Store(time.Now().UnixNano()) }

func (w *watchdog) check() {
	if w.closed.Load() {
		return
	}
	quiet := time.Since(time.Unix(0, w.last.Load()))
	if quiet < w.idle {
		if t := w.timer.Load(); t != nil {
			t.Reset(w.idle - quiet)
		}
		return
	}
	w.gone.Store(true)
	w.fire()
}

// fired reports whether the watchdog ran out.
func (w *watchdog) fired() bool { return w.gone.Load() }

func (w *watchdog) stop() {
	w.closed.Store(true)
	if t := w.timer.Load(); t != nil {
		t.Stop()
	}
}

// aLongTimeAgo is a deadline that wakes a blocked read or write at once.
var aLongTimeAgo = time.Unix(1, 0)
