package main

import (
	"context"
	"sync"
	"time"

	"github.com/callgate/callgate/connstate"
	awsbackend "github.com/callgate/callgate/connstate/aws"
	"github.com/callgate/callgate/connstate/simulated"
)

// countedBackend counts a simulated backend's calls in
// callgate_aws_api_calls_total, through the aws backend's own counter, as
// the AWS calls the aws backend would make for them (operation and region),
// so the dashboard's AWS panel and the CallgateAWSAPIErrors alert see in
// simulated mode (demos, tests) what they see against AWS.
type countedBackend struct {
	connstate.Backend
	m *awsbackend.Metrics
	// region is where specs without a region, and STS, are.
	region string
	// regionOf maps endpoint IDs to their region for SetReadySince, which
	// gets only the ID (the aws backend keeps the same map).
	regionOf *sync.Map
}

func newCountedBackend(b *simulated.Backend, m *awsbackend.Metrics, region string) countedBackend {
	return countedBackend{Backend: b, m: m, region: region, regionOf: &sync.Map{}}
}

func (b countedBackend) regionFor(s connstate.Spec) string {
	if s.Region != "" {
		return s.Region
	}
	return b.region
}

// Describe counts one DescribeVpcEndpoints per region for the managed
// endpoints and one for the adopted ones, as the aws backend lists them.
func (b countedBackend) Describe(ctx context.Context, specs []connstate.Spec) (map[string]connstate.Observation, error) {
	obs, err := b.Backend.Describe(ctx, specs)
	type listing struct {
		region  string
		adopted bool
	}
	seen := map[listing]bool{}
	for _, s := range specs {
		l := listing{b.regionFor(s), s.AdoptedID != ""}
		if !seen[l] {
			seen[l] = true
			b.m.Observe(l.region, string(simulated.OpDescribe), err)
		}
		if o, ok := obs[s.Name]; ok && o.EndpointID != "" {
			b.regionOf.Store(o.EndpointID, l.region)
		}
	}
	return obs, err
}

func (b countedBackend) Create(ctx context.Context, spec connstate.Spec) (connstate.Observation, error) {
	obs, err := b.Backend.Create(ctx, spec)
	b.m.Observe(b.regionFor(spec), string(simulated.OpCreate), err)
	if obs.EndpointID != "" {
		b.regionOf.Store(obs.EndpointID, b.regionFor(spec))
	}
	return obs, err
}

func (b countedBackend) Delete(ctx context.Context, spec connstate.Spec, endpointID string) error {
	err := b.Backend.Delete(ctx, spec, endpointID)
	b.m.Observe(b.regionFor(spec), string(simulated.OpDelete), err)
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
	region := b.region
	if r, ok := b.regionOf.Load(endpointID); ok {
		region = r.(string)
	}
	b.m.Observe(region, op, err)
	return err
}

func (b countedBackend) Whoami(ctx context.Context) (string, error) {
	arn, err := b.Backend.Whoami(ctx)
	b.m.Observe(b.region, string(simulated.OpWhoami), err)
	return arn, err
}
