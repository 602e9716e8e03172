package simulated

import (
	"maps"
	"time"

	"github.com/callgate/callgate/connstate"
)

// AWS VpcEndpoint State values as EC2 sends them on the wire (camelCase).
const (
	stPendingAcceptance = "pendingAcceptance"
	stPending           = "pending"
	stAvailable         = "available"
	stRejected          = "rejected"
	stFailed            = "failed"
	stExpired           = "expired"
	stDeleting          = "deleting"
	stDeleted           = "deleted"
)

type endpoint struct {
	id, service, region, dns string
	state                    string
	since                    time.Time // when state began; the delays count from here
	order                    uint64    // creation order
	tags                     map[string]string
}

func (e *endpoint) set(state string, now time.Time) {
	e.state, e.since = state, now
}

func (e *endpoint) observation() connstate.Observation {
	o := connstate.Observation{EndpointID: e.id, State: e.state, DNSName: e.dns}
	if v, ok := e.tags[connstate.ReadySinceTag]; ok {
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			o.ReadySince = t
		}
	}
	return o
}

// liveState: the endpoint is neither going nor gone.
func liveState(s string) bool { return s != stDeleting && s != stDeleted }

// advanceLocked moves every endpoint along the states its delays have
// passed, computed from the clock so a fake Now drives it exactly.
func (b *Backend) advanceLocked() {
	now := b.opts.Now()
	d := b.opts.Delays
	gone := false
	for id, e := range b.endpoints {
		for {
			elapsed := now.Sub(e.since)
			switch {
			case e.state == stPendingAcceptance && b.opts.Acceptance != "manual" && elapsed >= d.PendingAcceptance:
				e.set(stPending, e.since.Add(d.PendingAcceptance))
				continue
			case e.state == stPending && elapsed >= d.Pending:
				e.set(stAvailable, e.since.Add(d.Pending))
				continue
			case e.state == stDeleting && elapsed >= d.Deleting:
				delete(b.endpoints, id)
				gone = true
			}
			break
		}
	}
	if gone {
		b.publishAddrsLocked()
	}
}

// findLocked is the endpoint Describe reports for spec: the adopted ID, or
// the newest endpoint tagged for the connection and service in its region.
func (b *Backend) findLocked(s connstate.Spec) *endpoint {
	if s.AdoptedID != "" {
		return b.endpoints[s.AdoptedID]
	}
	var best *endpoint
	region := b.region(s.Region)
	for _, e := range b.endpoints {
		if e.tags[connstate.ConnectionTag] == s.Name && e.service == s.ServiceName && e.region == region &&
			(best == nil || e.order > best.order) {
			best = e
		}
	}
	return best
}

func (b *Backend) newEndpointLocked(service, region, state string) *endpoint {
	b.created++
	id := newEndpointID()
	e := &endpoint{
		id:      id,
		service: service,
		region:  region,
		dns:     endpointDNS(id, service, region),
		order:   b.created,
		tags:    make(map[string]string),
	}
	e.set(state, b.opts.Now())
	b.endpoints[id] = e
	b.publishAddrsLocked()
	return e
}

// publishAddrsLocked rebuilds the DNS-name → address snapshot.
func (b *Backend) publishAddrsLocked() {
	m := make(map[string]string, len(b.endpoints))
	for _, e := range b.endpoints {
		if a, ok := b.opts.Services[e.service]; ok {
			m[e.dns] = a
		}
	}
	b.addrs.Store(&m)
}

// Endpoint is a test's view of one simulated endpoint.
type Endpoint struct {
	ID          string
	Connection  string // the connection tag; "" for one added with AddExternal
	ServiceName string
	Region      string
	State       string
	DNSName     string
	Tags        map[string]string
}

// Endpoints lists the endpoints that exist now, oldest first.
func (b *Backend) Endpoints() []Endpoint {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.advanceLocked()
	out := make([]Endpoint, 0, len(b.endpoints))
	for _, e := range b.endpoints {
		out = append(out, Endpoint{
			ID: e.id, Connection: e.tags[connstate.ConnectionTag], ServiceName: e.service,
			Region: e.region, State: e.state, DNSName: e.dns, Tags: maps.Clone(e.tags),
		})
	}
	for i := 1; i < len(out); i++ { // insertion sort by creation order; lists are short
		for j := i; j > 0 && b.endpoints[out[j].ID].order < b.endpoints[out[j-1].ID].order; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}
