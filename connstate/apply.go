package connstate

import (
	"errors"
	"fmt"
)

// CheckApply reports whether Apply(conns) would be accepted now, without
// changing anything (a reload checks it before swapping its routing table).
func (m *Manager) CheckApply(conns []Connection) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.checkLocked(conns)
}

// Apply sets the configured connections, at start and on every reload. It
// refuses the whole change, applying nothing, when it would break a
// provisioned connection: removing one, or changing its service_name,
// region or vpc_endpoint_id (tear it down first). Description and provision
// changes always apply. Connections with Provision set that are
// Unprovisioned are provisioned by the next sync cycle, once it has
// confirmed that no endpoint exists for them yet.
func (m *Manager) Apply(conns []Connection) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.checkLocked(conns); err != nil {
		return err
	}
	next := make(map[string]*conn, len(conns))
	table := make(map[string]*entry, len(conns))
	order := make([]string, 0, len(conns))
	for _, cfg := range conns {
		c := m.conns[cfg.Name]
		if c == nil {
			c = &conn{entry: &entry{}}
			c.entry.state.Store(unprovisionedSnapshot)
			m.force = true // learn its status now rather than a full interval later
		}
		c.cfg = cfg
		if cfg.Provision && c.status == Unprovisioned {
			if c.adopted() {
				m.provisionLocked(c)
			} else {
				c.autoProvision = true
				m.force = true
			}
		}
		next[cfg.Name] = c
		table[cfg.Name] = c.entry
		order = append(order, cfg.Name)
	}
	for name, c := range m.conns {
		if _, kept := next[name]; !kept {
			m.removeLocked(c)
		}
	}
	m.conns, m.order = next, order
	m.table.Store(&table)
	m.nudge()
	return nil
}

// checkLocked validates conns against the current state.
func (m *Manager) checkLocked(conns []Connection) error {
	var errs []error
	seen := make(map[string]bool, len(conns))
	for _, cfg := range conns {
		if cfg.Name == "" {
			errs = append(errs, errors.New("outbound connection without a name"))
			continue
		}
		if seen[cfg.Name] {
			errs = append(errs, fmt.Errorf("connection %q is configured twice", cfg.Name))
			continue
		}
		seen[cfg.Name] = true
		c := m.conns[cfg.Name]
		if c == nil || c.status == Unprovisioned {
			continue
		}
		for _, ch := range []struct{ key, from, to string }{
			{"service_name", c.cfg.ServiceName, cfg.ServiceName},
			{"region", c.cfg.Region, cfg.Region},
			{"vpc_endpoint_id", c.cfg.VpcEndpointID, cfg.VpcEndpointID},
		} {
			if ch.from != ch.to {
				errs = append(errs, fmt.Errorf("connection %q is %s: changing %s from %q to %q would break it; tear it down first",
					cfg.Name, c.status, ch.key, ch.from, ch.to))
			}
		}
	}
	for _, name := range m.order {
		if c := m.conns[name]; !seen[name] && c.status != Unprovisioned {
			errs = append(errs, fmt.Errorf("connection %q is %s: tear it down before removing it from the config", name, c.status))
		}
	}
	return errors.Join(errs...)
}

// removeLocked forgets c: its Ready episode ends (open tunnels close) and
// its workers stop. Only Unprovisioned connections get here.
func (m *Manager) removeLocked(c *conn) {
	c.removed = true
	if c.revoked != nil {
		close(c.revoked)
		c.revoked = nil
	}
	if c.cancelCreate != nil {
		c.cancelCreate()
	}
	c.entry.state.Store(unprovisionedSnapshot)
}
