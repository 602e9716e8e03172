package connstate_test

import (
	"testing"

	"github.com/callgate/callgate/connstate"
	"github.com/callgate/callgate/connstate/simulated"
)

// AWS keeps listing a deleted endpoint, in state "deleted", for a while
// after DeleteVpcEndpoints (moto for ever). After callgate's own teardown
// that state means the teardown is done: the connection is Unprovisioned
// at once, forgets the endpoint, and provision makes a new one.
func TestTeardownEndsAtDeleted(t *testing.T) {
	clk := newClock()
	// other stays Ready so that a sync can be asked for while orders is
	// Unprovisioned (the action is not allowed there).
	h := newHarness(t, clk, newSim(clk, "auto"), conn("orders", svcA), conn("other", svcB))
	h.toReady("other")
	first := h.toReady("orders")
	h.mustDo("orders", connstate.ActionTeardown)
	eventually(t, "Delete called", func() bool { return h.sim.Calls(simulated.OpDelete) == 1 })
	mustOK(t, h.sim.SetState(first.VpcEndpointID, "deleted"))

	v := h.expect("orders", connstate.Unprovisioned)
	if v.VpcEndpointID != "" || v.EndpointDNS != "" || v.AWSState != "" {
		t.Fatalf("Unprovisioned still shows the deleted endpoint: %+v", v)
	}
	// The dead endpoint stays listed; later syncs must not count it as the
	// connection's endpoint either.
	h.mustDo("other", connstate.ActionSync)
	if v := h.view("orders"); v.Status != connstate.Unprovisioned || v.VpcEndpointID != "" || v.AWSState != "" {
		t.Fatalf("a sync with the deleted endpoint still listed: %+v", v)
	}

	second := h.toReady("orders")
	if second.VpcEndpointID == "" || second.VpcEndpointID == first.VpcEndpointID {
		t.Fatalf("provision after teardown uses endpoint %q, want a new one (the first was %s)",
			second.VpcEndpointID, first.VpcEndpointID)
	}
	if n := h.sim.Calls(simulated.OpCreate); n != 3 {
		t.Fatalf("%d Create calls, want 3 (other, orders twice)", n)
	}
}

// Another replica's teardown: this one sees "deleting", then "deleted",
// and settles to Unprovisioned instead of waiting for the endpoint to
// disappear from the listing.
func TestOtherReplicasTeardownEndsAtDeleted(t *testing.T) {
	clk := newClock()
	sim := newSim(clk, "auto")
	tearer := newHarness(t, clk, sim, conn("orders", svcA))
	v := tearer.toReady("orders")
	watcher := newHarness(t, clk, sim, conn("orders", svcA))
	watcher.expect("orders", connstate.Ready)

	tearer.mustDo("orders", connstate.ActionTeardown)
	eventually(t, "Delete called", func() bool { return sim.Calls(simulated.OpDelete) == 1 })
	watcher.expect("orders", connstate.TeardownInProgress)
	mustOK(t, sim.SetState(v.VpcEndpointID, "deleted"))
	watcher.expect("orders", connstate.Unprovisioned)
	tearer.expect("orders", connstate.Unprovisioned)
}

// "deleted" without a teardown from callgate is DeletedRemotely, and a
// dead endpoint left over from an earlier teardown is never taken for the
// connection's endpoint: not by a restarted process, not when the current
// endpoint vanishes.
func TestDeletedEndpointIsNeverTheConnections(t *testing.T) {
	clk := newClock()
	sim := newSim(clk, "auto")
	h := newHarness(t, clk, sim, conn("orders", svcA))
	dead := h.toReady("orders")
	h.mustDo("orders", connstate.ActionTeardown)
	eventually(t, "Delete called", func() bool { return sim.Calls(simulated.OpDelete) == 1 })
	mustOK(t, sim.SetState(dead.VpcEndpointID, "deleted"))
	h.expect("orders", connstate.Unprovisioned)

	restarted := newHarness(t, clk, sim, conn("orders", svcA))
	if v := restarted.view("orders"); v.Status != connstate.Unprovisioned || v.VpcEndpointID != "" || v.AWSState != "" {
		t.Fatalf("a restart with only a deleted endpoint listed: %+v", v)
	}

	live := h.toReady("orders")
	mustOK(t, sim.DeleteRemotely(live.VpcEndpointID)) // the dead one is the newest left
	v := h.expect("orders", connstate.DeletedRemotely)
	if v.VpcEndpointID != live.VpcEndpointID {
		t.Fatalf("DeletedRemotely shows endpoint %q, want the lost %s (not the dead %s)",
			v.VpcEndpointID, live.VpcEndpointID, dead.VpcEndpointID)
	}
	restarted = newHarness(t, clk, sim, conn("orders", svcA))
	if v := restarted.view("orders"); v.Status != connstate.Unprovisioned || v.VpcEndpointID != "" {
		t.Fatalf("a restart after the live endpoint vanished: %+v", v)
	}

	// Our own endpoint in state "deleted" without our teardown.
	h.mustDo("orders", connstate.ActionTeardown)
	h.expect("orders", connstate.Unprovisioned)
	third := h.toReady("orders")
	mustOK(t, sim.SetState(third.VpcEndpointID, "deleted"))
	v = h.expect("orders", connstate.DeletedRemotely)
	if v.VpcEndpointID != third.VpcEndpointID || v.AWSState != "deleted" {
		t.Fatalf("our endpoint deleted behind our back: %+v", v)
	}
	if a := h.m.Admit("orders"); a.Allowed() {
		t.Fatalf("Admit after remote deletion: %+v", a)
	}
}
