package main

import (
	"math"
	"testing"
	"time"
)

func TestHistQuantiles(t *testing.T) {
	var h hist
	for i := 1; i <= 100_000; i++ {
		h.record(time.Duration(i) * time.Microsecond)
	}
	for _, tc := range []struct {
		q    float64
		want float64 // ns
	}{
		{0.5, 50_000e3}, {0.9, 90_000e3}, {0.99, 99_000e3}, {0.999, 99_900e3},
	} {
		got := float64(h.quantile(tc.q))
		if rel := math.Abs(got-tc.want) / tc.want; rel > 0.04 {
			t.Errorf("quantile(%v) = %.0f, want %.0f ±4%% (off by %.1f%%)", tc.q, got, tc.want, 100*rel)
		}
	}
	if h.max != int64(100_000*time.Microsecond) {
		t.Errorf("max = %d", h.max)
	}
}

func TestHistBucketsRoundTrip(t *testing.T) {
	for _, v := range []int64{0, 1, 31, 32, 33, 63, 64, 1000, 123_456, 1 << 40} {
		b := bucketOf(v)
		mid := bucketValue(b)
		if v >= 32 && math.Abs(float64(mid-v))/float64(v) > 1.0/32 {
			t.Errorf("value %d → bucket %d → %d: more than 1/32 off", v, b, mid)
		}
		if v < 32 && mid != v {
			t.Errorf("small value %d → %d", v, mid)
		}
	}
}

func TestHistMergeAndEmpty(t *testing.T) {
	var a, b hist
	if a.quantile(0.99) != 0 {
		t.Fatal("empty histogram must report 0")
	}
	a.record(time.Millisecond)
	b.record(3 * time.Millisecond)
	a.merge(&b)
	if a.n != 2 || a.max != int64(3*time.Millisecond) {
		t.Fatalf("merged n=%d max=%d", a.n, a.max)
	}
}
