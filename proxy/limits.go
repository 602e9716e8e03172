package proxy

import (
	"hash/maphash"
	"math"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/callgate/callgate/routing"
)

// Limits cap what clients can make callgate hold (the config's `limits:`).
// They are part of the Snapshot, so a reload changes them live; the counts
// they are checked against survive reloads. The zero value limits nothing.
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

// limiter holds the counts and token buckets the Limits are checked
// against. Counting is atomic; only the bucket lookup takes a (sharded)
// lock. The zero value is usable.
type limiter struct {
	tunnels  atomic.Int64
	requests atomic.Int64
	buckets  buckets
}

// credHeld is one named credential's in-flight counts, carried across
// reloads with the credential's name (see newState).
type credHeld struct {
	tunnels  atomic.Int64
	requests atomic.Int64
}

// hold is what one request or tunnel holds against the limits. The zero
// value holds nothing; release gives everything back once.
type hold struct {
	global *atomic.Int64
	cred   *atomic.Int64
}

func (h *hold) release() {
	if h.global != nil {
		h.global.Add(-1)
	}
	if h.cred != nil {
		h.cred.Add(-1)
	}
	*h = hold{}
}

// take adds one to n unless that would pass max (0: no cap).
func take(n *atomic.Int64, maxN int64) bool {
	if n.Add(1) > maxN && maxN > 0 {
		n.Add(-1)
		return false
	}
	return true
}

// limit checks the client's rate, then the global and per-credential
// concurrency caps for d, in that order. Slots taken are recorded in h
// and must be released when the request or tunnel ends. c is the client
// authorize found (nil: the source address is the rate key).
func (s *Server) limit(r *http.Request, st *state, d *routing.Destination, c *clientEntry, tunnel bool, h *hold) *refusal {
	l := &st.snap.Limits
	if l.ClientRate.PerSecond > 0 {
		key := rateKey{}
		if c != nil {
			key.client = c.name
		} else {
			key.addr = remoteAddr(r)
		}
		if wait, ok := s.lim.buckets.allow(key, l.ClientRate, time.Now()); !ok {
			return &refusal{code: CodeRateLimited, dest: d, connection: d.Connection, retryAfter: wait,
				message: "too many requests from this client; retry later"}
		}
	}
	global, perCred := l.MaxRequests, l.MaxRequestsPerCredential
	gn, cn := &s.lim.requests, &st.dest(d).held.requests
	what := "requests"
	if tunnel {
		global, perCred = l.MaxTunnels, l.MaxTunnelsPerCredential
		gn, cn = &s.lim.tunnels, &st.dest(d).held.tunnels
		what = "tunnels"
	}
	if !take(gn, global) {
		return &refusal{code: CodeLimitReached, dest: d, connection: d.Connection,
			message: "callgate's limit of open " + what + " is reached; retry later"}
	}
	h.global = gn
	if !take(cn, perCred) {
		h.release()
		return &refusal{code: CodeLimitReached, dest: d, connection: d.Connection,
			message: "the limit of open " + what + " to named credential " + d.Name + " is reached; retry later"}
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
