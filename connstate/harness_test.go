package connstate_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"

	"github.com/callgate/callgate/connstate"
	"github.com/callgate/callgate/connstate/simulated"
	"github.com/callgate/callgate/internal/testwait"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	svcA = "com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0"
	svcB = "com.amazonaws.vpce.us-east-1.vpce-svc-0fedcba98765432100"
)

// fakeClock drives the simulated endpoints' delays and the warm-up
// arithmetic; timers (polling) still run in real time.
// It is atomic so that benchmarks of Admit measure Admit, not a lock.
type fakeClock struct{ ns atomic.Int64 }

func newClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *fakeClock) Now() time.Time { return time.Unix(0, c.ns.Load()).UTC() }

func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// simDelays are fake-clock delays: nothing moves until the test advances
// the clock past them.
var simDelays = simulated.Delays{PendingAcceptance: 10 * time.Second, Pending: 20 * time.Second, Deleting: 5 * time.Second}

const testWarmup = 5 * time.Minute

func newSim(clk *fakeClock, acceptance string) *simulated.Backend {
	return simulated.New(simulated.Options{
		Acceptance: acceptance,
		Delays:     simDelays,
		Services:   map[string]string{svcA: "127.0.0.1:9443", svcB: "127.0.0.1:9444"},
		Region:     "us-east-1",
		Now:        clk.Now,
	})
}

// harness runs one Manager on a simulated backend and a fake clock.
// Steady statuses are polled only when the test syncs; transitional ones
// every few milliseconds.
type harness struct {
	t   *testing.T
	clk *fakeClock
	sim *simulated.Backend
	m   *connstate.Manager
	reg *prometheus.Registry

	stop func()
}

func conn(name, service string) connstate.Connection {
	return connstate.Connection{Name: name, Description: name + " over PrivateLink", Type: "AwsPrivateLink",
		ServiceName: service, Region: "us-east-1"}
}

func newHarness(t *testing.T, clk *fakeClock, sim *simulated.Backend, conns ...connstate.Connection) *harness {
	t.Helper()
	h := &harness{t: t, clk: clk, sim: sim, reg: prometheus.NewRegistry()}
	h.m = connstate.NewManager(sim, connstate.Options{
		Warmup:       testWarmup,
		SyncInterval: time.Hour,
		FastInterval: 5 * time.Millisecond,
		BackoffBase:  10 * time.Millisecond,
		BackoffMax:   50 * time.Millisecond,
		Now:          clk.Now,
		Logger:       zaptest.NewLogger(t),
		Metrics:      connstate.NewMetrics(h.reg),
	})
	if err := h.m.Apply(conns); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	h.start()
	eventually(t, "first sync", h.m.Ready)
	return h
}

// start runs the sync loop until the test ends or stopLoop is called.
func (h *harness) start() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.m.Run(ctx) }()
	var once sync.Once
	h.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				h.t.Errorf("Run: %v", err)
			}
		})
	}
	h.t.Cleanup(h.stop)
}

func (h *harness) do(name string, a connstate.Action) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return h.m.Do(ctx, name, a)
}

func (h *harness) mustDo(name string, a connstate.Action) {
	h.t.Helper()
	if err := h.do(name, a); err != nil {
		h.t.Fatalf("%s %s: %v", a, name, err)
	}
}

func (h *harness) view(name string) connstate.View {
	h.t.Helper()
	v, ok := h.m.Get(name)
	if !ok {
		h.t.Fatalf("Get(%q): unknown", name)
	}
	return v
}

// expect waits until name has status want, syncing whenever the status is
// steady (the loop polls transitional ones by itself).
func (h *harness) expect(name string, want connstate.Status) connstate.View {
	h.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		v := h.view(name)
		if v.Status == want {
			return v
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("connection %q: status %s, want %s (last error %q)", name, v.Status, want, v.LastError)
		}
		if v.Status.Provisioned() && !v.Status.Transitional() {
			_ = h.do(name, connstate.ActionSync)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// toReady provisions name on an auto-accepting backend and waits for Ready.
func (h *harness) toReady(name string) connstate.View {
	h.t.Helper()
	h.mustDo(name, connstate.ActionProvision)
	h.expect(name, connstate.PendingAcceptance)
	h.clk.Advance(simDelays.PendingAcceptance)
	h.expect(name, connstate.PendingActivation)
	h.clk.Advance(simDelays.Pending)
	return h.expect(name, connstate.Ready)
}

// eventually waits up to 5s for cond to hold.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testwait.Until(t, 5*time.Second, what, cond)
}

func endpointOf(t *testing.T, sim *simulated.Backend, name string) (simulated.Endpoint, bool) {
	t.Helper()
	var found simulated.Endpoint
	ok := false
	for _, e := range sim.Endpoints() {
		if e.Connection == name {
			found, ok = e, true
		}
	}
	return found, ok
}
