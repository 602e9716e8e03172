package aws

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"go.uber.org/zap"

	"github.com/callgate/callgate/connstate"
)

// Create provisions spec's endpoint, adopting first: if an endpoint tagged
// for spec.Name already exists in the VPC for the same service and is live
// (pendingAcceptance, pending or available), it is returned instead, so two
// replicas, or a restart after a lost response, never make a second one.
//
// Otherwise it creates an Interface endpoint with a deterministic
// ClientToken (AWS then answers a retried or concurrent identical request
// with the same endpoint). Emulators such as moto ignore ClientTokens, so
// after creating it looks again: if several live endpoints for the name
// exist, the canonical one (oldest, then lowest ID) is kept and returned and
// the others deleted — every replica converges on the same endpoint.
func (b *Backend) Create(ctx context.Context, spec connstate.Spec) (connstate.Observation, error) {
	if spec.AdoptedID != "" {
		return connstate.Observation{}, fmt.Errorf("create %q: %w", spec.Name, ErrAdopted)
	}
	region := b.region(spec.Region)
	net, _ := b.network(region)
	if net.VpcID == "" || len(net.SubnetIDs) == 0 {
		return connstate.Observation{}, fmt.Errorf("create %q: need a VPC ID and subnet IDs for region %s: %w", spec.Name, region, ErrIncompleteOptions)
	}

	existing, err := b.listFor(ctx, region, net.VpcID, spec)
	if err != nil {
		return connstate.Observation{}, fmt.Errorf("create %q: look for an endpoint to adopt: %w", spec.Name, err)
	}
	var live []types.VpcEndpoint
	var dead []string
	for _, ep := range existing {
		if isLive(ep.State) {
			live = append(live, ep)
		} else {
			dead = append(dead, sdkaws.ToString(ep.VpcEndpointId))
		}
	}
	if ep, ok := best(live); ok {
		b.log.Info("adopting existing endpoint", zap.String("connection", spec.Name),
			zap.String("endpoint", sdkaws.ToString(ep.VpcEndpointId)), zap.String("state", string(ep.State)))
		return b.observation(ep, region), nil
	}

	res, err := b.ec2Client(region).CreateVpcEndpoint(ctx, &ec2.CreateVpcEndpointInput{
		VpcEndpointType:   types.VpcEndpointTypeInterface,
		VpcId:             sdkaws.String(net.VpcID),
		ServiceName:       sdkaws.String(spec.ServiceName),
		SubnetIds:         net.SubnetIDs,
		SecurityGroupIds:  net.SecurityGroupIDs,
		PrivateDnsEnabled: sdkaws.Bool(false),
		ClientToken:       sdkaws.String(clientToken(net.VpcID, spec.ServiceName, spec.Name, dead)),
		TagSpecifications: []types.TagSpecification{{
			ResourceType: types.ResourceTypeVpcEndpoint,
			Tags:         endpointTags(spec.Name),
		}},
	})
	if err != nil {
		return connstate.Observation{}, fmt.Errorf("create %q: %w", spec.Name, opError("CreateVpcEndpoint", region, err))
	}
	if res.VpcEndpoint == nil || res.VpcEndpoint.VpcEndpointId == nil {
		return connstate.Observation{}, fmt.Errorf("create %q: CreateVpcEndpoint in %s answered without an endpoint", spec.Name, region)
	}
	return b.converge(ctx, region, net.VpcID, spec, *res.VpcEndpoint), nil
}

// converge returns the canonical live endpoint for spec once ours exists
// and deletes every other live one. Every replica orders endpoints the same
// way (see better), so they agree on the canonical one; the winner deletes
// losers too, because a loser's replica may have finished its Create before
// the winner existed (in moto, whose timestamps are whole seconds, the
// newer endpoint can win on its ID).
func (b *Backend) converge(ctx context.Context, region, vpcID string, spec connstate.Spec, ours types.VpcEndpoint) connstate.Observation {
	oursID := sdkaws.ToString(ours.VpcEndpointId)
	after, err := b.listFor(ctx, region, vpcID, spec)
	if err != nil {
		// Ours exists; a later Create sorts out any duplicate.
		b.log.Warn("could not check for a duplicate endpoint after create",
			zap.String("connection", spec.Name), zap.String("endpoint", oursID), zap.Error(err))
		return b.observation(ours, region)
	}
	// Ours may not be listed yet (EC2 is eventually consistent).
	live := []types.VpcEndpoint{ours}
	for _, ep := range after {
		if isLive(ep.State) && sdkaws.ToString(ep.VpcEndpointId) != oursID {
			live = append(live, ep)
		}
	}
	winner, _ := best(live)
	winnerID := sdkaws.ToString(winner.VpcEndpointId)
	for _, ep := range live {
		id := sdkaws.ToString(ep.VpcEndpointId)
		if id == winnerID {
			continue
		}
		b.log.Info("deleting duplicate endpoint made by a racing replica", zap.String("connection", spec.Name),
			zap.String("endpoint", winnerID), zap.String("duplicate", id))
		if err := b.deleteEndpoint(ctx, region, id); err != nil {
			b.log.Error("could not delete duplicate endpoint", zap.String("connection", spec.Name),
				zap.String("duplicate", id), zap.Error(err))
		}
	}
	return b.observation(winner, region)
}

// listFor lists the endpoints tagged for spec.Name in the region's VPC
// for spec's service, in any state.
func (b *Backend) listFor(ctx context.Context, region, vpcID string, spec connstate.Spec) ([]types.VpcEndpoint, error) {
	return b.list(ctx, region, &ec2.DescribeVpcEndpointsInput{
		Filters: []types.Filter{
			{Name: sdkaws.String("tag:" + connstate.ConnectionTag), Values: []string{spec.Name}},
			{Name: sdkaws.String("vpc-id"), Values: []string{vpcID}},
			{Name: sdkaws.String("service-name"), Values: []string{spec.ServiceName}},
		},
		MaxResults: sdkaws.Int32(pageSize),
	})
}

// endpointTags are the tags on every endpoint callgate creates.
func endpointTags(name string) []types.Tag {
	return []types.Tag{
		{Key: sdkaws.String(connstate.ConnectionTag), Value: sdkaws.String(name)},
		{Key: sdkaws.String(connstate.ManagedByTag), Value: sdkaws.String(connstate.ManagedByValue)},
		{Key: sdkaws.String("Name"), Value: sdkaws.String("callgate-" + name)},
	}
}

// clientToken is the idempotency token of a create: the same for every
// replica creating the same connection's endpoint, so AWS answers them all
// with one endpoint. The IDs of the connection's earlier, dead endpoints
// are part of it, so provisioning again after a teardown is a new request
// rather than a replay that AWS would answer with the deleted endpoint.
// 64 hex characters, EC2's limit.
func clientToken(vpcID, serviceName, name string, deadIDs []string) string {
	ids := append([]string(nil), deadIDs...)
	sort.Strings(ids)
	h := sha256.New()
	for _, part := range append([]string{vpcID, serviceName, name}, ids...) {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}
