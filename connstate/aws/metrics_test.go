package aws

import (
	"errors"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
)

func TestMetricsLint(t *testing.T) {
	reg := prometheus.NewRegistry()
	NewMetrics(reg)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	problems, err := promlint.NewWithMetricFamilies(mfs).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}

func TestMetricsObserve(t *testing.T) {
	m := NewMetrics(nil)
	m.observe("CreateTags", nil)
	m.observe("CreateTags", apiErr("RequestLimitExceeded"))
	m.observe("CreateTags", errors.New("boom"))
	m.observe("CreateTags", errors.New("boom"))
	for outcome, want := range map[string]float64{OutcomeSuccess: 1, OutcomeThrottled: 1, OutcomeError: 2} {
		if got := testutil.ToFloat64(m.APICalls("CreateTags", outcome)); got != want {
			t.Errorf("%s = %v, want %v", outcome, got, want)
		}
	}
	// Pre-initialised series are exported at zero.
	reg := prometheus.NewRegistry()
	NewMetrics(reg)
	if n := testutil.CollectAndCount(reg, "callgate_aws_api_calls_total"); n != len(operations)*3 {
		t.Errorf("%d series, want %d", n, len(operations)*3)
	}
	var nilMetrics *Metrics
	nilMetrics.observe("CreateTags", nil) // must not panic
}
