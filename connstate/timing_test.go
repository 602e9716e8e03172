package connstate

import (
	"fmt"
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	const base, limit = time.Second, 2 * time.Minute
	plain := fmt.Errorf("InternalError")
	throttled := fmt.Errorf("RequestLimitExceeded: %w", ErrThrottled)
	for _, tc := range []struct {
		name     string
		n        int
		err      error
		min, max time.Duration
	}{
		{"first failure", 1, plain, 500 * time.Millisecond, time.Second},
		{"second", 2, plain, time.Second, 2 * time.Second},
		{"fifth", 5, plain, 8 * time.Second, 16 * time.Second},
		{"capped", 30, plain, time.Minute, 2 * time.Minute},
		{"huge n does not overflow", 1 << 30, plain, time.Minute, 2 * time.Minute},
		{"throttled starts 4× longer", 1, throttled, 2 * time.Second, 4 * time.Second},
		{"throttled capped", 12, throttled, time.Minute, 2 * time.Minute},
		{"n below 1 counts as 1", 0, plain, 500 * time.Millisecond, time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for range 200 {
				if d := backoff(tc.n, tc.err, base, limit); d < tc.min || d > tc.max {
					t.Fatalf("backoff(%d) = %v, want within [%v, %v]", tc.n, d, tc.min, tc.max)
				}
			}
		})
	}
	// Equal jitter: the next failure never waits less than the previous.
	for n := 1; n < 12; n++ {
		for range 100 {
			if a, b := backoff(n, plain, base, limit), backoff(n+1, plain, base, limit); b < a && a < limit/2 {
				t.Fatalf("backoff(%d) = %v < backoff(%d) = %v", n+1, b, n, a)
			}
		}
	}
}

func TestJitter(t *testing.T) {
	for range 1000 {
		if d := jitter(30*time.Second, intervalJitter); d < 27*time.Second || d > 33*time.Second {
			t.Fatalf("jitter(30s) = %v, want within ±10%%", d)
		}
	}
}

func TestOptionsDefaults(t *testing.T) {
	o := Options{FastInterval: time.Minute, SyncInterval: 10 * time.Second, Warmup: -1}.withDefaults()
	if o.FastInterval != 10*time.Second || o.Warmup != 0 || o.Now == nil || o.Logger == nil ||
		o.BackoffBase != time.Second || o.BackoffMax != 2*time.Minute || o.CallTimeout != 30*time.Second {
		t.Fatalf("defaults: %+v", o)
	}
	if o := (Options{}).withDefaults(); o.SyncInterval != 30*time.Second || o.FastInterval != 2*time.Second {
		t.Fatalf("zero options: sync %v fast %v", o.SyncInterval, o.FastInterval)
	}
}
