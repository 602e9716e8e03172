package connstate

import (
	"strings"
	"testing"
)

func TestNextStatus(t *testing.T) {
	type in struct {
		cur               Status
		tornDown, creatin bool
		adopted           bool
		state             string // "" = not found
	}
	for _, tc := range []struct {
		in   in
		want Status
	}{
		// Not found.
		{in{cur: Unprovisioned}, Unprovisioned},
		{in{cur: Allocating}, Allocating},
		{in{cur: Allocating, adopted: true}, DeletedRemotely},
		{in{cur: PendingAcceptance}, DeletedRemotely},
		{in{cur: Ready}, DeletedRemotely},
		{in{cur: RejectedRemotely}, DeletedRemotely},
		{in{cur: DeletedRemotely}, DeletedRemotely},
		{in{cur: TeardownInProgress}, Unprovisioned},
		{in{cur: TeardownInProgress, tornDown: true}, Unprovisioned},
		{in{cur: TeardownInProgress, tornDown: true, creatin: true}, TeardownInProgress},
		// Found, wire states in camelCase (and the SDK's PascalCase).
		{in{cur: Allocating, state: "pendingAcceptance"}, PendingAcceptance},
		{in{cur: Unprovisioned, state: "available"}, Ready},
		{in{cur: PendingAcceptance, state: "PendingAcceptance"}, PendingAcceptance},
		{in{cur: PendingAcceptance, state: "pending"}, PendingActivation},
		{in{cur: PendingActivation, state: "Available"}, Ready},
		{in{cur: PendingAcceptance, state: "rejected"}, RejectedRemotely},
		{in{cur: PendingActivation, state: "failed"}, RejectedRemotely},
		{in{cur: PendingAcceptance, state: "expired"}, RejectedRemotely},
		{in{cur: Ready, state: "deleted"}, DeletedRemotely},
		{in{cur: Ready, state: "deleting"}, TeardownInProgress},
		{in{cur: Unprovisioned, state: "deleted"}, Unprovisioned},
		{in{cur: Allocating, state: "deleted"}, Allocating},
		{in{cur: Allocating, adopted: true, state: "deleted"}, DeletedRemotely},
		{in{cur: RejectedRemotely, state: "deleted"}, DeletedRemotely},
		// "deleted" after a teardown (ours or another replica's) ends it:
		// AWS lists deleted endpoints for a while, moto for ever.
		{in{cur: TeardownInProgress, state: "deleted"}, Unprovisioned},
		{in{cur: TeardownInProgress, tornDown: true, state: "deleted"}, Unprovisioned},
		{in{cur: TeardownInProgress, tornDown: true, creatin: true, state: "deleted"}, TeardownInProgress},
		{in{cur: TeardownInProgress, tornDown: true, state: "available"}, TeardownInProgress},
		{in{cur: TeardownInProgress, tornDown: true, state: "deleting"}, TeardownInProgress},
		{in{cur: Ready, state: "someNewState"}, Ready},
	} {
		name := tc.in.cur.String() + "/" + tc.in.state
		t.Run(name, func(t *testing.T) {
			obs := Observation{EndpointID: "vpce-1", State: tc.in.state}
			got, ok := nextStatus(tc.in.cur, tc.in.tornDown, tc.in.creatin, tc.in.adopted, obs, tc.in.state != "")
			if got != tc.want {
				t.Fatalf("nextStatus(%+v) = %s, want %s", tc.in, got, tc.want)
			}
			if wantOK := tc.in.state != "someNewState"; ok != wantOK {
				t.Fatalf("ok = %v", ok)
			}
		})
	}
}

// FuzzNextStatus checks the machine's invariants for any input: a teardown
// never leads back up, a status is always valid, an unknown state keeps it.
func FuzzNextStatus(f *testing.F) {
	f.Add(uint8(Ready), false, false, false, "available", true)
	f.Add(uint8(TeardownInProgress), true, false, false, "deleted", true)
	f.Add(uint8(Allocating), false, true, false, "", false)
	f.Fuzz(func(t *testing.T, cur uint8, tornDown, creating, adopted bool, state string, found bool) {
		c := Status(cur % uint8(numStatuses))
		if tornDown {
			c = TeardownInProgress // the only status a teardown leaves a managed connection in
		}
		got, ok := nextStatus(c, tornDown, creating, adopted, Observation{State: state}, found)
		if got >= numStatuses {
			t.Fatalf("invalid status %d", got)
		}
		if tornDown && got != TeardownInProgress && got != Unprovisioned {
			t.Fatalf("torn down %s + %q (found %v) → %s", c, state, found, got)
		}
		if !ok && got != c {
			t.Fatalf("unknown state %q moved %s to %s", state, c, got)
		}
		if _, known := MapAWSState(state, false); found && known != ok {
			t.Fatalf("ok = %v for state %q", ok, state)
		}
		if got == Ready && ok && (!found || !strings.EqualFold(state, "available")) {
			t.Fatalf("Ready without an available endpoint: %q found=%v", state, found)
		}
	})
}

func TestStatusText(t *testing.T) {
	for _, s := range Statuses() {
		b, err := s.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back Status
		if err := back.UnmarshalText(b); err != nil || back != s {
			t.Fatalf("%s: round trip gave %s, %v", s, back, err)
		}
	}
	var s Status
	if err := s.UnmarshalText([]byte("Bogus")); err == nil {
		t.Fatal("accepted an unknown status")
	}
}
