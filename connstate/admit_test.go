package connstate_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/callgate/callgate/connstate"
)

// readyManager returns a Manager with a warm Ready "orders", a warming
// "billing" and an Unprovisioned "spare", its loop stopped so nothing else
// allocates while the test measures.
func readyManager(tb testing.TB) *connstate.Manager {
	clk := newClock()
	sim := newSim(clk, "auto")
	m := connstate.NewManager(sim, connstate.Options{Warmup: testWarmup, SyncInterval: time.Hour,
		FastInterval: 2 * time.Millisecond, Now: clk.Now})
	orders := conn("orders", svcA)
	orders.Provision = true
	if err := m.Apply([]connstate.Connection{orders, conn("billing", svcB), conn("spare", svcA)}); err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	waitFor := func(name string, s connstate.Status) {
		deadline := time.Now().Add(5 * time.Second)
		for m.Admit(name).Status != s {
			if time.Now().After(deadline) {
				tb.Fatalf("%s: %s, want %s", name, m.Admit(name).Status, s)
			}
			time.Sleep(time.Millisecond)
		}
	}
	waitFor("orders", connstate.PendingAcceptance)
	clk.Advance(simDelays.PendingAcceptance + simDelays.Pending)
	waitFor("orders", connstate.Ready)
	clk.Advance(testWarmup)
	mustOK(tb, m.Do(ctx, "billing", connstate.ActionProvision))
	waitFor("billing", connstate.PendingAcceptance)
	clk.Advance(simDelays.PendingAcceptance + simDelays.Pending)
	waitFor("billing", connstate.Ready)
	cancel()
	<-done
	if !m.Admit("orders").Allowed() || m.Admit("billing").WarmupLeft == 0 {
		tb.Fatalf("setup: orders %+v billing %+v", m.Admit("orders"), m.Admit("billing"))
	}
	return m
}

func TestAdmitDoesNotAllocate(t *testing.T) {
	m := readyManager(t)
	for _, name := range []string{"orders", "billing", "spare", "unknown"} {
		t.Run(name, func(t *testing.T) {
			var sink connstate.Admission
			allocs := testing.AllocsPerRun(1000, func() { sink = m.Admit(name) })
			if allocs != 0 {
				t.Fatalf("Admit(%q) allocates %v times per call", name, allocs)
			}
			_ = sink
		})
	}
}

func BenchmarkAdmit(b *testing.B) {
	m := readyManager(b)
	b.Run("warm", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !m.Admit("orders").Allowed() {
				b.Fatal("refused")
			}
		}
	})
	b.Run("warming/parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if m.Admit("billing").Allowed() {
					b.Fatal("allowed while warming")
				}
			}
		})
	})
}

func TestViewJSON(t *testing.T) {
	clk := newClock()
	h := newHarness(t, clk, newSim(clk, "auto"), conn("orders", svcA), conn("billing", svcB))
	h.toReady("orders")
	raw, err := json.Marshal(h.m.List())
	mustOK(t, err)
	var generic []map[string]any
	mustOK(t, json.Unmarshal(raw, &generic))
	for _, key := range []string{"name", "description", "type", "service_name", "region", "status", "vpc_endpoint_id",
		"endpoint_dns", "ready_since", "warm_at", "last_sync", "last_error"} {
		if _, ok := generic[0][key]; !ok {
			t.Errorf("view has no %q: %s", key, raw)
		}
	}
	if generic[0]["status"] != "Ready" || generic[1]["status"] != "Unprovisioned" {
		t.Fatalf("statuses as JSON: %v, %v", generic[0]["status"], generic[1]["status"])
	}
	if generic[1]["ready_since"] != nil || generic[1]["warm_at"] != nil {
		t.Fatalf("zero times should be null: %s", raw)
	}
	if !strings.HasPrefix(generic[0]["vpc_endpoint_id"].(string), "vpce-") {
		t.Fatalf("vpc_endpoint_id %v", generic[0]["vpc_endpoint_id"])
	}
	// The CLI decodes the same JSON back into Views.
	var back []connstate.View
	mustOK(t, json.Unmarshal(raw, &back))
	want := h.m.List()
	if back[0].Status != connstate.Ready || !back[0].WarmAt.Equal(want[0].WarmAt) || !back[1].ReadySince.IsZero() ||
		back[0].EndpointDNS != want[0].EndpointDNS {
		t.Fatalf("round trip: %+v, want %+v", back, want)
	}
}
