package connstate_test

import (
	"testing"
	"time"

	"github.com/callgate/callgate/connstate"
	"github.com/callgate/callgate/connstate/simulated"
)

func TestWarmupAndAdmit(t *testing.T) {
	clk := newClock()
	h := newHarness(t, clk, newSim(clk, "auto"), conn("orders", svcA))

	if a := h.m.Admit("nope"); a.Known || a.Allowed() {
		t.Fatalf("unknown name: %+v", a)
	}
	if a := h.m.Admit("orders"); !a.Known || a.Status != connstate.Unprovisioned || a.Allowed() || a.Revoked != nil {
		t.Fatalf("Unprovisioned: %+v", a)
	}
	h.mustDo("orders", connstate.ActionProvision)
	h.expect("orders", connstate.PendingAcceptance)
	if a := h.m.Admit("orders"); a.Allowed() || a.Status != connstate.PendingAcceptance || a.Endpoint != "" || a.WarmupLeft != 0 {
		t.Fatalf("not ready: %+v", a)
	}
	h.clk.Advance(simDelays.PendingAcceptance)
	h.expect("orders", connstate.PendingActivation)
	h.clk.Advance(simDelays.Pending)
	readyAt := clk.Now()
	v := h.expect("orders", connstate.Ready)
	if !v.ReadySince.Equal(readyAt) || !v.WarmAt.Equal(readyAt.Add(testWarmup)) {
		t.Fatalf("ready_since %v warm_at %v, want %v and +%v", v.ReadySince, v.WarmAt, readyAt, testWarmup)
	}
	// The moment is shared through the endpoint's tag.
	e, _ := endpointOf(t, h.sim, "orders")
	if got := e.Tags[connstate.ReadySinceTag]; got != readyAt.Format(time.RFC3339Nano) {
		t.Fatalf("ready-since tag %q, want %q", got, readyAt.Format(time.RFC3339Nano))
	}

	for _, step := range []struct {
		advance time.Duration
		left    time.Duration
	}{
		{0, testWarmup},
		{time.Minute, 4 * time.Minute},
		{3*time.Minute + 59*time.Second, time.Second},
		{time.Second, 0},
		{time.Hour, 0},
	} {
		clk.Advance(step.advance)
		a := h.m.Admit("orders")
		if a.Status != connstate.Ready || a.WarmupLeft != step.left || a.Endpoint != e.DNSName || a.Revoked == nil {
			t.Fatalf("at +%v: %+v, want warm-up left %v", clk.Now().Sub(readyAt), a, step.left)
		}
		if a.Allowed() != (step.left == 0) {
			t.Fatalf("at +%v: Allowed() = %v with %v left", clk.Now().Sub(readyAt), a.Allowed(), step.left)
		}
	}
}

// A second replica (or a restarted process) on the same endpoints takes the
// ready-since moment from the tag: no fresh warm-up for a long-Ready
// connection, and only the remainder for one still warming.
func TestSecondReplicaNoFreshWarmup(t *testing.T) {
	clk := newClock()
	sim := newSim(clk, "auto")
	c := conn("orders", svcA)
	first := newHarness(t, clk, sim, c)
	readyAt := clk.Now().Add(simDelays.PendingAcceptance + simDelays.Pending)
	first.toReady("orders")
	creates, tags := sim.Calls(simulated.OpCreate), sim.Calls(simulated.OpTag)

	clk.Advance(2 * time.Minute)
	mid := newHarness(t, clk, sim, c)
	a := mid.m.Admit("orders")
	if a.Status != connstate.Ready || a.WarmupLeft != 3*time.Minute {
		t.Fatalf("replica started mid warm-up: %+v, want Ready with 3m left", a)
	}

	clk.Advance(time.Hour)
	c.Provision = true // a restart with provision: true must not create again either
	late := newHarness(t, clk, sim, c)
	a = late.m.Admit("orders")
	if !a.Allowed() || a.WarmupLeft != 0 {
		t.Fatalf("replica started an hour later: %+v, want allowed at once", a)
	}
	if v := late.view("orders"); !v.ReadySince.Equal(readyAt) {
		t.Fatalf("replica's ready_since %v, want %v", v.ReadySince, readyAt)
	}
	if n := sim.Calls(simulated.OpCreate); n != creates {
		t.Fatalf("replicas called Create %d more times", n-creates)
	}
	if n := sim.Calls(simulated.OpTag); n != tags {
		t.Fatalf("replicas rewrote the ready-since tag %d times", n-tags)
	}
	if n := len(sim.Endpoints()); n != 1 {
		t.Fatalf("%d endpoints, want 1", n)
	}
}

