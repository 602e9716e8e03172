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
	m.observe("us-east-1", "CreateTags", nil)
	m.observe("us-east-1", "CreateTags", apiErr("RequestLimitExceeded"))
	m.observe("us-east-1", "CreateTags", errors.New("boom"))
	m.observe("us-east-1", "CreateTags", errors.New("boom"))
	m.observe("us-west-2", "CreateTags", nil)
	for outcome, want := range map[string]float64{OutcomeSuccess: 1, OutcomeThrottled: 1, OutcomeError: 2} {
		if got := testutil.ToFloat64(m.APICalls("us-east-1", "CreateTags", outcome)); got != want {
			t.Errorf("us-east-1 %s = %v, want %v", outcome, got, want)
		}
	}
	if got := testutil.ToFloat64(m.APICalls("us-west-2", "CreateTags", OutcomeSuccess)); got != 1 {
		t.Errorf("us-west-2 success = %v, want 1", got)
	}
	// Each configured region's series are exported at zero, and only those.
	reg := prometheus.NewRegistry()
	m = NewMetrics(reg)
	m.initRegion("us-east-1")
	m.initRegion("us-west-2")
	m.initRegion("us-east-1")
	if n := testutil.CollectAndCount(reg, "callgate_aws_api_calls_total"); n != len(operations)*3*2 {
		t.Errorf("%d series, want %d", n, len(operations)*3*2)
	}
	var nilMetrics *Metrics
	nilMetrics.observe("us-east-1", "CreateTags", nil) // must not panic
	nilMetrics.initRegion("us-east-1")
}
