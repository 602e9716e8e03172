package connstate_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/callgate/callgate/connstate"
	"github.com/callgate/callgate/connstate/simulated"
)

// driveTo brings connection "orders" to status s on a fresh harness, the
// way it gets there in production.
func driveTo(t *testing.T, s connstate.Status) *harness {
	t.Helper()
	clk := newClock()
	h := newHarness(t, clk, newSim(clk, "manual"), conn("orders", svcA))
	toPendingAcceptance := func() {
		h.mustDo("orders", connstate.ActionProvision)
		h.expect("orders", connstate.PendingAcceptance)
	}
	toReady := func() {
		toPendingAcceptance()
		mustOK(t, h.sim.Accept("orders"))
		h.clk.Advance(simDelays.Pending)
		h.expect("orders", connstate.Ready)
	}
	switch s {
	case connstate.Unprovisioned:
	case connstate.Allocating:
		h.sim.InjectError(simulated.OpCreate, errors.New("InsufficientFreeAddressesInSubnet"), -1)
		h.mustDo("orders", connstate.ActionProvision)
	case connstate.PendingAcceptance:
		toPendingAcceptance()
	case connstate.PendingActivation:
		toPendingAcceptance()
		mustOK(t, h.sim.Accept("orders"))
	case connstate.Ready:
		toReady()
	case connstate.RejectedRemotely:
		toPendingAcceptance()
		mustOK(t, h.sim.Reject("orders"))
	case connstate.DeletedRemotely:
		toReady()
		mustOK(t, h.sim.DeleteRemotely("orders"))
	case connstate.TeardownInProgress:
		toReady()
		h.mustDo("orders", connstate.ActionTeardown)
	}
	h.expect("orders", s)
	return h
}

// Every cell of the actions matrix (docs/operations.md, Connection statuses): 8 statuses × provision, sync,
// teardown.
func TestActionMatrix(t *testing.T) {
	actions := []connstate.Action{connstate.ActionProvision, connstate.ActionSync, connstate.ActionTeardown}
	for _, s := range connstate.Statuses() {
		for _, a := range actions {
			allowed := (s == connstate.Unprovisioned) == (a == connstate.ActionProvision)
			t.Run(s.String()+"/"+string(a), func(t *testing.T) {
				h := driveTo(t, s)
				err := h.do("orders", a)
				after := h.view("orders").Status
				if allowed {
					if err != nil {
						t.Fatalf("%s in %s: %v, want allowed", a, s, err)
					}
					switch a {
					case connstate.ActionProvision:
						if after != connstate.Allocating && after != connstate.PendingAcceptance {
							t.Fatalf("after provision: %s", after)
						}
					case connstate.ActionTeardown:
						if after != connstate.TeardownInProgress && after != connstate.Unprovisioned {
							t.Fatalf("after teardown: %s", after)
						}
					case connstate.ActionSync:
						if after != s {
							t.Fatalf("sync moved %s to %s", s, after)
						}
					}
					return
				}
				var ae *connstate.ActionError
				if !errors.As(err, &ae) || !errors.Is(err, connstate.ErrActionNotAllowed) {
					t.Fatalf("%s in %s: %v, want an *ActionError", a, s, err)
				}
				if ae.Status != s || ae.Action != a || ae.Connection != "orders" {
					t.Fatalf("ActionError %+v", ae)
				}
				wantAllowed := "allowed: edit, sync, teardown"
				if s == connstate.Unprovisioned {
					wantAllowed = "allowed: edit, provision, delete"
				}
				for _, part := range []string{`"orders"`, s.String(), string(a), wantAllowed} {
					if !strings.Contains(err.Error(), part) {
						t.Errorf("message %q does not name %q", err, part)
					}
				}
				if after != s {
					t.Fatalf("a refused %s moved %s to %s", a, s, after)
				}
			})
		}
	}
}

func TestDoErrors(t *testing.T) {
	clk := newClock()
	h := newHarness(t, clk, newSim(clk, "auto"), conn("orders", svcA))
	if err := h.do("nope", connstate.ActionSync); !errors.Is(err, connstate.ErrUnknownConnection) {
		t.Fatalf("unknown connection: %v", err)
	}
	for _, a := range []connstate.Action{connstate.ActionEdit, connstate.ActionDelete} {
		if err := h.do("orders", a); !errors.Is(err, connstate.ErrConfigAction) {
			t.Fatalf("%s: %v, want ErrConfigAction", a, err)
		}
	}
	if err := h.m.Run(t.Context()); !errors.Is(err, connstate.ErrAlreadyRunning) {
		t.Fatalf("second Run: %v", err)
	}
}
