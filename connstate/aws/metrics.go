package aws

import (
	"context"
	"errors"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/callgate/callgate/connstate"
)

// Outcomes of an AWS API call, the values of the outcome label.
const (
	OutcomeSuccess   = "success"
	OutcomeError     = "error"
	OutcomeThrottled = "throttled"
)

// operations are the API operations the backend calls, pre-initialised so
// dashboards see zeros rather than missing series.
var operations = []string{
	"DescribeVpcEndpoints", "CreateVpcEndpoint", "DeleteVpcEndpoints",
	"CreateTags", "DeleteTags", "GetCallerIdentity",
}

// Metrics are the AWS backend's Prometheus metrics. A nil *Metrics counts
// nothing.
type Metrics struct {
	apiCalls *prometheus.CounterVec
}

// NewMetrics creates the metrics and registers them with reg (nil: not
// registered, for tests that only read them).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		apiCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "callgate",
			Name:      "aws_api_calls_total",
			Help:      "AWS API calls by operation, region and outcome (success, error, throttled), counted once per call after the SDK's retries; each page of a paged call counts.",
		}, []string{"operation", "region", "outcome"}),
	}
	if reg != nil {
		reg.MustRegister(m.apiCalls)
	}
	return m
}

// initRegion exports the region's series at zero. The backend calls it for
// every region it is configured with; the region label only ever takes a
// region the config names, so the series stay bounded by the config.
func (m *Metrics) initRegion(region string) {
	if m == nil {
		return
	}
	for _, op := range operations {
		for _, o := range []string{OutcomeSuccess, OutcomeError, OutcomeThrottled} {
			m.apiCalls.WithLabelValues(op, region, o)
		}
	}
}

// APICalls returns the counter for one operation, region and outcome (for
// tests and for callers that want to read it).
func (m *Metrics) APICalls(region, operation, outcome string) prometheus.Counter {
	return m.apiCalls.WithLabelValues(operation, region, outcome)
}

// observe counts one finished call.
func (m *Metrics) observe(region, operation string, err error) {
	if m == nil {
		return
	}
	outcome := OutcomeSuccess
	switch {
	case err == nil:
	case isThrottle(err):
		outcome = OutcomeThrottled
	default:
		outcome = OutcomeError
	}
	m.apiCalls.WithLabelValues(operation, region, outcome).Inc()
}

// apiOption installs the counting middleware on one region's SDK client.
// It sits in the Initialize step, outside the retry loop, so one call
// counts once however often the SDK retried it; it is added after the
// operation's own Initialize middleware so the context already carries the
// operation name. The region is the client's, fixed when it is made.
func (m *Metrics) apiOption(region string) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("callgate/apiCalls",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				out, md, err := next.HandleInitialize(ctx, in)
				m.observe(region, awsmiddleware.GetOperationName(ctx), err)
				return out, md, err
			}), middleware.After)
	}
}

// Observe counts one finished call that did not go through the SDK (the
// simulated backend's), so both modes export the same series: the region's
// start at zero as the aws backend's do, and an error wrapping
// connstate.ErrThrottled counts as throttled.
func (m *Metrics) Observe(region, operation string, err error) {
	if m == nil {
		return
	}
	m.initRegion(region)
	if errors.Is(err, connstate.ErrThrottled) {
		m.APICalls(region, operation, OutcomeThrottled).Inc()
		return
	}
	m.observe(region, operation, err)
}
