package connstate

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"
)

// Run is the sync loop: it polls the backend for every connection once per
// cycle, moves statuses, and runs the Create and Delete calls, until ctx
// ends (then it stops its workers and returns nil). Polling is every
// SyncInterval (±10%), every FastInterval while a connection is
// transitional, and backs off exponentially while the backend fails —
// keeping every last known status meanwhile, so an AWS outage never cuts a
// Ready connection. Only one Run may be active at a time.
func (m *Manager) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	m.mu.Lock()
	if m.runCtx != nil {
		m.mu.Unlock()
		cancel()
		return ErrAlreadyRunning
	}
	m.runCtx = ctx
	for _, c := range m.conns {
		m.startWorkersLocked(c)
	}
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		m.runCtx = nil // before cancel: exiting workers must not start new ones
		waiters := m.waiters
		m.waiters = nil
		m.mu.Unlock()
		cancel()
		m.workers.Wait()
		for _, w := range waiters {
			w <- fmt.Errorf("sync loop stopped: %w", context.Canceled)
		}
	}()

	var (
		failures int
		lastErr  error
		lastEnd  time.Time
	)
	timer := time.NewTimer(0) // the first cycle runs at once
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		case <-m.wake:
			if !m.urgent() {
				// Something changed what the next delay should be (a
				// provision makes polling fast); keep the last cycle's
				// end as the reference so a backoff is not cut short.
				timer.Reset(max(0, time.Until(lastEnd.Add(m.delay(failures, lastErr)))))
				continue
			}
		}
		err := m.cycle(ctx)
		lastEnd = time.Now()
		if err != nil && ctx.Err() == nil {
			failures++
			lastErr = err
		} else {
			failures, lastErr = 0, nil
		}
		timer.Reset(m.delay(failures, lastErr))
	}
}

// urgent reports whether someone waits for a poll now.
func (m *Manager) urgent() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.force || len(m.waiters) > 0
}

// delay is the pause before the next cycle.
func (m *Manager) delay(failures int, lastErr error) time.Duration {
	if failures > 0 {
		return backoff(failures, lastErr, m.opts.BackoffBase, m.opts.BackoffMax)
	}
	m.mu.Lock()
	fast := m.force
	for _, c := range m.conns {
		if c.status.Transitional() || c.autoProvision || c.creating || c.deleting {
			fast = true
			break
		}
	}
	m.mu.Unlock()
	if fast {
		return jitter(m.opts.FastInterval, intervalJitter)
	}
	return jitter(m.opts.SyncInterval, intervalJitter)
}

// cycle polls the backend once for every described connection and applies
// the answers. On an error nothing changes but the recorded error.
func (m *Manager) cycle(ctx context.Context) error {
	m.mu.Lock()
	waiters := m.waiters
	m.waiters, m.force = nil, false
	seq := m.seq
	conns := make([]*conn, 0, len(m.conns))
	specs := make([]Spec, 0, len(m.conns))
	for _, name := range m.order {
		if c := m.conns[name]; c.described() {
			conns = append(conns, c)
			specs = append(specs, c.cfg.Spec())
		}
	}
	m.mu.Unlock()

	err := m.describeAndApply(ctx, seq, conns, specs)
	for _, w := range waiters {
		w <- err
	}
	return err
}

func (m *Manager) describeAndApply(ctx context.Context, seq uint64, conns []*conn, specs []Spec) error {
	var (
		obs map[string]Observation
		err error
	)
	if len(specs) > 0 {
		start := time.Now()
		dctx, cancel := context.WithTimeout(ctx, m.opts.CallTimeout)
		obs, err = m.backend.Describe(dctx, specs)
		cancel()
		m.metrics.observeSync(time.Since(start), err)
	}
	if err != nil {
		err = fmt.Errorf("describe vpc endpoints: %w", err)
		m.mu.Lock()
		m.describeErr = err.Error()
		m.mu.Unlock()
		if ctx.Err() == nil {
			m.log.Warn("sync failed; keeping the last known statuses", zap.Error(err))
		}
		return err
	}

	now := m.opts.Now()
	var tags []*tagWrite
	m.mu.Lock()
	m.describeErr = ""
	for _, c := range conns {
		if c.removed || c.seq > seq || !c.described() {
			continue // an action or a worker changed it after the poll began
		}
		o, found := obs[c.cfg.Name]
		if tw := m.applyObservationLocked(c, o, found, now); tw != nil {
			tags = append(tags, tw)
		}
		c.lastSync = now
		if c.autoProvision {
			c.autoProvision = false
			if c.status == Unprovisioned {
				m.provisionLocked(c)
			}
		}
	}
	m.mu.Unlock()
	m.ready.Store(true)

	for _, tw := range tags {
		m.writeTag(ctx, tw)
	}
	return nil
}

// writeTag records or clears the ready-since tag. A failure only delays
// sharing the moment: this process keeps its own, and the next cycle
// writes the tag again.
func (m *Manager) writeTag(ctx context.Context, tw *tagWrite) {
	tctx, cancel := context.WithTimeout(ctx, m.opts.CallTimeout)
	err := m.backend.SetReadySince(tctx, tw.endpointID, tw.since)
	cancel()
	m.mu.Lock()
	defer m.mu.Unlock()
	if err != nil {
		tw.c.tagErr = fmt.Sprintf("record ready-since tag on %s: %v", tw.endpointID, err)
		m.log.Warn("ready-since tag write failed", zap.String("connection", tw.c.cfg.Name),
			zap.String("endpoint", tw.endpointID), zap.Error(err))
		return
	}
	tw.c.tagErr = ""
}
