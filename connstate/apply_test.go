package connstate_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/callgate/callgate/connstate"
	"github.com/callgate/callgate/connstate/simulated"
)

// Apply refuses changes that would break a provisioned connection and then
// changes nothing at all.
func TestApplyRefusals(t *testing.T) {
	clk := newClock()
	orders, billing := conn("orders", svcA), conn("billing", svcB)
	h := newHarness(t, clk, newSim(clk, "auto"), orders, billing)
	h.toReady("orders")
	clk.Advance(time.Hour)

	with := func(f func(c *connstate.Connection)) []connstate.Connection {
		c := orders
		f(&c)
		return []connstate.Connection{c, billing}
	}
	for _, tc := range []struct {
		name  string
		conns []connstate.Connection
		want  []string
	}{
		{"remove a provisioned connection", []connstate.Connection{billing},
			[]string{`connection "orders" is Ready: tear it down before removing it from the config`}},
		{"change service_name", with(func(c *connstate.Connection) { c.ServiceName = svcB }),
			[]string{`connection "orders" is Ready`, "service_name", svcB, "tear it down first"}},
		{"change region", with(func(c *connstate.Connection) { c.Region = "eu-west-1" }),
			[]string{"region", "eu-west-1", "tear it down first"}},
		{"set vpc_endpoint_id", with(func(c *connstate.Connection) { c.VpcEndpointID = "vpce-0123456789abcdef0" }),
			[]string{"vpc_endpoint_id", "tear it down first"}},
		{"two errors at once, and a valid addition with them", []connstate.Connection{
			{Name: "orders", ServiceName: svcB, Region: "eu-west-1"}, billing, conn("new", svcB)},
			[]string{"service_name", "region"}},
		{"duplicate name", []connstate.Connection{orders, billing, billing}, []string{`"billing" is configured twice`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := h.m.List()
			admitted := h.m.Admit("orders")
			for _, f := range []func([]connstate.Connection) error{h.m.CheckApply, h.m.Apply} {
				err := f(tc.conns)
				if err == nil {
					t.Fatal("accepted")
				}
				for _, w := range tc.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not mention %q", err, w)
					}
				}
			}
			if after := h.m.List(); !reflect.DeepEqual(before, after) {
				t.Fatalf("a refused Apply changed the connections:\nbefore %+v\nafter  %+v", before, after)
			}
			if a := h.m.Admit("orders"); !a.Allowed() || a.Revoked != admitted.Revoked {
				t.Fatalf("a refused Apply touched admission: %+v", a)
			}
			if a := h.m.Admit("new"); a.Known {
				t.Fatal("a refused Apply added a connection")
			}
		})
	}

	t.Run("description and provision changes apply; an Unprovisioned connection may change or go", func(t *testing.T) {
		o := orders
		o.Description = "renamed"
		b := billing
		b.ServiceName = svcA
		b.Region = "eu-west-1"
		mustOK(t, h.m.CheckApply([]connstate.Connection{o, b}))
		mustOK(t, h.m.Apply([]connstate.Connection{o, b}))
		if v := h.view("orders"); v.Description != "renamed" || v.Status != connstate.Ready {
			t.Fatalf("after description change: %+v", v)
		}
		if v := h.view("billing"); v.ServiceName != svcA || v.Region != "eu-west-1" {
			t.Fatalf("Unprovisioned connection not changed: %+v", v)
		}
		mustOK(t, h.m.Apply([]connstate.Connection{o}))
		if _, ok := h.m.Get("billing"); ok || h.m.Admit("billing").Known {
			t.Fatal("removed connection still known")
		}
		if got := h.m.List(); len(got) != 1 || got[0].Name != "orders" {
			t.Fatalf("List after removal: %+v", got)
		}
	})

	t.Run("after teardown the connection may be removed", func(t *testing.T) {
		h.mustDo("orders", connstate.ActionTeardown)
		if err := h.m.Apply(nil); err == nil || !strings.Contains(err.Error(), "TeardownInProgress") {
			t.Fatalf("removal during teardown: %v", err)
		}
		eventually(t, "endpoint deleting", func() bool {
			e, ok := endpointOf(t, h.sim, "orders")
			return ok && e.State == "deleting"
		})
		clk.Advance(simDelays.Deleting)
		h.expect("orders", connstate.Unprovisioned)
		mustOK(t, h.m.Apply(nil))
		if len(h.m.List()) != 0 {
			t.Fatal("connections left")
		}
	})
}