// Leaving Ready ends the episode (Revoked closes, the tag is cleared); the
// return to Ready warms up again.
func TestLeaveReadyAndReturnWarmsAgain(t *testing.T) {
	clk := newClock()
	h := newHarness(t, clk, newSim(clk, "auto"), conn("orders", svcA))
	h.toReady("orders")
	clk.Advance(time.Hour)
	first := h.m.Admit("orders")
	if !first.Allowed() {
		t.Fatalf("not warm after an hour: %+v", first)
	}

	mustOK(t, h.sim.Reject("orders"))
	h.expect("orders", connstate.RejectedRemotely)
	select {
	case <-first.Revoked:
	default:
		t.Fatal("leaving Ready did not close Revoked")
	}
	eventually(t, "ready-since tag cleared", func() bool {
		e, _ := endpointOf(t, h.sim, "orders")
		_, tagged := e.Tags[connstate.ReadySinceTag]
		return !tagged
	})
	if a := h.m.Admit("orders"); a.Allowed() || a.Revoked != nil || a.Endpoint != "" {
		t.Fatalf("after leaving Ready: %+v", a)
	}

	mustOK(t, h.sim.Accept("orders"))
	h.expect("orders", connstate.PendingActivation)
	clk.Advance(simDelays.Pending)
	h.expect("orders", connstate.Ready)
	again := h.m.Admit("orders")
	if again.WarmupLeft != testWarmup || again.Allowed() {
		t.Fatalf("back in Ready: %+v, want a full warm-up", again)
	}
	if again.Revoked == first.Revoked {
		t.Fatal("the new Ready episode reuses the old Revoked channel")
	}
	select {
	case <-again.Revoked:
		t.Fatal("the new episode is already revoked")
	default:
	}
}

func TestZeroWarmup(t *testing.T) {
	clk := newClock()
	sim := newSim(clk, "auto")
	m := connstate.NewManager(sim, connstate.Options{SyncInterval: time.Hour, FastInterval: 5 * time.Millisecond, Now: clk.Now})
	c := conn("orders", svcA)
	c.Provision = true
	mustOK(t, m.Apply([]connstate.Connection{c}))
	h := &harness{t: t, clk: clk, sim: sim, m: m}
	h.start()
	h.expect("orders", connstate.PendingAcceptance)
	clk.Advance(simDelays.PendingAcceptance + simDelays.Pending)
	h.expect("orders", connstate.Ready)
	if a := m.Admit("orders"); !a.Allowed() || a.WarmupLeft != 0 {
		t.Fatalf("warmup 0: %+v", a)
	}
}

// A replica whose clock runs ahead must not stretch the warm-up of others.
func TestReadySinceInFutureIsClamped(t *testing.T) {
	clk := newClock()
	h := newHarness(t, clk, newSim(clk, "auto"), conn("orders", svcA))
	h.toReady("orders")
	e, _ := endpointOf(t, h.sim, "orders")
	mustOK(t, h.sim.SetReadySince(t.Context(), e.ID, clk.Now().Add(time.Hour)))
	h.mustDo("orders", connstate.ActionSync)
	if a := h.m.Admit("orders"); a.WarmupLeft > testWarmup {
		t.Fatalf("warm-up left %v exceeds the configured %v", a.WarmupLeft, testWarmup)
	}
}

func TestWarmupLeft(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name   string
		since  time.Time
		warmup time.Duration
		now    time.Time
		want   time.Duration
	}{
		{"just ready", t0, 5 * time.Minute, t0, 5 * time.Minute},
		{"half way", t0, 5 * time.Minute, t0.Add(150 * time.Second), 150 * time.Second},
		{"exactly warm", t0, 5 * time.Minute, t0.Add(5 * time.Minute), 0},
		{"long warm", t0, 5 * time.Minute, t0.Add(24 * time.Hour), 0},
		{"warm-up off", t0, 0, t0, 0},
		{"no ready-since", time.Time{}, 5 * time.Minute, t0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := connstate.WarmupLeft(tc.since, tc.warmup, tc.now); got != tc.want {
				t.Fatalf("WarmupLeft = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestSetWarmupAppliesLive: a reload that changes warmup re-times every
// Ready connection from its shared ready-since moment.
func TestSetWarmupAppliesLive(t *testing.T) {
	clk := newClock()
	h := newHarness(t, clk, newSim(clk, "auto"), conn("orders", svcA))
	readyAt := h.toReady("orders").ReadySince
	clk.Advance(time.Minute)
	if a := h.m.Admit("orders"); a.WarmupLeft != testWarmup-time.Minute {
		t.Fatalf("before: %+v", a)
	}
	h.m.SetWarmup(10 * time.Minute)
	if a := h.m.Admit("orders"); a.WarmupLeft != 9*time.Minute || a.Allowed() {
		t.Fatalf("longer window: %+v, want 9m left", a)
	}
	if v := h.view("orders"); !v.WarmAt.Equal(readyAt.Add(10 * time.Minute)) {
		t.Fatalf("warm_at %v, want %v", v.WarmAt, readyAt.Add(10*time.Minute))
	}
	h.m.SetWarmup(30 * time.Second)
	if a := h.m.Admit("orders"); a.WarmupLeft != 0 || !a.Allowed() {
		t.Fatalf("shorter window already past: %+v", a)
	}
	h.m.SetWarmup(-time.Second)
	if a := h.m.Admit("orders"); !a.Allowed() {
		t.Fatalf("negative warm-up: %+v", a)
	}
}
