package connstate

import (
	"encoding/json"
	"time"
)

// View is one connection as the admin API shows it (docs/admin-api.md). Zero times
// are encoded as JSON null.
type View struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Type        string `json:"type"`
	ServiceName string `json:"service_name"`
	Region      string `json:"region"`
	Status      Status `json:"status"`
	// AWSState is the endpoint State last reported by AWS ("" if none).
	AWSState string `json:"aws_state"`
	// Adopted is true for a connection that syncs an endpoint made
	// elsewhere (vpc_endpoint_id) and never creates or deletes it.
	Adopted       bool   `json:"adopted"`
	VpcEndpointID string `json:"vpc_endpoint_id"`
	EndpointDNS   string `json:"endpoint_dns"`
	// ReadySince is when the current Ready episode began; zero unless Ready.
	ReadySince time.Time `json:"ready_since"`
	// WarmAt is when a Ready connection starts carrying traffic
	// (ReadySince + warm-up); zero unless Ready.
	WarmAt time.Time `json:"warm_at"`
	// LastSync is the last successful poll of this connection; zero
	// before the first.
	LastSync time.Time `json:"last_sync"`
	// LastError is the most recent failure (create, delete, tag write or
	// poll) that has not been followed by a success; "" if none.
	LastError string `json:"last_error"`
}

// MarshalJSON writes zero times as null rather than year 1.
func (v View) MarshalJSON() ([]byte, error) {
	type plain View // no MarshalJSON method: no recursion
	return json.Marshal(struct {
		plain
		ReadySince *time.Time `json:"ready_since"`
		WarmAt     *time.Time `json:"warm_at"`
		LastSync   *time.Time `json:"last_sync"`
	}{plain(v), timeOrNil(v.ReadySince), timeOrNil(v.WarmAt), timeOrNil(v.LastSync)})
}

func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

// List returns every configured connection in config order.
func (m *Manager) List() []View {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]View, 0, len(m.order))
	for _, name := range m.order {
		out = append(out, m.viewLocked(m.conns[name]))
	}
	return out
}

// Get returns one connection; ok is false for an unknown name.
func (m *Manager) Get(name string) (v View, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.conns[name]
	if c == nil {
		return View{}, false
	}
	return m.viewLocked(c), true
}

func (m *Manager) viewLocked(c *conn) View {
	v := View{
		Name:          c.cfg.Name,
		Description:   c.cfg.Description,
		Type:          c.cfg.Type,
		ServiceName:   c.cfg.ServiceName,
		Region:        c.cfg.Region,
		Status:        c.status,
		AWSState:      c.awsState,
		Adopted:       c.adopted(),
		VpcEndpointID: c.endpointID,
		EndpointDNS:   c.dns,
		LastSync:      c.lastSync,
	}
	if c.adopted() {
		v.VpcEndpointID = c.cfg.VpcEndpointID
	}
	if c.status == Ready {
		v.ReadySince = c.readySince
		v.WarmAt = c.readySince.Add(time.Duration(m.warmup.Load()))
	}
	switch {
	case c.opErr != "":
		v.LastError = c.opErr
	case c.tagErr != "":
		v.LastError = c.tagErr
	case c.described():
		v.LastError = m.describeErr
	}
	return v
}
