package main

import (
	"bufio"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/callgate/callgate/connstate"
	"github.com/callgate/callgate/connstate/simulated"
	"github.com/callgate/callgate/internal/testwait"
)

// TestSimulatedModeCountsAWSCalls scrapes a simulated-mode callgate's
// /metrics with curl, as Prometheus would: callgate_aws_api_calls_total has
// the simulated calls under the AWS operation names, so the dashboard's AWS
// panel and the CallgateAWSAPIErrors alert work in demos and tests. A
// throttled call counts as throttled, as against AWS.
func TestSimulatedModeCountsAWSCalls(t *testing.T) {
	upstream := startUpstream(t).addr
	s, reg := opsStart(t, tempConfig(t, opsConfig(upstream, "sim", "")), zap.NewNop(), false)

	s.app.sim.InjectError(simulated.OpDescribe, fmt.Errorf("simulated RequestLimitExceeded: %w", connstate.ErrThrottled), 1)
	throttled := map[string]string{"operation": "DescribeVpcEndpoints", "outcome": "throttled"}
	testwait.Until(t, 10*time.Second, "a throttled DescribeVpcEndpoints in the registry", func() bool {
		return metricSum(t, reg, "callgate_aws_api_calls_total", throttled) == 1
	})

	code, body := runCurl(t, "http://"+s.AdminAddr()+"/metrics")
	if code != 200 {
		t.Fatalf("GET /metrics: %d", code)
	}
	for _, tc := range []struct {
		operation, outcome string
		atLeast            float64
	}{
		{"CreateVpcEndpoint", "success", 1},
		{"DescribeVpcEndpoints", "success", 1},
		{"CreateTags", "success", 1}, // the ready-since tag
		{"DescribeVpcEndpoints", "throttled", 1},
		{"DeleteVpcEndpoints", "success", 0}, // pre-initialised, as in aws mode
	} {
		v, ok := scrapedSum(body, "callgate_aws_api_calls_total", `operation="`+tc.operation+`"`, `outcome="`+tc.outcome+`"`, `region="us-east-1"`)
		if !ok || v < tc.atLeast {
			t.Errorf("callgate_aws_api_calls_total{operation=%q,outcome=%q} = %v (present %v), want at least %v",
				tc.operation, tc.outcome, v, ok, tc.atLeast)
		}
	}
}

// scrapedSum adds the values of the series of name, in Prometheus text
// format, whose labels contain every one of labels.
func scrapedSum(body, name string, labels ...string) (sum float64, found bool) {
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+"{") {
			continue
		}
		match := true
		for _, l := range labels {
			match = match && strings.Contains(line, l)
		}
		if !match {
			continue
		}
		f := strings.Fields(line)
		if v, err := strconv.ParseFloat(f[len(f)-1], 64); err == nil {
			sum += v
			found = true
		}
	}
	return sum, found
}
