package connstate_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/callgate/callgate/connstate"
	"github.com/callgate/callgate/connstate/simulated"
)

// Every status and transition of docs/operations.md, Connection statuses, on the simulated backend.
func TestTransitions(t *testing.T) {
	cases := []struct {
		name       string
		acceptance string
		run        func(h *harness)
	}{
		{"auto acceptance: Unprovisioned → Allocating → PendingAcceptance → PendingActivation → Ready", "auto", func(h *harness) {
			h.expect("orders", connstate.Unprovisioned)
			h.sim.InjectError(simulated.OpCreate, errors.New("InsufficientFreeAddressesInSubnet"), -1)
			h.mustDo("orders", connstate.ActionProvision)
			v := h.expect("orders", connstate.Allocating)
			eventually(h.t, "create retried", func() bool { return h.sim.Calls(simulated.OpCreate) >= 2 })
			v = h.view("orders")
			if v.Status != connstate.Allocating || !strings.Contains(v.LastError, "InsufficientFreeAddressesInSubnet") {
				h.t.Fatalf("while create fails: status %s, last error %q", v.Status, v.LastError)
			}
			h.sim.InjectError(simulated.OpCreate, nil, 0)
			v = h.expect("orders", connstate.PendingAcceptance)
			if v.LastError != "" || v.VpcEndpointID == "" || v.AWSState != "pendingAcceptance" {
				h.t.Fatalf("after create: %+v", v)
			}
			h.clk.Advance(simDelays.PendingAcceptance)
			h.expect("orders", connstate.PendingActivation)
			h.clk.Advance(simDelays.Pending)
			v = h.expect("orders", connstate.Ready)
			if v.EndpointDNS == "" || v.ReadySince.IsZero() {
				h.t.Fatalf("Ready without DNS name or ready-since: %+v", v)
			}
		}},
		{"manual acceptance: PendingAcceptance → PendingActivation (accept) → Ready", "manual", func(h *harness) {
			h.mustDo("orders", connstate.ActionProvision)
			h.expect("orders", connstate.PendingAcceptance)
			h.clk.Advance(time.Hour) // manual acceptance waits however long it takes
			h.expect("orders", connstate.PendingAcceptance)
			mustOK(h.t, h.sim.Accept("orders"))
			h.expect("orders", connstate.PendingActivation)
			h.clk.Advance(simDelays.Pending)
			h.expect("orders", connstate.Ready)
		}},
		{"PendingAcceptance → RejectedRemotely (manual reject)", "manual", func(h *harness) {
			h.mustDo("orders", connstate.ActionProvision)
			h.expect("orders", connstate.PendingAcceptance)
			mustOK(h.t, h.sim.Reject("orders"))
			if v := h.expect("orders", connstate.RejectedRemotely); v.AWSState != "rejected" {
				h.t.Fatalf("aws state %q", v.AWSState)
			}
		}},
		{"PendingAcceptance → RejectedRemotely (expired)", "manual", func(h *harness) {
			h.mustDo("orders", connstate.ActionProvision)
			h.expect("orders", connstate.PendingAcceptance)
			mustOK(h.t, h.sim.Expire("orders"))
			if v := h.expect("orders", connstate.RejectedRemotely); v.AWSState != "expired" {
				h.t.Fatalf("aws state %q", v.AWSState)
			}
		}},
		{"PendingActivation → RejectedRemotely (failed)", "manual", func(h *harness) {
			h.mustDo("orders", connstate.ActionProvision)
			h.expect("orders", connstate.PendingAcceptance)
			mustOK(h.t, h.sim.Accept("orders"))
			h.expect("orders", connstate.PendingActivation)
			mustOK(h.t, h.sim.Fail("orders"))
			if v := h.expect("orders", connstate.RejectedRemotely); v.AWSState != "failed" {
				h.t.Fatalf("aws state %q", v.AWSState)
			}
		}},
		{"Ready → RejectedRemotely (failed)", "auto", func(h *harness) {
			h.toReady("orders")
			mustOK(h.t, h.sim.Fail("orders"))
			h.expect("orders", connstate.RejectedRemotely)
		}},
		{"Ready → DeletedRemotely (vanished)", "auto", func(h *harness) {
			before := h.toReady("orders")
			mustOK(h.t, h.sim.DeleteRemotely("orders"))
			v := h.expect("orders", connstate.DeletedRemotely)
			if v.VpcEndpointID != before.VpcEndpointID {
				h.t.Errorf("DeletedRemotely should still show the lost endpoint %s, shows %q", before.VpcEndpointID, v.VpcEndpointID)
			}
			if a := h.m.Admit("orders"); a.Allowed() || a.Status != connstate.DeletedRemotely {
				h.t.Fatalf("Admit after remote deletion: %+v", a)
			}
		}},
		{"PendingAcceptance → DeletedRemotely (state deleted, not ours)", "manual", func(h *harness) {
			h.mustDo("orders", connstate.ActionProvision)
			h.expect("orders", connstate.PendingAcceptance)
			mustOK(h.t, h.sim.SetState("orders", "deleted"))
			h.expect("orders", connstate.DeletedRemotely)
		}},
		{"Ready → TeardownInProgress (deleting) → Unprovisioned", "auto", func(h *harness) {
			h.toReady("orders")
			h.mustDo("orders", connstate.ActionTeardown)
			h.expect("orders", connstate.TeardownInProgress)
			eventually(h.t, "Delete called", func() bool {
				e, ok := endpointOf(h.t, h.sim, "orders")
				return ok && e.State == "deleting"
			})
			_ = h.do("orders", connstate.ActionSync)
			if v := h.view("orders"); v.Status != connstate.TeardownInProgress || v.AWSState != "deleting" {
				h.t.Fatalf("while deleting: %s (aws %q)", v.Status, v.AWSState)
			}
			h.clk.Advance(simDelays.Deleting)
			v := h.expect("orders", connstate.Unprovisioned)
			if v.VpcEndpointID != "" || v.EndpointDNS != "" || v.LastError != "" {
				h.t.Fatalf("Unprovisioned keeps endpoint fields: %+v", v)
			}
			if _, ok := endpointOf(h.t, h.sim, "orders"); ok {
				h.t.Fatal("endpoint still exists after teardown")
			}
		}},
		{"teardown from DeletedRemotely → Unprovisioned", "auto", func(h *harness) {
			h.toReady("orders")
			mustOK(h.t, h.sim.DeleteRemotely("orders"))
			h.expect("orders", connstate.DeletedRemotely)
			h.mustDo("orders", connstate.ActionTeardown)
			h.expect("orders", connstate.Unprovisioned)
		}},
		{"teardown from RejectedRemotely → TeardownInProgress → Unprovisioned", "manual", func(h *harness) {
			h.mustDo("orders", connstate.ActionProvision)
			h.expect("orders", connstate.PendingAcceptance)
			mustOK(h.t, h.sim.Reject("orders"))
			h.expect("orders", connstate.RejectedRemotely)
			h.mustDo("orders", connstate.ActionTeardown)
			h.expect("orders", connstate.TeardownInProgress)
			eventually(h.t, "Delete called", func() bool {
				e, ok := endpointOf(h.t, h.sim, "orders")
				return ok && e.State == "deleting"
			})
			h.clk.Advance(simDelays.Deleting)
			h.expect("orders", connstate.Unprovisioned)
		}},
		{"teardown while Allocating: the create is abandoned, nothing is left", "auto", func(h *harness) {
			h.sim.InjectError(simulated.OpCreate, errors.New("Throttling"), -1)
			h.mustDo("orders", connstate.ActionProvision)
			h.expect("orders", connstate.Allocating)
			h.mustDo("orders", connstate.ActionTeardown)
			h.sim.InjectError(simulated.OpCreate, nil, 0)
			h.expect("orders", connstate.Unprovisioned)
			if eps := h.sim.Endpoints(); len(eps) != 0 {
				h.t.Fatalf("endpoints left after teardown while allocating: %+v", eps)
			}
		}},
		{"RejectedRemotely → PendingActivation → Ready (owner accepts after all)", "manual", func(h *harness) {
			h.mustDo("orders", connstate.ActionProvision)
			h.expect("orders", connstate.PendingAcceptance)
			mustOK(h.t, h.sim.Reject("orders"))
			h.expect("orders", connstate.RejectedRemotely)
			mustOK(h.t, h.sim.Accept("orders"))
			h.expect("orders", connstate.PendingActivation)
			h.clk.Advance(simDelays.Pending)
			h.expect("orders", connstate.Ready)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock()
			h := newHarness(t, clk, newSim(clk, tc.acceptance), conn("orders", svcA))
			tc.run(h)
		})
	}
}

