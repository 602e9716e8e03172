package access

import (
	"net/netip"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

// never is a failure rate that earns no token during a test.
const never = 0.001

// TestAuthThrottlePending: attempts waiting to be checked hold their
// token, so many concurrent attempts cannot all pass on the last one; a
// success gives it back, a failure spends it.
func TestAuthThrottlePending(t *testing.T) {
	var b failBuckets[uint64]
	cfg := Rate{PerSecond: never, Burst: 1}
	now := time.Now()
	bk, _, ok := b.admit(1, cfg, now)
	if !ok {
		t.Fatal("first attempt refused")
	}
	if _, wait, ok := b.admit(1, cfg, now); ok || wait <= 0 {
		t.Fatalf("second attempt admitted on a pending token (wait %s)", wait)
	}
	bk.settle(false, now)
	bk, _, ok = b.admit(1, cfg, now)
	if !ok {
		t.Fatal("a success took the token")
	}
	bk.settle(true, now)
	if _, _, ok := b.admit(1, cfg, now); ok {
		t.Fatal("a failure did not take the token")
	}
	// A reload with another rate starts the key over.
	if _, _, ok := b.admit(1, Rate{PerSecond: never, Burst: 2}, now); !ok {
		t.Error("a changed rate kept the old bucket")
	}
}

// TestAuthFailBucketsBounded: a flood of keys cannot grow the map past
// its bound, and a key being throttled outlives the flood.
func TestAuthFailBucketsBounded(t *testing.T) {
	var b failBuckets[uint64]
	cfg := Rate{PerSecond: never, Burst: 3}
	now := time.Now()
	fail := func(k uint64) bool {
		bk, _, ok := b.admit(k, cfg, now)
		if ok {
			bk.settle(true, now)
		}
		return ok
	}
	const victim = 1 << 40
	for fail(victim) {
	}
	const flood = bucketShards*bucketShardCap + 5000
	for k := uint64(0); k < flood; k++ {
		if !fail(k) {
			t.Fatalf("first failure of key %d refused", k)
		}
	}
	total := 0
	for i := range b.shards {
		total += len(b.shards[i].m)
	}
	if total > bucketShards*bucketShardCap {
		t.Errorf("%d buckets, bound %d", total, bucketShards*bucketShardCap)
	}
	if _, _, ok := b.admit(victim, cfg, now); ok {
		t.Error("the flood evicted a throttled key: it got a fresh burst")
	}
}

// TestAuthFailEvictOrder: a full shard drops the bucket with the most
// tokens left and keeps every one that throttles its key.
func TestAuthFailEvictOrder(t *testing.T) {
	cfg := Rate{PerSecond: never, Burst: 3}
	now := time.Now()
	var sh failShard[uint64]
	sh.m = make(map[uint64]*failBucket, bucketShardCap)
	const fullest = 7
	for k := uint64(0); k < bucketShardCap; k++ {
		bk := &failBucket{mu: &sh.mu, lim: rate.NewLimiter(rate.Limit(cfg.PerSecond), cfg.burst()), cfg: cfg}
		spend := 3 // empty: throttling its key
		if k == fullest {
			spend = 1
		}
		bk.lim.AllowN(now, spend)
		sh.m[k] = bk
	}
	sh.evict(now)
	if len(sh.m) != bucketShardCap-1 {
		t.Fatalf("%d buckets after evict, want %d", len(sh.m), bucketShardCap-1)
	}
	if _, ok := sh.m[fullest]; ok {
		t.Error("the fullest bucket was kept and a throttling one dropped")
	}
}

// TestAuthSourceKey: an IPv6 source is throttled by its /64 (one host
// usually has all of it); IPv4 by its address.
func TestAuthSourceKey(t *testing.T) {
	a := netip.MustParseAddr
	if sourceKey(a("2001:db8::1")) != sourceKey(a("2001:db8::ffff:1")) {
		t.Error("two addresses of one /64 have two buckets")
	}
	if sourceKey(a("2001:db8::1")) == sourceKey(a("2001:db8:0:1::1")) {
		t.Error("two /64s share a bucket")
	}
	if sourceKey(a("192.0.2.1")) == sourceKey(a("192.0.2.2")) {
		t.Error("two IPv4 addresses share a bucket")
	}
}
