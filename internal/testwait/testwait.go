// Package testwait is the tests' one way to wait for something that happens
// on another goroutine: poll a condition until it holds or a bound passes,
// instead of sleeping a guessed time.
package testwait

import (
	"testing"
	"time"
)

// pollEvery is short enough not to slow a test that waits for a fast event,
// long enough not to busy a shared machine.
const pollEvery = 5 * time.Millisecond

// Until polls cond every few milliseconds and fails t (naming what) when it
// does not hold within max.
func Until(t testing.TB, max time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(max)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", max, what)
		}
		time.Sleep(pollEvery)
	}
}
