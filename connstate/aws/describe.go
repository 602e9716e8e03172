package aws

import (
	"context"
	"errors"
	"fmt"
	"sort"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/callgate/callgate/connstate"
)

const (
	// pageSize is DescribeVpcEndpoints' largest page.
	pageSize = 1000
	// maxPages bounds one paged listing (100,000 endpoints is far beyond
	// any VPC's quota).
	maxPages = 100
)

// regionSpecs are one region's specs, split by how they are found.
type regionSpecs struct {
	managed []connstate.Spec // by the connection tag
	adopted []connstate.Spec // by AdoptedID
}

// Describe observes every spec's endpoint with at most two paged
// DescribeVpcEndpoints calls per region: one filtered by the connection tag
// (and the VPC) for the managed specs, one by ID for the adopted ones. A
// spec with no endpoint has no key in the result. Any failed call fails the
// whole Describe, because a missing key would read as "not found".
func (b *Backend) Describe(ctx context.Context, specs []connstate.Spec) (map[string]connstate.Observation, error) {
	groups := map[string]*regionSpecs{}
	for _, s := range specs {
		r := b.region(s.Region)
		g := groups[r]
		if g == nil {
			g = &regionSpecs{}
			groups[r] = g
		}
		if s.AdoptedID != "" {
			g.adopted = append(g.adopted, s)
		} else {
			g.managed = append(g.managed, s)
		}
	}
	regions := make([]string, 0, len(groups))
	for r := range groups {
		regions = append(regions, r)
	}
	sort.Strings(regions)

	out := make(map[string]connstate.Observation, len(specs))
	for _, r := range regions {
		if err := b.describeManaged(ctx, r, groups[r].managed, out); err != nil {
			return nil, err
		}
		if err := b.describeAdopted(ctx, r, groups[r].adopted, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// describeManaged lists the region's callgate-tagged endpoints in its VPC
// and reports, per spec, the best endpoint tagged with its name for its
// service (see better).
func (b *Backend) describeManaged(ctx context.Context, region string, specs []connstate.Spec, out map[string]connstate.Observation) error {
	if len(specs) == 0 {
		return nil
	}
	filters := []types.Filter{{Name: sdkaws.String("tag-key"), Values: []string{connstate.ConnectionTag}}}
	if n, _ := b.network(region); n.VpcID != "" {
		filters = append(filters, types.Filter{Name: sdkaws.String("vpc-id"), Values: []string{n.VpcID}})
	}
	eps, err := b.list(ctx, region, &ec2.DescribeVpcEndpointsInput{
		Filters:    filters,
		MaxResults: sdkaws.Int32(pageSize),
	})
	if err != nil {
		return err
	}
	byName := make(map[string]connstate.Spec, len(specs))
	for _, s := range specs {
		byName[s.Name] = s
	}
	found := map[string][]types.VpcEndpoint{}
	for _, ep := range eps {
		name, _ := tagValue(ep.Tags, connstate.ConnectionTag)
		s, ok := byName[name]
		// An endpoint tagged for the name but another service is not this
		// connection's (Create would not adopt it either).
		if !ok || sdkaws.ToString(ep.ServiceName) != s.ServiceName {
			continue
		}
		found[name] = append(found[name], ep)
	}
	for name, candidates := range found {
		ep, _ := best(candidates)
		out[name] = b.observation(ep, region)
	}
	return nil
}

// describeAdopted fetches the adopted endpoints by ID in one call. EC2
// fails the whole call when any ID does not exist, so on "not found" it
// falls back to one call per ID to tell which ones are gone.
func (b *Backend) describeAdopted(ctx context.Context, region string, specs []connstate.Spec, out map[string]connstate.Observation) error {
	if len(specs) == 0 {
		return nil
	}
	names := map[string][]string{} // endpoint ID → connection names
	var ids []string
	for _, s := range specs {
		if _, seen := names[s.AdoptedID]; !seen {
			ids = append(ids, s.AdoptedID)
		}
		names[s.AdoptedID] = append(names[s.AdoptedID], s.Name)
	}
	eps, err := b.list(ctx, region, &ec2.DescribeVpcEndpointsInput{VpcEndpointIds: ids})
	if errors.Is(err, connstate.ErrNotFound) {
		eps, err = b.listEach(ctx, region, ids)
	}
	if err != nil {
		return err
	}
	for _, ep := range eps {
		for _, name := range names[sdkaws.ToString(ep.VpcEndpointId)] {
			out[name] = b.observation(ep, region)
		}
	}
	return nil
}

// listEach describes ids one at a time, skipping those that do not exist.
func (b *Backend) listEach(ctx context.Context, region string, ids []string) ([]types.VpcEndpoint, error) {
	var all []types.VpcEndpoint
	for _, id := range ids {
		eps, err := b.list(ctx, region, &ec2.DescribeVpcEndpointsInput{VpcEndpointIds: []string{id}})
		if errors.Is(err, connstate.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		all = append(all, eps...)
	}
	return all, nil
}

// list runs one paged DescribeVpcEndpoints.
func (b *Backend) list(ctx context.Context, region string, in *ec2.DescribeVpcEndpointsInput) ([]types.VpcEndpoint, error) {
	p := ec2.NewDescribeVpcEndpointsPaginator(b.ec2Client(region), in)
	var all []types.VpcEndpoint
	for page := 0; p.HasMorePages(); page++ {
		if page == maxPages {
			return nil, fmt.Errorf("aws DescribeVpcEndpoints in %s: more than %d pages", region, maxPages)
		}
		res, err := p.NextPage(ctx)
		if err != nil {
			return nil, opError("DescribeVpcEndpoints", region, err)
		}
		all = append(all, res.VpcEndpoints...)
	}
	return all, nil
}
