// Package testwait is the tests' one way to wait for something that happens
// on another goroutine: poll a condition until it holds or a bound passes,
// instead of sleeping a guessed time.
package testwait

import (
	"testing"
	"time"
)

// The pause between two looks starts short enough not to slow a test that
// waits for a fast event and doubles up to a cap long enough not to busy a
// shared machine with a costly condition (an HTTP call to a subprocess, a
// page read in a browser) during a long wait.
const (
	firstPause = 5 * time.Millisecond
	maxPause   = 100 * time.Millisecond
)

// Poll looks at cond until it holds or max passes and reports whether it
// held, for a caller that fails in its own way (or waits for a settling it
// does not insist on). cond is looked at once more after max, so a wait
// that overslept on a loaded machine still sees the last state.
func Poll(max time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(max)
	pause := firstPause
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(pause)
		pause = min(2*pause, maxPause)
	}
	return true
}

// Until polls cond until it holds, and fails t (naming what) when it does
// not hold within max.
func Until(t testing.TB, max time.Duration, what string, cond func() bool) {
	t.Helper()
	if !Poll(max, cond) {
		t.Fatalf("timed out after %s waiting for %s", max, what)
	}
}

// UntilExplained is Until for a condition that also says what it saw
// (a status, a count, an error): the failure names its last explanation.
func UntilExplained(t testing.TB, max time.Duration, what string, cond func() (ok bool, saw string)) {
	t.Helper()
	var last string
	if !Poll(max, func() (ok bool) { ok, last = cond(); return ok }) {
		t.Fatalf("timed out after %s waiting for %s; last: %s", max, what, last)
	}
}
