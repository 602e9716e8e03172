package access

import (
	"hash/maphash"
	"math"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// AuthThrottle bounds failed proxy authentication (the config's
// `proxy_auth.throttle`): each source address and each claimed Basic user
// name has a bucket of failures. An attempt is admitted only while both
// of its buckets hold a token; otherwise it is refused before any password
// is compared, so an empty bucket also stops the right password (else the
// throttle would still answer a brute force, only more slowly). Failures
// take a token; successes take none. The zero value throttles nothing.
type AuthThrottle struct {
	// PerSource is each source address's bucket (an IPv6 source by its
	// /64: one host usually holds the whole /64); the zero Rate is none.
	PerSource Rate
	// PerUser is each claimed Basic user name's bucket, known to the
	// config or not, so the answer never tells which names exist. It
	// lets an attacker slow down a named user's logins, which is why it
	// should be larger than PerSource: then one source alone can never
	// empty it. The zero Rate is none.
	PerUser Rate
}

// DefaultBcryptWait bounds the wait for a bcrypt slot when
// ProxyAuth.BcryptWait is zero.
const DefaultBcryptWait = time.Second

// throttle holds the failure buckets; they live in the Authenticator so
// that a reload does not forgive an attacker. The zero value is usable.
type throttle struct {
	sources failBuckets[netip.Addr]
	users   failBuckets[uint64] // keyed by a seeded hash: names are client input of any length
	seed    maphash.Seed
	once    sync.Once
}

// attempt is one admitted authentication attempt: the buckets it holds a
// pending token of, released by settle.
type attempt struct {
	src, user *failBucket
}

// admit reserves a token of src's bucket and, when hasUser, of user's.
// When either bucket is empty it reserves nothing and returns how long
// until a token is back.
func (t *throttle) admit(cfg AuthThrottle, src netip.Addr, user string, hasUser bool, now time.Time) (attempt, time.Duration, bool) {
	var at attempt
	if cfg.PerSource.PerSecond > 0 {
		bk, wait, ok := t.sources.admit(sourceKey(src), cfg.PerSource, now)
		if !ok {
			return attempt{}, wait, false
		}
		at.src = bk
	}
	if hasUser && cfg.PerUser.PerSecond > 0 {
		t.once.Do(func() { t.seed = maphash.MakeSeed() })
		bk, wait, ok := t.users.admit(maphash.String(t.seed, user), cfg.PerUser, now)
		if !ok {
			at.src.settle(false, now)
			return attempt{}, wait, false
		}
		at.user = bk
	}
	return at, 0, true
}

// settle ends the attempt; a failure takes a token from each bucket.
func (at attempt) settle(failed bool, now time.Time) {
	at.src.settle(failed, now)
	at.user.settle(failed, now)
}

// sourceKey is the bucket key of a source address: IPv6 by its /64.
func sourceKey(a netip.Addr) netip.Addr {
	if a.Is6() {
		p, _ := a.Prefix(64) // cannot fail for an IPv6 address
		return p.Addr()
	}
	return a
}

// failBucket is one key's failures. pending counts attempts admitted and
// not yet settled: admission subtracts them from the tokens, so many
// concurrent attempts (each waiting for bcrypt) cannot all pass on the
// last token. Both fields are guarded by the shard's mutex.
type failBucket struct {
	mu      *sync.Mutex // the shard's
	lim     *rate.Limiter
	cfg     Rate
	pending int
}

func (bk *failBucket) settle(failed bool, now time.Time) {
	if bk == nil {
		return
	}
	bk.mu.Lock()
	bk.pending--
	if failed {
		bk.lim.AllowN(now, 1) // an empty bucket stays empty: nothing to take
	}
	bk.mu.Unlock()
}

type failShard[K comparable] struct {
	mu sync.Mutex
	m  map[K]*failBucket
	_  [40]byte // keep shards on separate cache lines
}

// failBuckets is a sharded map of failure buckets, bounded like the rate
// buckets (Limiter) so that a flood of addresses or user names cannot
// grow memory without bound. The zero value is usable.
type failBuckets[K comparable] struct {
	seedOnce sync.Once
	seed     maphash.Seed
	shards   [bucketShards]failShard[K]
}

func (b *failBuckets[K]) shard(k K) *failShard[K] {
	b.seedOnce.Do(func() { b.seed = maphash.MakeSeed() })
	return &b.shards[maphash.Comparable(b.seed, k)%bucketShards]
}

// admit reserves a token of k's bucket if one is free of pending
// attempts; otherwise it returns how long until one is.
func (b *failBuckets[K]) admit(k K, cfg Rate, now time.Time) (*failBucket, time.Duration, bool) {
	sh := b.shard(k)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	bk := sh.m[k]
	if bk == nil || bk.cfg != cfg {
		// A reload that changes the rate starts the key over, as the
		// rate buckets do; attempts pending on the old bucket settle there.
		if bk == nil && len(sh.m) >= bucketShardCap {
			sh.evict(now)
		}
		bk = &failBucket{mu: &sh.mu, lim: rate.NewLimiter(rate.Limit(cfg.PerSecond), cfg.burst()), cfg: cfg}
		if sh.m == nil {
			sh.m = make(map[K]*failBucket)
		}
		sh.m[k] = bk
	}
	missing := 1 + float64(bk.pending) - bk.lim.TokensAt(now)
	if missing > 0 {
		return nil, time.Duration(math.Ceil(missing / cfg.PerSecond * float64(time.Second))), false
	}
	bk.pending++
	return bk, 0, true
}

// evict drops the buckets that are full again with nothing pending (a
// fresh bucket would be the same). If none is, it drops the fullest one,
// so the buckets that throttle someone are the last to go: an attacker
// must fill a whole shard with failures to win back a fresh burst for one
// key. sh.mu is held.
func (sh *failShard[K]) evict(now time.Time) {
	var (
		fullest K
		most    = -1.0
	)
	for k, bk := range sh.m {
		tokens := bk.lim.TokensAt(now)
		if bk.pending == 0 && tokens >= float64(bk.cfg.burst()) {
			delete(sh.m, k)
			continue
		}
		if bk.pending == 0 && tokens > most {
			fullest, most = k, tokens
		}
	}
	if len(sh.m) >= bucketShardCap && most >= 0 {
		delete(sh.m, fullest)
	}
	if len(sh.m) >= bucketShardCap {
		// Every bucket has an attempt pending (not reachable with the few
		// bcrypt slots): drop any one rather than grow.
		for k := range sh.m {
			delete(sh.m, k)
			break
		}
	}
}
