package proxy

import (
	"sync"
	"sync/atomic"

	"github.com/callgate/callgate/routing"
)

// flow is one admitted request or tunnel that callgate may have to cut:
// when its connection leaves Ready (Admission.Revoked closes), when a
// reload removes or changes its named credential, or at shutdown.
type flow struct {
	dest    *routing.Destination
	revoked <-chan struct{}
	tunnel  bool
	once    sync.Once
	cancel  func() // closes the tunnel or cancels the request
	shard   *flowShard
	// why says which of the reasons above stopped it, for the summary.
	why atomic.Pointer[string]
}

// stop cuts the flow once; why is logged as the close reason.
func (f *flow) stop(why string) {
	f.once.Do(func() {
		f.why.Store(&why)
		f.cancel()
	})
}

// stopReason is why stop was called, or "".
func (f *flow) stopReason() string {
	if p := f.why.Load(); p != nil {
		return *p
	}
	return ""
}

// Close reasons for flows that callgate cut.
const (
	reasonRevoked  = "connection_not_ready"
	reasonRetired  = "named_credential_removed"
	reasonShutdown = "shutdown"
)

// flowShards spreads registration over several locks, so concurrent
// requests on many cores do not queue on one mutex. Reads (Admit, Lookup)
// never touch this; only admitted flows register, once each.
const flowShards = 32

type flowShard struct {
	mu sync.Mutex
	m  map[*flow]struct{}
	_  [40]byte // keep shards on separate cache lines
}

// flows tracks every admitted flow and one watcher goroutine per Ready
// episode (not per flow), so a tunnel costs no extra goroutine.
type flows struct {
	shards   [flowShards]flowShard
	next     atomic.Uint32
	watchers sync.Map // <-chan struct{} → struct{}: episodes being watched
	closing  atomic.Bool
	tunnels  sync.WaitGroup // open tunnels, for Shutdown
	// done ends the watchers at shutdown.
	done     chan struct{}
	doneOnce sync.Once
}

func (fs *flows) init() {
	fs.done = make(chan struct{})
	for i := range fs.shards {
		fs.shards[i].m = make(map[*flow]struct{})
	}
}

// add registers f and makes sure it is stopped if its episode already
// ended or a shutdown already began; the caller must call remove.
func (fs *flows) add(f *flow) {
	sh := &fs.shards[fs.next.Add(1)%flowShards]
	f.shard = sh
	if f.tunnel {
		fs.tunnels.Add(1)
	}
	sh.mu.Lock()
	sh.m[f] = struct{}{}
	sh.mu.Unlock()
	if f.revoked != nil {
		if _, ok := fs.watchers.Load(f.revoked); !ok {
			if _, loaded := fs.watchers.LoadOrStore(f.revoked, struct{}{}); !loaded {
				go fs.watch(f.revoked)
			}
		}
		// A watcher that swept before we registered would miss us.
		select {
		case <-f.revoked:
			f.stop(reasonRevoked)
		default:
		}
	}
	if fs.closing.Load() {
		f.stop(reasonShutdown)
	}
}

func (fs *flows) remove(f *flow) {
	f.shard.mu.Lock()
	delete(f.shard.m, f)
	f.shard.mu.Unlock()
	if f.tunnel {
		fs.tunnels.Done()
	}
}

// watch waits for one Ready episode to end and cuts its flows.
func (fs *flows) watch(revoked <-chan struct{}) {
	select {
	case <-revoked:
	case <-fs.done:
		return
	}
	fs.watchers.Delete(revoked)
	fs.sweep(func(f *flow) string {
		if f.revoked == revoked {
			return reasonRevoked
		}
		return ""
	})
}

// retire cuts the flows whose named credential the new table no longer
// has, or has with another destination or connection. Flows of unchanged
// credentials keep running across the reload.
func (fs *flows) retire(t *routing.Table) {
	fs.sweep(func(f *flow) string {
		n := t.ByName(f.dest.Name)
		if n == nil || n.HostPort != f.dest.HostPort || n.Scheme != f.dest.Scheme ||
			n.Connection != f.dest.Connection || n.BasePath != f.dest.BasePath {
			return reasonRetired
		}
		return ""
	})
}

// stopAll cuts everything (shutdown); later adds stop themselves.
func (fs *flows) stopAll() {
	fs.closing.Store(true)
	fs.sweep(func(*flow) string { return reasonShutdown })
	fs.doneOnce.Do(func() { close(fs.done) })
}

// sweep stops the flows for which pick returns a reason. Stopping happens
// outside the shard lock: cancel may block briefly on a connection close.
func (fs *flows) sweep(pick func(*flow) string) {
	type hit struct {
		f   *flow
		why string
	}
	var hits []hit
	for i := range fs.shards {
		sh := &fs.shards[i]
		sh.mu.Lock()
		for f := range sh.m {
			if why := pick(f); why != "" {
				hits = append(hits, hit{f, why})
			}
		}
		sh.mu.Unlock()
	}
	for _, h := range hits {
		h.f.stop(h.why)
	}
}

// count is the number of registered flows (tests).
func (fs *flows) count() int {
	n := 0
	for i := range fs.shards {
		sh := &fs.shards[i]
		sh.mu.Lock()
		n += len(sh.m)
		sh.mu.Unlock()
	}
	return n
}
