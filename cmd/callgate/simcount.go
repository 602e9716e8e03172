package main

import (
	"context"
	"time"

	"github.com/callgate/callgate/connstate"
	awsbackend "github.com/callgate/callgate/connstate/aws"
	"github.com/callgate/callgate/connstate/simulated"
)

// countedBackend counts a simulated backend's calls in
// callgate_aws_api_calls_total, under the AWS operation each stands for and
// through the aws backend's own counter, so the dashboard's AWS panel and
// the CallgateAWSAPIErrors alert see in simulated mode (demos, tests)
// what they see against AWS.
type countedBackend struct {
	connstate.Backend
	m *awsbackend.Metrics
}

func (b countedBackend) Describe(ctx context.Context, specs []connstate.Spec) (map[string]connstate.Observation, error) {
	obs, err := b.Backend.Describe(ctx, specs)
	b.m.Observe(string(simulated.OpDescribe), err)
	return obs, err
}

func (b countedBackend) Create(ctx context.Context, spec connstate.Spec) (connstate.Observation, error) {
	obs, err := b.Backend.Create(ctx, spec)
	b.m.Observe(string(simulated.OpCreate), err)
	return obs, err
}

func (b countedBackend) Delete(ctx context.Context, spec connstate.Spec, endpointID string) error {
	err := b.Backend.Delete(ctx, spec, endpointID)
	b.m.Observe(string(simulated.OpDelete), err)
	return err
}

// SetReadySince clears the tag with DeleteTags against AWS; the
// simulation has one operation for both.
func (b countedBackend) SetReadySince(ctx context.Context, endpointID string, since time.Time) error {
	err := b.Backend.SetReadySince(ctx, endpointID, since)
	op := string(simulated.OpTag)
	if since.IsZero() {
		op = "DeleteTags"
	}
	b.m.Observe(op, err)
	return err
}

func (b countedBackend) Whoami(ctx context.Context) (string, error) {
	arn, err := b.Backend.Whoami(ctx)
	b.m.Observe(string(simulated.OpWhoami), err)
	return arn, err
}
