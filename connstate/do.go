package connstate

import (
	"context"
	"fmt"
)

// Do carries out an operator action on connection name. Actions outside the
// matrix return an *ActionError (409 in the admin API), an unknown name
// ErrUnknownConnection. provision and teardown return once accepted — the
// status has moved to Allocating or TeardownInProgress — not when AWS is
// done. sync polls the backend at once and waits for that poll (bounded by
// ctx), returning its error.
//
// Adopted connections (vpc_endpoint_id) are never created or deleted:
// provision starts syncing the endpoint, teardown forgets it and returns
// the connection to Unprovisioned at once, leaving the endpoint as it is.
func (m *Manager) Do(ctx context.Context, name string, a Action) error {
	m.mu.Lock()
	c := m.conns[name]
	if c == nil {
		m.mu.Unlock()
		return fmt.Errorf("%w: %q", ErrUnknownConnection, name)
	}
	if err := CheckAction(name, c.status, a); err != nil {
		m.mu.Unlock()
		return err
	}
	switch a {
	case ActionProvision:
		m.provisionLocked(c)
		m.mu.Unlock()
		m.nudge()
		return nil
	case ActionTeardown:
		m.teardownLocked(c)
		m.mu.Unlock()
		m.nudge()
		return nil
	case ActionSync:
		done := make(chan error, 1)
		m.waiters = append(m.waiters, done)
		m.mu.Unlock()
		m.nudge()
		select {
		case err := <-done:
			if err != nil {
				return fmt.Errorf("sync %q: %w", name, err)
			}
			return nil
		case <-ctx.Done():
			return fmt.Errorf("sync %q: %w", name, ctx.Err())
		}
	}
	m.mu.Unlock()
	return fmt.Errorf("connection %q: action %q: %w", name, a, ErrConfigAction)
}

// provisionLocked starts provisioning an Unprovisioned connection.
func (m *Manager) provisionLocked(c *conn) {
	c.autoProvision = false
	c.opErr = ""
	m.bumpLocked(c)
	if c.adopted() {
		// Nothing to create: describe the configured endpoint at once.
		c.tracked = true
		c.endpointID = c.cfg.VpcEndpointID
		m.force = true
	}
	m.setStatusLocked(c, Allocating)
	m.startWorkersLocked(c)
}

// teardownLocked starts tearing down a provisioned connection.
func (m *Manager) teardownLocked(c *conn) {
	m.bumpLocked(c)
	c.autoProvision = false
	if c.adopted() {
		m.setStatusLocked(c, Unprovisioned) // forget it; the endpoint is not ours
		return
	}
	c.tornDown = true
	c.opErr = ""
	if c.cancelCreate != nil {
		c.cancelCreate() // a create still in flight or waiting to retry is moot
	}
	m.setStatusLocked(c, TeardownInProgress)
	m.startWorkersLocked(c)
}
