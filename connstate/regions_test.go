package connstate_test

import (
	"strings"
	"testing"

	"github.com/callgate/callgate/connstate"
	"github.com/callgate/callgate/connstate/simulated"
)

func connIn(name, service, region string) connstate.Connection {
	c := conn(name, service)
	c.Region = region
	return c
}

// Connections in two regions at once on the simulated backend, as on moto
// (connstate/aws TestManagerTwoRegions): each endpoint lives in its
// region, one sync cycle lists each region once, and one region's
// teardown and remote deletion leave the other Ready.
func TestTwoRegions(t *testing.T) {
	clk := newClock()
	sim := newSim(clk, "auto")
	h := newHarness(t, clk, sim, connIn("east", svcA, "us-east-1"), connIn("west", svcB, "us-west-2"))
	h.toReady("east")
	west := h.toReady("west")
	for name, region := range map[string]string{"east": "us-east-1", "west": "us-west-2"} {
		e, ok := endpointOf(t, sim, name)
		if !ok || e.Region != region || !strings.Contains(e.DNSName, "."+region+".") {
			t.Fatalf("%s: endpoint %+v, want one in %s", name, e, region)
		}
	}

	regions := []string{"us-east-1", "us-west-2"}
	before := map[string]int{}
	for _, r := range regions {
		before[r] = sim.CallsIn(simulated.OpDescribe, r)
	}
	h.mustDo("east", connstate.ActionSync)
	for _, r := range regions {
		if n := sim.CallsIn(simulated.OpDescribe, r) - before[r]; n != 1 {
			t.Errorf("one cycle listed %s %d times, want 1", r, n)
		}
	}

	stillReady := func(name string, want connstate.View) {
		t.Helper()
		if v := h.view(name); v.Status != connstate.Ready || v.VpcEndpointID != want.VpcEndpointID || !h.m.Admit(name).Allowed() {
			t.Fatalf("%s: %+v, want Ready on %s and admitting", name, v, want.VpcEndpointID)
		}
	}
	clk.Advance(testWarmup)
	h.mustDo("east", connstate.ActionTeardown)
	h.expect("east", connstate.TeardownInProgress)
	eventually(t, "Delete called", func() bool { return sim.CallsIn(simulated.OpDelete, "us-east-1") == 1 })
	clk.Advance(simDelays.Deleting)
	h.expect("east", connstate.Unprovisioned)
	stillReady("west", west)

	east := h.toReady("east")
	mustOK(t, sim.DeleteRemotely(west.VpcEndpointID))
	h.expect("west", connstate.DeletedRemotely)
	clk.Advance(testWarmup)
	h.mustDo("east", connstate.ActionSync)
	stillReady("east", east)
	if n := sim.CallsIn(simulated.OpCreate, "us-west-2"); n != 1 {
		t.Errorf("%d creates in us-west-2, want 1", n)
	}
}
