package proxy

import (
	"sync/atomic"

	"github.com/callgate/callgate/access"
	"github.com/callgate/callgate/routing"
)

// Snapshot is the routing the proxy serves: immutable once handed to
// SetSnapshot, swapped whole on reload. Each request or tunnel loads it
// once and keeps it until it ends.
type Snapshot struct {
	// Routes maps client destinations and callout names to named
	// credentials. Nil routes nothing: every destination is unknown.
	Routes *routing.Table
	// Resolve maps endpoint DNS names to IP addresses before dialing (the
	// config's `resolve:`). Nil resolves every name through the Dialer.
	Resolve *routing.Overrides
	// Clients are the proxy client identities and their permissions. Nil
	// lets every client use every named credential.
	Clients *access.Clients
	// Limits cap concurrency and client request rates; the zero value
	// limits nothing.
	Limits access.Limits
}

// state is a Snapshot plus what the server derives from it: per named
// credential (by Destination.Index) the metric handles and the upstream
// HTTP transport, both made on first use.
type state struct {
	snap  *Snapshot
	dests []destState
	// retired is set when a newer state replaced this one: exchanges that
	// end on it close their transport's idle connections, so no pooled
	// connection outlives the state by more than its last exchange.
	retired atomic.Bool
}

type destState struct {
	m *destMetrics
	// held counts this credential's open tunnels and requests for
	// Limits; like m it is carried across reloads by name.
	held *access.CredHeld
	// upstream pools keep-alive connections to this credential's
	// endpoint for the absolute and callout forms. One per credential:
	// its TLS config (ServerName, roots, client certificate) is the
	// credential's, so two credentials on one endpoint never share a
	// verified connection.
	upstream atomic.Pointer[upstreamTransport]
	// addr remembers the endpoint address last built for this credential.
	addr atomic.Pointer[joinedAddr]
}

type joinedAddr struct{ endpoint, addr string }

// endpointAddr is endpointAddr(endpoint, d) for this credential, built once
// per endpoint name instead of once per request.
func (ds *destState) endpointAddr(endpoint string, d *routing.Destination) string {
	if j := ds.addr.Load(); j != nil && j.endpoint == endpoint {
		return j.addr
	}
	addr := endpointAddr(endpoint, d)
	ds.addr.Store(&joinedAddr{endpoint: endpoint, addr: addr})
	return addr
}

// newState derives a state, reusing the previous state's metric handles
// for credentials that keep their name.
func newState(snap *Snapshot, prev *state, m *Metrics) *state {
	st := &state{snap: snap}
	all := snap.Routes.Destinations()
	st.dests = make([]destState, len(all))
	var old map[string]*destState
	if prev != nil && len(prev.dests) > 0 {
		old = make(map[string]*destState, len(prev.dests))
		for _, d := range prev.snap.Routes.Destinations() {
			old[d.Name] = &prev.dests[d.Index]
		}
	}
	for _, d := range all {
		ds := &st.dests[d.Index]
		if o := old[d.Name]; o != nil {
			ds.m, ds.held = o.m, o.held
		} else {
			ds.m, ds.held = newDestMetrics(m, d.Name), new(access.CredHeld)
		}
	}
	return st
}

// dest returns d's derived state. d must come from this state's table.
func (st *state) dest(d *routing.Destination) *destState { return &st.dests[d.Index] }

// closeIdle closes the pooled connections of every upstream: the state
// was replaced, so nothing new will use them. In-flight exchanges keep
// theirs until they end.
func (st *state) closeIdle() {
	for i := range st.dests {
		if u := st.dests[i].upstream.Load(); u != nil {
			(*u).CloseIdleConnections()
		}
	}
}
