package access

import (
	"net/netip"
	"testing"
	"time"
)

// TestLimitBucketsBounded: a flood of source addresses cannot grow the
// bucket map past its bound, and buckets that filled up again go first.
func TestLimitBucketsBounded(t *testing.T) {
	var b buckets
	busy := Rate{PerSecond: 0.001, Burst: 1} // never refills during the test
	now := time.Now()
	total := func() int {
		n := 0
		for i := range b.shards {
			n += len(b.shards[i].m)
		}
		return n
	}
	const flood = bucketShards*bucketShardCap + 5000
	for i := 0; i < flood; i++ {
		a := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		if _, ok := b.allow(rateKey{addr: a}, busy, now); !ok {
			t.Fatalf("first request of %v refused", a)
		}
	}
	if n := total(); n > bucketShards*bucketShardCap {
		t.Fatalf("%d buckets, bound %d", n, bucketShards*bucketShardCap)
	}
	// Idle buckets (full again) are evicted before busy ones.
	var c buckets
	idle := Rate{PerSecond: 1000, Burst: 1}
	for i := 0; i < flood; i++ {
		a := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		c.allow(rateKey{addr: a}, idle, now.Add(time.Duration(i)*time.Millisecond))
	}
	key := rateKey{client: "steady"}
	c.allow(key, busy, now.Add(time.Hour))
	for i := 0; i < flood; i++ {
		a := netip.AddrFrom4([4]byte{11, byte(i >> 16), byte(i >> 8), byte(i)})
		c.allow(rateKey{addr: a}, idle, now.Add(time.Hour+time.Duration(i)*time.Millisecond))
	}
	// 0.001/s: about 0.07 tokens back by now, so the bucket, if kept, is
	// still empty.
	if _, ok := c.allow(key, busy, now.Add(time.Hour+flood*time.Millisecond)); ok {
		t.Error("a busy bucket was evicted while idle ones were there")
	}
}

// TestLimitHold: release gives back exactly what was taken, once.
func TestLimitHold(t *testing.T) {
	var l Limiter
	var cred CredHeld
	var h Hold
	if !take(&l.tunnels, 1) {
		t.Fatal("first take refused")
	}
	h.global = &l.tunnels
	if take(&l.tunnels, 1) {
		t.Fatal("second take allowed past the cap")
	}
	// Twice: a zero cap never fills.
	first := take(&cred.tunnels, 0)
	if !first || !take(&cred.tunnels, 0) {
		t.Fatal("a zero cap refused")
	}
	h.cred = &cred.tunnels
	h.Release()
	h.Release()
	if l.tunnels.Load() != 0 || cred.tunnels.Load() != 1 {
		t.Errorf("after release: global %d, credential %d; want 0, 1", l.tunnels.Load(), cred.tunnels.Load())
	}
}

// TestAdmit: the rate is checked first, then the global cap, then the
// credential's; each denial says which, and a denied request holds
// nothing.
func TestAdmit(t *testing.T) {
	var l Limiter
	var plain, partner CredHeld
	r := request(t, "192.0.2.1:1")
	lim := &Limits{MaxRequests: 2, MaxRequestsPerCredential: 1, MaxTunnels: 1}
	var h1, h2, h3 Hold
	if deny := l.Admit(lim, r, nil, "Plain", &plain, false, &h1); deny != nil {
		t.Fatal(deny)
	}
	deny := l.Admit(lim, r, nil, "Plain", &plain, false, &h2)
	if deny == nil || deny.Kind != LimitReached || deny.RetryAfter != 0 ||
		deny.Message != "the limit of open requests to named credential Plain is reached; retry later" {
		t.Fatalf("per credential: %+v", deny)
	}
	if deny := l.Admit(lim, r, nil, "Partner", &partner, false, &h2); deny != nil {
		t.Fatal(deny)
	}
	deny = l.Admit(lim, r, nil, "Partner", &partner, false, &h3)
	if deny == nil || deny.Kind != LimitReached || deny.Message != "callgate's limit of open requests is reached; retry later" {
		t.Fatalf("global: %+v", deny)
	}
	if deny := l.Admit(lim, r, nil, "Plain", &plain, true, &h3); deny != nil {
		t.Fatalf("a tunnel counted against requests: %v", deny)
	}
	if req, tun := l.Open(); req != 2 || tun != 1 {
		t.Errorf("open %d requests, %d tunnels; want 2, 1", req, tun)
	}
	for _, h := range []*Hold{&h1, &h2, &h3} {
		h.Release()
	}
	if req, tun := l.Open(); req != 0 || tun != 0 {
		t.Errorf("after release: open %d requests, %d tunnels", req, tun)
	}
	if req, tun := plain.Open(); req != 0 || tun != 0 {
		t.Errorf("after release: Plain holds %d requests, %d tunnels", req, tun)
	}

	// The rate is keyed by the client, else by the source address.
	cs := testClients(t, ProxyAuth{})
	local, _ := cs.AuthorizeAs("local", "Plain")
	rated := &Limits{ClientRate: Rate{PerSecond: 0.5, Burst: 1}}
	var h Hold
	for _, c := range []*Identity{local, nil} {
		if deny := l.Admit(rated, r, c, "Plain", &plain, false, &h); deny != nil {
			t.Fatalf("first of %v: %v", c, deny)
		}
		h.Release()
		deny := l.Admit(rated, r, c, "Plain", &plain, false, &h)
		if deny == nil || deny.Kind != RateLimited || deny.RetryAfter <= 0 || deny.RetryAfter > 2*time.Second ||
			deny.Message != "too many requests from this client; retry later" {
			t.Fatalf("second of %v: %+v", c, deny)
		}
	}
	if req, _ := l.Open(); req != 0 {
		t.Errorf("a rate-limited request holds a slot: %d open", req)
	}
}
