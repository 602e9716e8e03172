package connstate_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callgate/callgate/connstate"
	"github.com/callgate/callgate/connstate/simulated"
)

// describeClock wraps a Backend and records when each Describe was called.
type describeClock struct {
	connstate.Backend
	mu    sync.Mutex
	times []time.Time
}

func (d *describeClock) Describe(ctx context.Context, specs []connstate.Spec) (map[string]connstate.Observation, error) {
	d.mu.Lock()
	d.times = append(d.times, time.Now())
	d.mu.Unlock()
	return d.Backend.Describe(ctx, specs)
}

func (d *describeClock) gaps() []time.Duration {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []time.Duration
	for i := 1; i < len(d.times); i++ {
		out = append(out, d.times[i].Sub(d.times[i-1]))
	}
	return out
}

func (d *describeClock) reset() {
	d.mu.Lock()
	d.times = nil
	d.mu.Unlock()
}

// An AWS outage keeps every last known status: a Ready connection keeps
// admitting, last_error says why, and polling backs off further and
// further; once AWS answers again everything clears.
func TestOutageKeepsStatusAndBacksOff(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"5xx", errors.New("api error InternalError: 500")},
		{"throttled", fmt.Errorf("api error RequestLimitExceeded: %w", connstate.ErrThrottled)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock()
			sim := newSim(clk, "auto")
			rec := &describeClock{Backend: sim}
			m := connstate.NewManager(rec, connstate.Options{
				Warmup: testWarmup, SyncInterval: 2 * time.Millisecond, FastInterval: 2 * time.Millisecond,
				BackoffBase: 4 * time.Millisecond, BackoffMax: 400 * time.Millisecond, Now: clk.Now,
			})
			c := conn("orders", svcA)
			mustOK(t, m.Apply([]connstate.Connection{c}))
			h := &harness{t: t, clk: clk, sim: sim, m: m}
			h.start()
			eventually(t, "first sync", m.Ready)
			h.toReady("orders")
			clk.Advance(time.Hour)
			before := m.Admit("orders")
			if !before.Allowed() {
				t.Fatalf("not warm: %+v", before)
			}

			sim.InjectError(simulated.OpDescribe, tc.err, -1)
			rec.reset()
			if err := h.do("orders", connstate.ActionSync); err == nil || !strings.Contains(err.Error(), tc.err.Error()) {
				t.Fatalf("sync during the outage: %v, want the backend error", err)
			}
			eventually(t, "six failed polls", func() bool { return len(rec.gaps()) >= 6 })

			a := m.Admit("orders")
			if !a.Allowed() || a.Revoked != before.Revoked {
				t.Fatalf("outage changed admission: %+v", a)
			}
			select {
			case <-a.Revoked:
				t.Fatal("outage revoked the Ready episode")
			default:
			}
			v := h.view("orders")
			if v.Status != connstate.Ready || !strings.Contains(v.LastError, tc.err.Error()) {
				t.Fatalf("during outage: status %s, last_error %q", v.Status, v.LastError)
			}
			gaps := rec.gaps()
			// Equal jitter keeps each delay within [d/2, d] of a doubling d,
			// so five failures later the gap is several times the first.
			first, last := gaps[1], gaps[len(gaps)-1]
			if last < 2*first {
				t.Fatalf("backoff did not grow: gaps %v", gaps)
			}
			if tc.name == "throttled" && gaps[1] < 8*time.Millisecond {
				t.Fatalf("throttling backs off from 4×base (≥ 8ms), first gap %v", gaps[1])
			}

			sim.InjectError(simulated.OpDescribe, nil, 0)
			eventually(t, "recovery", func() bool {
				v := h.view("orders")
				return v.LastError == "" && v.Status == connstate.Ready
			})
			if !m.Admit("orders").Allowed() {
				t.Fatal("not admitting after recovery")
			}
		})
	}
}

// A cold start during an outage is not ready for traffic or /readyz.
func TestNotReadyUntilFirstSuccessfulSync(t *testing.T) {
	clk := newClock()
	sim := newSim(clk, "auto")
	sim.InjectError(simulated.OpDescribe, errors.New("no route to ec2"), 3)
	m := connstate.NewManager(sim, connstate.Options{SyncInterval: time.Hour, BackoffBase: 2 * time.Millisecond, Now: clk.Now})
	mustOK(t, m.Apply([]connstate.Connection{conn("orders", svcA)}))
	if m.Ready() {
		t.Fatal("ready before Run")
	}
	h := &harness{t: t, clk: clk, sim: sim, m: m}
	h.start()
	eventually(t, "ready after the errors stop", m.Ready)
	if n := sim.Calls(simulated.OpDescribe); n < 4 {
		t.Fatalf("ready after %d Describe calls, want ≥ 4", n)
	}
}
