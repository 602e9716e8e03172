package connstate_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/callgate/callgate/connstate"
	"github.com/callgate/callgate/connstate/simulated"
)

func statusSeries(values map[string]map[connstate.Status]bool, warm map[string]bool) string {
	var b strings.Builder
	b.WriteString("# HELP callgate_connection_status Status of each outbound connection: 1 for the current status, 0 for the others.\n")
	b.WriteString("# TYPE callgate_connection_status gauge\n")
	for name, current := range values {
		for _, s := range connstate.Statuses() {
			v := "0"
			if current[s] {
				v = "1"
			}
			b.WriteString(`callgate_connection_status{connection="` + name + `",status="` + s.String() + `"} ` + v + "\n")
		}
	}
	b.WriteString("# HELP callgate_connection_warm 1 if the outbound connection is Ready and past its warm-up (carries traffic), else 0.\n")
	b.WriteString("# TYPE callgate_connection_warm gauge\n")
	for name, w := range warm {
		v := "0"
		if w {
			v = "1"
		}
		b.WriteString(`callgate_connection_warm{connection="` + name + `"} ` + v + "\n")
	}
	return b.String()
}

func TestMetrics(t *testing.T) {
	clk := newClock()
	h := newHarness(t, clk, newSim(clk, "auto"), conn("orders", svcA), conn("billing", svcB))
	names := []string{"callgate_connection_status", "callgate_connection_warm"}
	check := func(what string, status map[string]map[connstate.Status]bool, warm map[string]bool) {
		t.Helper()
		if err := testutil.GatherAndCompare(h.reg, strings.NewReader(statusSeries(status, warm)), names...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	check("at start", map[string]map[connstate.Status]bool{
		"orders": {connstate.Unprovisioned: true}, "billing": {connstate.Unprovisioned: true},
	}, map[string]bool{"orders": false, "billing": false})

	h.toReady("orders")
	check("Ready, warming", map[string]map[connstate.Status]bool{
		"orders": {connstate.Ready: true}, "billing": {connstate.Unprovisioned: true},
	}, map[string]bool{"orders": false, "billing": false})

	clk.Advance(testWarmup)
	check("Ready and warm", map[string]map[connstate.Status]bool{
		"orders": {connstate.Ready: true}, "billing": {connstate.Unprovisioned: true},
	}, map[string]bool{"orders": true, "billing": false})

	mustOK(t, h.m.Apply([]connstate.Connection{conn("orders", svcA)}))
	check("billing removed", map[string]map[connstate.Status]bool{
		"orders": {connstate.Ready: true},
	}, map[string]bool{"orders": true})

	errorsBefore := counterValue(t, h.reg, "callgate_sync_errors_total")
	h.sim.InjectError(simulated.OpDescribe, errors.New("InternalError"), 1)
	if err := h.do("orders", connstate.ActionSync); err == nil {
		t.Fatal("sync did not fail")
	}
	if got := counterValue(t, h.reg, "callgate_sync_errors_total"); got != errorsBefore+1 {
		t.Fatalf("callgate_sync_errors_total = %v, want %v", got, errorsBefore+1)
	}
	if n := histogramCount(t, h.reg, "callgate_sync_duration_seconds"); n < 3 {
		t.Fatalf("callgate_sync_duration_seconds has %d observations", n)
	}

	mfs, err := h.reg.Gather()
	mustOK(t, err)
	problems, err := promlint.NewWithMetricFamilies(mfs).Lint()
	mustOK(t, err)
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}

func TestNilMetrics(t *testing.T) {
	clk := newClock()
	m := connstate.NewManager(newSim(clk, "auto"), connstate.Options{Now: clk.Now, SyncInterval: time.Hour})
	mustOK(t, m.Apply([]connstate.Connection{conn("orders", svcA)}))
	h := &harness{t: t, clk: clk, m: m}
	h.start()
	eventually(t, "first sync", m.Ready)
	connstate.NewMetrics(nil) // unregistered metrics are fine too
}

func counterValue(t *testing.T, g prometheus.Gatherer, name string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	mustOK(t, err)
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

func histogramCount(t *testing.T, g prometheus.Gatherer, name string) uint64 {
	t.Helper()
	mfs, err := g.Gather()
	mustOK(t, err)
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetHistogram().GetSampleCount()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}