// A create call that is in flight (not failing) when the teardown comes:
// the call is cancelled and no endpoint survives.
func TestTeardownDuringCreateCall(t *testing.T) {
	clk := newClock()
	sim := simulated.New(simulated.Options{
		Delays:   simulated.Delays{Allocating: time.Minute},
		Services: map[string]string{svcA: "127.0.0.1:9443"},
		Now:      clk.Now,
	})
	h := newHarness(t, clk, sim, conn("orders", svcA))
	h.mustDo("orders", connstate.ActionProvision)
	eventually(t, "create in flight", func() bool { return sim.Calls(simulated.OpCreate) == 1 })
	if v := h.view("orders"); v.Status != connstate.Allocating {
		t.Fatalf("status %s while the create call runs", v.Status)
	}
	h.mustDo("orders", connstate.ActionTeardown)
	h.expect("orders", connstate.Unprovisioned)
	if n := len(sim.Endpoints()); n != 0 {
		t.Fatalf("%d endpoints after teardown", n)
	}
}

// Real timing, real polling: the loop walks a connection up to Ready and
// warm and back down by itself.
func TestLifecycleRealTime(t *testing.T) {
	if testing.Short() {
		t.Skip("real-time lifecycle")
	}
	sim := simulated.New(simulated.Options{
		Delays: simulated.Delays{Allocating: 20 * time.Millisecond, PendingAcceptance: 40 * time.Millisecond,
			Pending: 40 * time.Millisecond, Deleting: 40 * time.Millisecond},
		Services: map[string]string{svcA: "127.0.0.1:9443"},
	})
	m := connstate.NewManager(sim, connstate.Options{
		Warmup: 100 * time.Millisecond, SyncInterval: time.Hour, FastInterval: 5 * time.Millisecond,
	})
	c := conn("orders", svcA)
	c.Provision = true
	mustOK(t, m.Apply([]connstate.Connection{c}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	defer func() { cancel(); <-done }()

	var seen []connstate.Status
	record := func() connstate.Status {
		s := m.Admit("orders").Status
		if len(seen) == 0 || seen[len(seen)-1] != s {
			seen = append(seen, s)
		}
		return s
	}
	eventually(t, "Ready and warm", func() bool { record(); return m.Admit("orders").Allowed() })
	want := []connstate.Status{connstate.Unprovisioned, connstate.Allocating, connstate.PendingAcceptance,
		connstate.PendingActivation, connstate.Ready}
	if seen[0] == connstate.Unprovisioned {
		seen = seen[1:] // the first poll may come before the test looks
	}
	if !sameStatuses(seen, want[1:]) {
		t.Fatalf("statuses seen %v, want %v", seen, want[1:])
	}
	a := m.Admit("orders")
	if addr, ok := sim.ResolveAddr(a.Endpoint); !ok || addr != "127.0.0.1:9443" {
		t.Fatalf("ResolveAddr(%q) = %q, %v", a.Endpoint, addr, ok)
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	mustOK(t, m.Do(ctx2, "orders", connstate.ActionTeardown))
	select {
	case <-a.Revoked:
	default:
		t.Fatal("teardown did not revoke the Ready episode")
	}
	eventually(t, "Unprovisioned", func() bool { return m.Admit("orders").Status == connstate.Unprovisioned })
	if _, ok := sim.ResolveAddr(a.Endpoint); ok {
		t.Fatal("a deleted endpoint's DNS name still resolves")
	}
}

func sameStatuses(a, b []connstate.Status) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func mustOK(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
