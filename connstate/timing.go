package connstate

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"
)

// jitter spreads d by ±frac so replicas do not poll in lockstep.
func jitter(d time.Duration, frac float64) time.Duration {
	return d + time.Duration((rand.Float64()*2-1)*frac*float64(d))
}

// backoff is the delay after the n-th consecutive failure (n ≥ 1): the
// base doubles per failure up to max, stretched when AWS throttles, with
// "equal jitter" — a value in [d/2, d] — so it never shrinks from one
// failure to the next while replicas still spread out.
func backoff(n int, err error, base, limit time.Duration) time.Duration {
	if n < 1 {
		n = 1
	}
	d := base
	if errors.Is(err, ErrThrottled) {
		d *= throttleFactor
	}
	for i := 1; i < n && d < limit; i++ {
		d *= 2
	}
	if d > limit {
		d = limit
	}
	half := d / 2
	return half + time.Duration(rand.Int64N(int64(half)+1))
}

// sleep waits d or until ctx ends; it reports whether the full d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
