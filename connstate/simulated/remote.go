package simulated

import (
	"fmt"

	"github.com/callgate/callgate/connstate"
)

// The endpoint service owner's and AWS's side. Each takes a connection name
// (its newest endpoint) or an endpoint ID.

// Accept accepts a pendingAcceptance (or rejected) endpoint: it becomes
// pending, then available after Delays.Pending.
func (b *Backend) Accept(ref string) error {
	return b.transition(ref, stPending, "accept", stPendingAcceptance, stRejected)
}

// Reject rejects an endpoint that is waiting for acceptance or already up.
func (b *Backend) Reject(ref string) error {
	return b.transition(ref, stRejected, "reject", stPendingAcceptance, stPending, stAvailable)
}

// Fail makes AWS fail the endpoint (state "failed").
func (b *Backend) Fail(ref string) error {
	return b.transition(ref, stFailed, "fail", stPendingAcceptance, stPending, stAvailable)
}

// Expire makes the endpoint's acceptance request expire (state "expired").
func (b *Backend) Expire(ref string) error {
	return b.transition(ref, stExpired, "expire", stPendingAcceptance)
}

// SetState forces any wire state, e.g. "deleted" or an unknown one, for
// cases the delays do not reach.
func (b *Backend) SetState(ref, state string) error {
	return b.transition(ref, state, "set state of", "")
}

// DeleteRemotely makes the endpoint vanish at once, as if its owner deleted
// it behind callgate's back.
func (b *Backend) DeleteRemotely(ref string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.advanceLocked()
	e := b.lookupLocked(ref)
	if e == nil {
		return fmt.Errorf("delete remotely %q: %w", ref, connstate.ErrNotFound)
	}
	delete(b.endpoints, e.id)
	b.publishAddrsLocked()
	return nil
}

// AddExternal creates an endpoint that callgate did not make (no
// connection tag), for adopting with vpc_endpoint_id. It returns its ID.
func (b *Backend) AddExternal(serviceName, region, state string) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.newEndpointLocked(serviceName, b.region(region), state).id
}

// transition moves ref's endpoint to state if it is in one of from (an
// empty from entry allows any state).
func (b *Backend) transition(ref, state, verb string, from ...string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.advanceLocked()
	e := b.lookupLocked(ref)
	if e == nil {
		return fmt.Errorf("%s %q: %w", verb, ref, connstate.ErrNotFound)
	}
	for _, f := range from {
		if f == "" || f == e.state {
			e.set(state, b.opts.Now())
			b.advanceLocked() // zero delays move on at once
			return nil
		}
	}
	return fmt.Errorf("%s %q: endpoint %s is %s: %w", verb, ref, e.id, e.state, ErrInvalidState)
}

// lookupLocked finds an endpoint by ID or by connection name (the newest).
func (b *Backend) lookupLocked(ref string) *endpoint {
	if e := b.endpoints[ref]; e != nil {
		return e
	}
	var best *endpoint
	for _, e := range b.endpoints {
		if e.tags[connstate.ConnectionTag] == ref && (best == nil || e.order > best.order) {
			best = e
		}
	}
	return best
}
