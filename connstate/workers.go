package connstate

import (
	"context"
	"errors"
	"fmt"

	"go.uber.org/zap"
)

// startWorkersLocked starts the Create or Delete that c needs, unless one
// is already running or Run has not started (Run starts them then).
func (m *Manager) startWorkersLocked(c *conn) {
	// runCtx is nil before Run and again once Run is stopping, so a worker
	// that exits at shutdown does not start another.
	if m.runCtx == nil || c.removed || c.adopted() {
		return
	}
	switch {
	case c.status == Allocating && !c.tornDown && !c.creating:
		ctx, cancel := context.WithCancel(m.runCtx)
		c.creating, c.cancelCreate = true, cancel
		m.workers.Add(1)
		go m.createWorker(ctx, c)
	case c.tornDown && !c.deleting && !c.creating && c.endpointID != "" && c.endpointID != c.deletedID:
		c.deleting = true
		m.workers.Add(1)
		go m.deleteWorker(m.runCtx, c)
	}
}

// createWorker calls Create until it succeeds, retrying with backoff while
// the connection stays Allocating (status Allocating covers "create call in
// flight or being retried").
func (m *Manager) createWorker(ctx context.Context, c *conn) {
	defer m.workers.Done()
	defer func() {
		m.mu.Lock()
		c.creating = false
		if c.cancelCreate != nil {
			c.cancelCreate()
			c.cancelCreate = nil
		}
		m.bumpLocked(c)
		m.startWorkersLocked(c) // a teardown during the create may now delete
		m.mu.Unlock()
		m.nudge()
	}()
	for attempt := 1; ; attempt++ {
		m.mu.Lock()
		if c.removed || c.tornDown || c.status != Allocating {
			m.mu.Unlock()
			return
		}
		spec := c.cfg.Spec()
		m.mu.Unlock()

		cctx, cancel := context.WithTimeout(ctx, m.opts.CallTimeout)
		obs, err := m.backend.Create(cctx, spec)
		cancel()

		m.mu.Lock()
		if err == nil {
			c.opErr = ""
			m.applyCreatedLocked(c, obs)
			m.mu.Unlock()
			return
		}
		c.opErr = fmt.Sprintf("create endpoint: %v", err)
		m.mu.Unlock()
		if ctx.Err() != nil {
			return
		}
		m.log.Warn("create endpoint failed; retrying", zap.String("connection", spec.Name),
			zap.Int("attempt", attempt), zap.Error(err))
		if !sleep(ctx, backoff(attempt, err, m.opts.BackoffBase, m.opts.BackoffMax)) {
			return
		}
	}
}

// applyCreatedLocked records what Create returned. A Describe may have
// moved the status on meanwhile; the older Create answer then only fills
// in the endpoint ID.
func (m *Manager) applyCreatedLocked(c *conn, obs Observation) {
	if c.removed {
		return
	}
	if c.endpointID == "" || c.status == Allocating || c.tornDown {
		c.endpointID = obs.EndpointID
	}
	if c.status != Allocating || c.tornDown {
		return
	}
	m.applyObservationLocked(c, obs, true, m.opts.Now())
}

// deleteWorker calls Delete until it succeeds or the teardown is moot.
func (m *Manager) deleteWorker(ctx context.Context, c *conn) {
	defer m.workers.Done()
	defer func() {
		m.mu.Lock()
		c.deleting = false
		m.bumpLocked(c)
		m.mu.Unlock()
		m.nudge()
	}()
	for attempt := 1; ; attempt++ {
		m.mu.Lock()
		if c.removed || !c.tornDown || c.endpointID == "" || c.endpointID == c.deletedID {
			m.mu.Unlock()
			return
		}
		spec, id := c.cfg.Spec(), c.endpointID
		m.mu.Unlock()

		cctx, cancel := context.WithTimeout(ctx, m.opts.CallTimeout)
		err := m.backend.Delete(cctx, spec, id)
		cancel()

		m.mu.Lock()
		if err == nil || errors.Is(err, ErrNotFound) {
			c.opErr = ""
			c.deletedID = id
			m.mu.Unlock()
			return
		}
		c.opErr = fmt.Sprintf("delete endpoint %s: %v", id, err)
		m.mu.Unlock()
		if ctx.Err() != nil {
			return
		}
		m.log.Warn("delete endpoint failed; retrying", zap.String("connection", spec.Name),
			zap.String("endpoint", id), zap.Int("attempt", attempt), zap.Error(err))
		if !sleep(ctx, backoff(attempt, err, m.opts.BackoffBase, m.opts.BackoffMax)) {
			return
		}
	}
}