// provision: true provisions on start and on reload, but a teardown is not
// undone until the next reload.
func TestProvisionOnApply(t *testing.T) {
	clk := newClock()
	sim := newSim(clk, "auto")
	c := conn("orders", svcA)
	c.Provision = true
	h := newHarness(t, clk, sim, c)
	h.expect("orders", connstate.PendingAcceptance)
	clk.Advance(simDelays.PendingAcceptance + simDelays.Pending)
	h.expect("orders", connstate.Ready)

	h.mustDo("orders", connstate.ActionTeardown)
	eventually(t, "deleting", func() bool { e, ok := endpointOf(t, sim, "orders"); return ok && e.State == "deleting" })
	clk.Advance(simDelays.Deleting)
	h.expect("orders", connstate.Unprovisioned)
	time.Sleep(30 * time.Millisecond) // several fast polls: nothing re-provisions it
	if v := h.view("orders"); v.Status != connstate.Unprovisioned || sim.Calls(simulated.OpCreate) != 1 {
		t.Fatalf("re-provisioned without a reload: %s, %d creates", v.Status, sim.Calls(simulated.OpCreate))
	}

	mustOK(t, h.m.Apply([]connstate.Connection{c})) // a reload
	h.expect("orders", connstate.PendingAcceptance)
	if n := sim.Calls(simulated.OpCreate); n != 2 {
		t.Fatalf("%d creates, want 2", n)
	}

	// A connection added by a reload with provision: true.
	added := conn("billing", svcB)
	added.Provision = true
	mustOK(t, h.m.Apply([]connstate.Connection{c, added}))
	h.expect("billing", connstate.PendingAcceptance)
}

// Adopted endpoints (vpc_endpoint_id) are synced but never created or
// deleted; teardown only forgets them.
func TestAdoptedEndpoint(t *testing.T) {
	clk := newClock()
	sim := newSim(clk, "auto")
	id := sim.AddExternal(svcA, "us-east-1", "available")
	c := conn("orders", svcA)
	c.VpcEndpointID = id
	h := newHarness(t, clk, sim, c)
	if v := h.view("orders"); v.Status != connstate.Unprovisioned || !v.Adopted || v.VpcEndpointID != id {
		t.Fatalf("before provision: %+v", v)
	}
	if n := sim.Calls(simulated.OpDescribe); n != 0 {
		t.Fatalf("an unprovisioned adopted connection was described (%d calls)", n)
	}
	h.mustDo("orders", connstate.ActionProvision)
	v := h.expect("orders", connstate.Ready)
	if v.VpcEndpointID != id || v.EndpointDNS == "" {
		t.Fatalf("adopted and Ready: %+v", v)
	}
	h.mustDo("orders", connstate.ActionTeardown)
	if v := h.view("orders"); v.Status != connstate.Unprovisioned {
		t.Fatalf("teardown of an adopted connection: %s, want Unprovisioned at once", v.Status)
	}
	if n := sim.Calls(simulated.OpCreate) + sim.Calls(simulated.OpDelete); n != 0 {
		t.Fatalf("adopted endpoint: %d Create/Delete calls", n)
	}
	if eps := sim.Endpoints(); len(eps) != 1 || eps[0].ID != id || eps[0].State != "available" {
		t.Fatalf("adopted endpoint touched: %+v", eps)
	}

	// provision: true adopts on apply; a missing endpoint is DeletedRemotely.
	c.Provision = true
	mustOK(t, h.m.Apply([]connstate.Connection{c}))
	h.expect("orders", connstate.Ready)
	mustOK(t, sim.DeleteRemotely(id))
	h.expect("orders", connstate.DeletedRemotely)
	h.mustDo("orders", connstate.ActionTeardown)
	h.expect("orders", connstate.Unprovisioned)
	if n := sim.Calls(simulated.OpCreate) + sim.Calls(simulated.OpDelete); n != 0 {
		t.Fatalf("adopted endpoint: %d Create/Delete calls", n)
	}
}
