package connstate

import (
	"context"
	"sync/atomic"
	"time"
)

// entry is one connection as the hot path sees it. The Manager replaces the
// map of entries on Apply and the state pointer on every change, so Admit
// reads both with atomic loads and never waits for the control loop.
type entry struct {
	state atomic.Pointer[snapshot]
}

// snapshot is an immutable view of one connection's runtime state.
type snapshot struct {
	status     Status
	endpoint   string    // endpoint DNS name; empty until the backend reports one
	readySince time.Time // zero unless Ready
	// revoked is non-nil only while Ready and closed when that Ready
	// episode ends, so tunnels admitted in it can close.
	revoked chan struct{}
}

var unprovisionedSnapshot = &snapshot{}

// conn is the control side's state of one configured connection, guarded
// by Manager.mu.
type conn struct {
	cfg   Connection
	entry *entry

	status     Status
	awsState   string // the last State the backend reported, for the view
	endpointID string
	dns        string
	readySince time.Time     // the current Ready episode's start; zero unless Ready
	revoked    chan struct{} // see snapshot.revoked

	// tracked: an adopted connection is described only after provision
	// (by action or provision: true) until teardown forgets it. Managed
	// connections are always described, so a restart rediscovers them.
	tracked bool
	// autoProvision: provision: true was applied; the first sync after it
	// provisions the connection if that sync finds it Unprovisioned.
	autoProvision bool
	// tornDown: callgate asked for deletion; the status only goes down from
	// here until Unprovisioned.
	tornDown bool
	// creating / deleting: a worker goroutine owns the Create / Delete call.
	creating     bool
	cancelCreate context.CancelFunc
	deleting     bool
	deletedID    string // the endpoint a Delete call already succeeded on
	removed      bool   // dropped from the config; workers stop

	// seq is the Manager's change counter at this connection's last
	// action or worker result: a Describe that started before it is stale
	// for this connection.
	seq uint64

	lastSync time.Time
	// opErr is the last failed Create, Delete or tag write; cleared when
	// that operation next succeeds.
	opErr string
	// tagErr is the last failed ready-since tag write; cleared on success.
	tagErr string
}

func (c *conn) adopted() bool { return c.cfg.VpcEndpointID != "" }

// described reports whether the sync loop asks the backend about c.
func (c *conn) described() bool { return !c.adopted() || c.tracked }
