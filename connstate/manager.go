package connstate

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// Manager owns the configured outbound connections: it drives them through
// the status machine with a Backend (Run), answers the hot path (Admit)
// lock-free, and carries out the operator actions (Do). Every method is
// safe for concurrent use. The zero value is not usable; use NewManager.
type Manager struct {
	// warmup is Options.Warmup, changeable live by SetWarmup (a reload);
	// read with one atomic load on the hot path.
	warmup  atomic.Int64
	backend Backend
	opts    Options
	log     *zap.Logger
	metrics *Metrics

	// table is what Admit reads: an immutable map swapped whole on Apply.
	table atomic.Pointer[map[string]*entry]
	// ready turns true after the first successful sync cycle.
	ready atomic.Bool

	// wake nudges Run to recompute its next poll (or to poll at once when
	// force is set or a sync waiter is queued). Capacity one: nudges merge.
	wake chan struct{}

	mu          sync.Mutex
	conns       map[string]*conn
	order       []string // config order, for List
	seq         uint64   // bumped on every action and worker result
	runCtx      context.Context
	workers     sync.WaitGroup
	waiters     []chan error // Do(sync) callers waiting for the next cycle
	force       bool         // poll at once (Apply added work, adopted provision)
	describeErr string       // the last Describe failure; "" after a success
}

// NewManager returns a Manager with no connections; call Apply, then Run.
func NewManager(b Backend, opts Options) *Manager {
	opts = opts.withDefaults()
	m := &Manager{
		backend: b,
		opts:    opts,
		log:     opts.Logger,
		metrics: opts.Metrics,
		wake:    make(chan struct{}, 1),
		conns:   make(map[string]*conn),
	}
	m.warmup.Store(int64(opts.Warmup))
	empty := make(map[string]*entry)
	m.table.Store(&empty)
	m.metrics.bind(m)
	return m
}

// Admit is the hot path's question: may connection name carry traffic now,
// and if not, why. It takes no lock and does not allocate.
func (m *Manager) Admit(name string) Admission {
	e, ok := (*m.table.Load())[name]
	if !ok {
		return Admission{}
	}
	s := e.state.Load()
	a := Admission{Known: true, Status: s.status}
	if s.status == Ready {
		a.Endpoint = s.endpoint
		a.Revoked = s.revoked
		a.WarmupLeft = WarmupLeft(s.readySince, time.Duration(m.warmup.Load()), m.opts.Now())
	}
	return a
}

// Ready reports whether the first sync cycle has succeeded, so statuses
// reflect AWS rather than the empty start (for /readyz).
func (m *Manager) Ready() bool { return m.ready.Load() }

// setStatusLocked moves c to s, opening or ending its Ready episode, and
// publishes the result for Admit.
func (m *Manager) setStatusLocked(c *conn, s Status) {
	old := c.status
	if old == Ready && s != Ready {
		close(c.revoked)
		c.revoked = nil
		c.readySince = time.Time{}
	}
	if s == Ready && c.revoked == nil {
		c.revoked = make(chan struct{})
	}
	if s == Unprovisioned {
		c.endpointID, c.dns, c.awsState = "", "", ""
		c.tornDown, c.deletedID = false, ""
		if c.adopted() {
			c.tracked = false
		}
	}
	c.status = s
	if old != s {
		m.log.Info("connection status changed", zap.String("connection", c.cfg.Name),
			zap.Stringer("from", old), zap.Stringer("to", s), zap.String("endpoint", c.endpointID))
	}
	m.publishLocked(c)
}

// publishLocked stores a new snapshot for Admit if anything it shows changed.
func (m *Manager) publishLocked(c *conn) {
	next := snapshot{status: c.status, revoked: c.revoked}
	if c.status == Ready {
		next.endpoint, next.readySince = c.dns, c.readySince
	}
	if cur := c.entry.state.Load(); cur != nil && *cur == next {
		return
	}
	c.entry.state.Store(&next)
}

// nudge wakes Run without blocking; concurrent nudges merge.
func (m *Manager) nudge() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// bumpLocked marks c as changed now, so a Describe already in flight does
// not overwrite what an action or a worker just decided.
func (m *Manager) bumpLocked(c *conn) {
	m.seq++
	c.seq = m.seq
}

// SetWarmup changes the warm-up window (a reload). It applies at once to
// every Ready connection: the window is measured from the shared
// ready-since moment, so a shorter window can end a warm-up early and a
// longer one can resume it. Negative means 0.
func (m *Manager) SetWarmup(d time.Duration) {
	if d < 0 {
		d = 0
	}
	m.warmup.Store(int64(d))
}
