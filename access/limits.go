package access

import (
	"hash/maphash"
	"math"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// Limits cap what clients can make callgate hold (the config's `limits:`).
// They are part of the proxy's snapshot, so a reload changes them live;
// the counts they are checked against (Limiter, CredHeld) survive reloads.
// The zero value limits nothing.
type Limits struct {
	// MaxTunnels caps open CONNECT tunnels, all named credentials
	// together; 0 means no cap.
	MaxTunnels int64
	// MaxRequests caps absolute-form and callout requests in flight, all
	// named credentials together; 0 means no cap.
	MaxRequests int64
	// MaxTunnelsPerCredential caps open tunnels per named credential; 0
	// means no cap.
	MaxTunnelsPerCredential int64
	// MaxRequestsPerCredential caps requests in flight per named
	// credential; 0 means no cap.
	MaxRequestsPerCredential int64
	// ClientRate caps how fast each client (each Client, or each source
	// address when no client list is configured) may start requests and
	// tunnels; the zero Rate means no cap.
	ClientRate Rate
}

// Rate is a token bucket: PerSecond tokens a second, up to Burst.
type Rate struct {
	// PerSecond is the sustained rate; 0 means no cap.
	PerSecond float64
	// Burst is how many may start at once; below 1 means 1.
	Burst int
}

func (r Rate) burst() int { return max(r.Burst, 1) }

// Limiter holds the counts and token buckets the Limits are checked
// against; it lives as long as the proxy, across reloads. Counting is
// atomic; only the bucket lookup takes a (sharded) lock. The zero value is
// usable.
type Limiter struct {
	tunnels  atomic.Int64
	requests atomic.Int64
	buckets  buckets
}

// Open reports the requests and tunnels holding a slot now, all named
// credentials together.
func (l *Limiter) Open() (requests, tunnels int64) { return l.requests.Load(), l.tunnels.Load() }

// CredHeld is one named credential's in-flight counts. The caller keeps
// one per credential and carries it across reloads with the credential's
// name, so a reload cannot reset a per-credential cap. The zero value is
// usable.
type CredHeld struct {
	tunnels  atomic.Int64
	requests atomic.Int64
}

// Open reports the credential's requests and tunnels holding a slot now.
func (c *CredHeld) Open() (requests, tunnels int64) { return c.requests.Load(), c.tunnels.Load() }

// Hold is what one request or tunnel holds against the limits. The zero
// value holds nothing; Release gives everything back, once.
type Hold struct {
	global *atomic.Int64
	cred   *atomic.Int64
}

// Release gives back the slots h holds; releasing again does nothing, so
// every way a request can end may call it.
func (h *Hold) Release() {
	if h.global != nil {
		h.global.Add(-1)
	}
	if h.cred != nil {
		h.cred.Add(-1)
	}
	*h = Hold{}
}

// take adds one to n unless that would pass max (0: no cap).
func take(n *atomic.Int64, maxN int64) bool {
	if n.Add(1) > maxN && maxN > 0 {
		n.Add(-1)
		return false
	}
	return true
}

// Admit checks the client's rate, then the global and per-credential
// concurrency caps of lim, in that order, for a request (tunnel false) or
// tunnel to the named credential cred, whose counts are held. c is the
// client Authorize found; nil makes r's source address the rate key. The
// slots taken are recorded in h and must be released when the request or
// tunnel ends, denied or not.
func (l *Limiter) Admit(lim *Limits, r *http.Request, c *Identity, cred string, held *CredHeld, tunnel bool, h *Hold) *Denial {
	if lim.ClientRate.PerSecond > 0 {
		key := rateKey{}
		if c != nil {
			key.client = c.name
		} else {
			key.addr = remoteAddr(r)
		}
		if wait, ok := l.buckets.allow(key, lim.ClientRate, time.Now()); !ok {
			return &Denial{Kind: RateLimited, RetryAfter: wait, Message: "too many requests from this client; retry later"}
		}
	}
	global, perCred := lim.MaxRequests, lim.MaxRequestsPerCredential
	gn, cn := &l.requests, &held.requests
	what := "requests"
	if tunnel {
		global, perCred = lim.MaxTunnels, lim.MaxTunnelsPerCredential
		gn, cn = &l.tunnels, &held.tunnels
		what = "tunnels"
	}
	if !take(gn, global) {
		return &Denial{Kind: LimitReached, Message: "callgate's limit of open " + what + " is reached; retry later"}
	}
	h.global = gn
	if !take(cn, perCred) {
		h.Release()
		return &Denial{Kind: LimitReached,
			Message: "the limit of open " + what + " to named credential " + cred + " is reached; retry later"}
	}
	h.cred = cn
	return nil
}

// rateKey names one token bucket: a client by name, or a source address.
type rateKey struct {
	client string
	addr   netip.Addr
}

// Bounds of the bucket map: a flood from many source addresses evicts
// buckets instead of growing memory.
const (
	bucketShards   = 64
	bucketShardCap = 1024
)

type bucket struct {
	lim *rate.Limiter
	cfg Rate // the Rate lim was made for; a reload may change it
}

type bucketShard struct {
	mu sync.Mutex
	m  map[rateKey]*bucket
	_  [40]byte // keep shards on separate cache lines
}

// buckets is a sharded, bounded map of token buckets. The zero value is
// usable.
type buckets struct {
	seedOnce sync.Once
	seed     maphash.Seed
	shards   [bucketShards]bucketShard
}

func (b *buckets) shard(k rateKey) *bucketShard {
	b.seedOnce.Do(func() { b.seed = maphash.MakeSeed() })
	var h uint64
	if k.client != "" {
		h = maphash.String(b.seed, k.client)
	} else {
		a := k.addr.As16()
		h = maphash.Bytes(b.seed, a[:])
	}
	return &b.shards[h%bucketShards]
}

// allow takes a token from k's bucket. When none is left it returns how
// long until one is.
func (b *buckets) allow(k rateKey, cfg Rate, now time.Time) (time.Duration, bool) {
	sh := b.shard(k)
	sh.mu.Lock()
	bk := sh.m[k]
	if bk == nil || bk.cfg != cfg {
		if bk == nil && len(sh.m) >= bucketShardCap {
			sh.evict(now)
		}
		bk = &bucket{lim: rate.NewLimiter(rate.Limit(cfg.PerSecond), cfg.burst()), cfg: cfg}
		if sh.m == nil {
			sh.m = make(map[rateKey]*bucket)
		}
		sh.m[k] = bk
	}
	sh.mu.Unlock()
	if bk.lim.AllowN(now, 1) {
		return 0, true
	}
	missing := 1 - bk.lim.TokensAt(now)
	wait := time.Duration(math.Ceil(missing / cfg.PerSecond * float64(time.Second)))
	return wait, false
}

// evict drops the buckets that are full again (a fresh bucket would be the
// same), and if none is, an arbitrary one: memory stays bounded, at the
// price of a fresh burst for the evicted key. sh.mu is held.
func (sh *bucketShard) evict(now time.Time) {
	for k, bk := range sh.m {
		if bk.lim.TokensAt(now) >= float64(bk.cfg.burst()) {
			delete(sh.m, k)
		}
	}
	if len(sh.m) < bucketShardCap {
		return
	}
	for k := range sh.m {
		delete(sh.m, k)
		return
	}
}
