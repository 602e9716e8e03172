package connstate

import (
	"strings"
	"time"

	"go.uber.org/zap"
)

// nextStatus is the status machine of docs/operations.md, Connection statuses: the status a connection
// moves to when the backend reports obs (found) or nothing (!found).
// tornDown says callgate asked for deletion, creating that a Create call is
// in flight. ok is false for an AWS state callgate does not know; the
// status then stays as it is.
func nextStatus(cur Status, tornDown, creating, adopted bool, obs Observation, found bool) (next Status, ok bool) {
	if found && deletedState(obs.State) {
		// AWS lists a deleted endpoint for a while (moto for ever): it is
		// gone, and waiting for it to leave the listing would hold a
		// finished teardown open.
		found = false
	}
	if !found {
		switch {
		case tornDown && creating:
			return TeardownInProgress, true // the create may still leave an endpoint to delete
		case tornDown, cur == TeardownInProgress, cur == Unprovisioned:
			return Unprovisioned, true
		case cur == Allocating && !adopted:
			return Allocating, true // not created yet
		}
		return DeletedRemotely, true
	}
	st, ok := MapAWSState(obs.State, tornDown || cur == TeardownInProgress)
	switch {
	case !ok:
		return cur, false
	case tornDown:
		return TeardownInProgress, true // a teardown only goes down, whatever AWS still shows
	}
	return st, true
}

// liveState reports whether an endpoint in AWS state s can still become or
// stay available (so a stale ready-since tag on it is worth clearing).
func liveState(s string) bool {
	return !deletedState(s) && !strings.EqualFold(s, "deleting")
}

// deletedState reports whether s is AWS's "deleted".
func deletedState(s string) bool { return strings.EqualFold(s, "deleted") }

// tagWrite is a ready-since tag change the sync cycle makes after it has
// released the lock; a zero since clears the tag.
type tagWrite struct {
	c          *conn
	endpointID string
	since      time.Time
}

// applyObservationLocked moves c according to one backend answer and
// returns the tag write it needs, if any.
//
// The warm-up clock: a Ready endpoint that carries the ready-since tag
// uses it — another replica or an earlier process recorded when this Ready
// episode began, so no fresh warm-up is imposed. Without the tag, the
// episode begins now (or when this process first saw it) and the tag is
// written. An endpoint that is not available loses the tag, so a return to
// Ready warms up again.
func (m *Manager) applyObservationLocked(c *conn, obs Observation, found bool, now time.Time) *tagWrite {
	next, ok := nextStatus(c.status, c.tornDown, c.creating, c.adopted(), obs, found)
	if !ok {
		c.awsState = obs.State
		m.log.Warn("unknown endpoint state; keeping the status", zap.String("connection", c.cfg.Name),
			zap.String("endpoint", obs.EndpointID), zap.String("state", obs.State))
		return nil
	}
	if found && deletedState(obs.State) {
		// A deleted endpoint is never the connection's: it may be the
		// remains of an earlier teardown. Only the connection's own
		// endpoint may say it is gone.
		if obs.EndpointID != "" && obs.EndpointID == c.endpointID {
			c.awsState = obs.State
		}
		found = false
	}
	if found && (next != Allocating || c.adopted()) {
		c.awsState = obs.State
		if obs.EndpointID != "" {
			c.endpointID = obs.EndpointID
		}
		if obs.DNSName != "" {
			c.dns = obs.DNSName
		}
		if c.tornDown && !liveState(obs.State) {
			c.deletedID = obs.EndpointID // AWS is on it; no Delete call needed
		}
	}
	var tw *tagWrite
	if next == Ready {
		since := obs.ReadySince
		switch {
		case !since.IsZero():
			if since.After(now) {
				since = now // a replica whose clock runs ahead must not stretch the warm-up
			}
		case c.status == Ready && !c.readySince.IsZero():
			since = c.readySince // the tag write failed or is not visible yet
			tw = &tagWrite{c: c, endpointID: c.endpointID, since: since}
		default:
			since = now
			tw = &tagWrite{c: c, endpointID: c.endpointID, since: since}
		}
		c.readySince = since
	} else if found && !obs.ReadySince.IsZero() && !c.tornDown && liveState(obs.State) {
		tw = &tagWrite{c: c, endpointID: obs.EndpointID}
	}
	m.setStatusLocked(c, next)
	m.startWorkersLocked(c)
	return tw
}
