package main

import (
	"math/bits"
	"time"
)

// hist is a log-linear latency histogram in nanoseconds: 32 sub-buckets per
// power of two, so any percentile is within about 3% of the true sample.
// Each worker owns one (no locks); they are merged at the end.
type hist struct {
	counts [64 * 32]uint64
	n      uint64
	max    int64
}

const subBits = 5 // 32 sub-buckets per octave

func bucketOf(v int64) int {
	if v < 1<<subBits {
		if v < 0 {
			return 0
		}
		return int(v)
	}
	shift := bits.Len64(uint64(v)) - (subBits + 1)
	return (shift+1)<<subBits | int((uint64(v)>>shift)&(1<<subBits-1))
}

// bucketValue is the midpoint of bucket i.
func bucketValue(i int) int64 {
	if i < 1<<subBits {
		return int64(i)
	}
	shift := i>>subBits - 1
	sub := int64(i & (1<<subBits - 1))
	low := (1<<subBits + sub) << shift
	return low + (int64(1)<<shift)/2
}

func (h *hist) record(d time.Duration) {
	v := int64(d)
	h.counts[bucketOf(v)]++
	h.n++
	if v > h.max {
		h.max = v
	}
}

func (h *hist) merge(o *hist) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	if o.max > h.max {
		h.max = o.max
	}
}

// quantile returns the q-quantile (0 < q ≤ 1) in nanoseconds, 0 when empty.
func (h *hist) quantile(q float64) int64 {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q*float64(h.n) + 0.5)
	if rank < 1 {
		rank = 1
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			v := bucketValue(i)
			if v > h.max {
				v = h.max
			}
			return v
		}
	}
	return h.max
}
