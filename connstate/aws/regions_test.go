package aws

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/callgate/callgate/connstate"
)

const westRegion = "us-west-2"

// serviceIn is an endpoint service name of region's shape (moto accepts any).
func serviceIn(region string) string {
	return "com.amazonaws.vpce." + region + ".vpce-svc-0123456789abcdef0"
}

// directIn is an EC2 client straight to moto in region.
func (e *env) directIn(t *testing.T, region string) *ec2.Client {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(ctxT(t), config.WithRegion(region))
	if err != nil {
		t.Fatal(err)
	}
	return ec2.NewFromConfig(cfg, func(o *ec2.Options) { o.BaseEndpoint = sdkaws.String(e.moto.URL()) })
}

// networkIn makes a VPC, a subnet and a security group in region.
func (e *env) networkIn(t *testing.T, region string) Network {
	t.Helper()
	c, ctx := e.directIn(t, region), ctxT(t)
	vpc, err := c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: sdkaws.String("10.30.0.0/16")})
	if err != nil {
		t.Fatalf("CreateVpc in %s: %v", region, err)
	}
	vpcID := sdkaws.ToString(vpc.Vpc.VpcId)
	sub, err := c.CreateSubnet(ctx, &ec2.CreateSubnetInput{
		VpcId: sdkaws.String(vpcID), CidrBlock: sdkaws.String("10.30.1.0/24"),
		AvailabilityZone: sdkaws.String(region + "a"),
	})
	if err != nil {
		t.Fatalf("CreateSubnet in %s: %v", region, err)
	}
	sg, err := c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
		VpcId: sdkaws.String(vpcID), GroupName: sdkaws.String("callgate-" + region),
		Description: sdkaws.String("callgate test endpoints in " + region),
	})
	if err != nil {
		t.Fatalf("CreateSecurityGroup in %s: %v", region, err)
	}
	return Network{VpcID: vpcID, SubnetIDs: []string{sdkaws.ToString(sub.Subnet.SubnetId)}, SecurityGroupIDs: []string{sdkaws.ToString(sg.GroupId)}}
}

// regionalBackend is a Backend with the env's network as the default
// region's and others by region, counting into its own registry.
func (e *env) regionalBackend(t *testing.T, others map[string]Network) (*Backend, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	b, err := New(ctxT(t), Options{
		Region: testRegion, EndpointURL: e.front.URL(),
		VpcID: e.vpc, SubnetIDs: []string{e.subnet}, SecurityGroupIDs: []string{e.sg},
		Networks: others, Metrics: NewMetrics(reg), MaxBackoff: 5 * time.Millisecond,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return b, reg
}

// Connections in two regions at once, each endpoint in its own region's
// VPC: both come up, then one region tears down, is provisioned again and
// loses its endpoint behind callgate's back while the other stays Ready.
func TestManagerTwoRegions(t *testing.T) {
	e := newEnv(t)
	west := e.networkIn(t, westRegion)
	b, reg := e.regionalBackend(t, map[string]Network{westRegion: west})
	m := runManager(t, b, managed("east", testRegion, testService), managed("west", westRegion, serviceIn(westRegion)))

	do(t, m, "east", connstate.ActionProvision)
	do(t, m, "west", connstate.ActionProvision)
	eastV := expectStatus(t, m, "east", connstate.Ready)
	westV := expectStatus(t, m, "west", connstate.Ready)

	// Each endpoint is where its region's network says, found only in
	// its region.
	westEp := e.endpointIn(t, westRegion, westV.VpcEndpointID)
	if sdkaws.ToString(westEp.VpcId) != west.VpcID || !slices.Equal(westEp.SubnetIds, west.SubnetIDs) ||
		len(westEp.Groups) != 1 || sdkaws.ToString(westEp.Groups[0].GroupId) != west.SecurityGroupIDs[0] {
		t.Fatalf("west endpoint in VPC %s, subnets %v, groups %+v; want %+v",
			sdkaws.ToString(westEp.VpcId), westEp.SubnetIds, westEp.Groups, west)
	}
	if ep := e.endpoint(t, eastV.VpcEndpointID); sdkaws.ToString(ep.VpcId) != e.vpc {
		t.Fatalf("east endpoint in VPC %s, want %s", sdkaws.ToString(ep.VpcId), e.vpc)
	}
	if !strings.Contains(westV.EndpointDNS, westRegion) {
		t.Errorf("west endpoint DNS %q does not name %s", westV.EndpointDNS, westRegion)
	}

	stillReady := func(name string, want connstate.View) {
		t.Helper()
		v, _ := m.Get(name)
		if v.Status != connstate.Ready || v.VpcEndpointID != want.VpcEndpointID || !m.Admit(name).Allowed() {
			t.Fatalf("%s: %+v, want Ready on %s and admitting", name, v, want.VpcEndpointID)
		}
	}

	do(t, m, "east", connstate.ActionTeardown)
	expectStatus(t, m, "east", connstate.Unprovisioned)
	stillReady("west", westV)
	do(t, m, "east", connstate.ActionProvision)
	eastV = expectStatus(t, m, "east", connstate.Ready)
	stillReady("west", westV)

	res, err := e.directIn(t, westRegion).DeleteVpcEndpoints(ctxT(t), &ec2.DeleteVpcEndpointsInput{VpcEndpointIds: []string{westV.VpcEndpointID}})
	if err != nil || len(res.Unsuccessful) != 0 {
		t.Fatalf("delete the west endpoint behind callgate's back: %v %+v", err, res)
	}
	if v := expectStatus(t, m, "west", connstate.DeletedRemotely); v.VpcEndpointID != westV.VpcEndpointID {
		t.Fatalf("west DeletedRemotely shows %q, want %s", v.VpcEndpointID, westV.VpcEndpointID)
	}
	do(t, m, "east", connstate.ActionSync)
	stillReady("east", eastV)

	// The API calls carry their region.
	for region, want := range map[string]float64{testRegion: 2, westRegion: 1} {
		if n := sumCalls(reg, map[string]string{"operation": "CreateVpcEndpoint", "region": region, "outcome": OutcomeSuccess}); n != want {
			t.Errorf("CreateVpcEndpoint in %s counted %v times, want %v", region, n, want)
		}
	}
}

// A region with no network: described by tag alone, never created in.
func TestCreateInRegionWithoutNetwork(t *testing.T) {
	e := newEnv(t)
	b, _ := e.regionalBackend(t, nil)
	before := e.front.Requests("")
	_, err := b.Create(ctxT(t), connstate.Spec{Name: "x", ServiceName: serviceIn(westRegion), Region: westRegion})
	if !errors.Is(err, ErrIncompleteOptions) || !strings.Contains(err.Error(), westRegion) {
		t.Fatalf("Create in a region without network = %v, want ErrIncompleteOptions naming %s", err, westRegion)
	}
	if n := e.front.Requests("") - before; n != 0 {
		t.Errorf("the refused create sent %d requests", n)
	}
	if _, err := New(ctxT(t), Options{Region: testRegion, VpcID: e.vpc, Networks: map[string]Network{testRegion: {VpcID: e.vpc}}}); err == nil {
		t.Error("New accepted two networks for the default region")
	}
}

// How many AWS calls one steady sync cycle makes: one paged
// DescribeVpcEndpoints per region (a page per 1,000 endpoints), plus one
// per region with adopted endpoints, whatever the number of connections.
// The figures are in docs/operations.md.
func TestSyncCycleCalls(t *testing.T) {
	e := newEnv(t)
	regions := []string{testRegion, westRegion, "eu-west-1"}
	others := map[string]Network{}
	for _, r := range regions[1:] {
		others[r] = e.networkIn(t, r)
	}
	b, reg := e.regionalBackend(t, others)
	adoptedID := e.createUntagged(t, otherService)

	var conns []connstate.Connection
	for _, r := range regions {
		for i := range 3 {
			conns = append(conns, managed(fmt.Sprintf("%s-%d", r, i), r, serviceIn(r)))
		}
	}
	adopted := managed("adopted", testRegion, otherService)
	adopted.VpcEndpointID = adoptedID
	m := runManager(t, b, append(conns, adopted)...)
	before := callsByOpRegion(reg)
	for _, c := range conns {
		do(t, m, c.Name, connstate.ActionProvision)
	}
	do(t, m, "adopted", connstate.ActionProvision)
	for _, c := range append(conns, adopted) {
		expectStatus(t, m, c.Name, connstate.Ready)
	}
	// An endpoint Create found available at once is tagged by the next
	// cycle: that one still belongs to provisioning.
	do(t, m, conns[0].Name, connstate.ActionSync)
	// Provisioning is not per cycle; only its creates and tags are fixed.
	provisioning := diffCalls(callsByOpRegion(reg), before)
	t.Logf("provisioning %d endpoints in %d regions (and syncing meanwhile): %v", len(conns), len(regions), provisioning)
	for _, op := range []string{"CreateVpcEndpoint", "CreateTags"} {
		var n float64
		for _, r := range regions {
			n += provisioning[op+" "+r]
		}
		if want := float64(len(conns)); op == "CreateTags" {
			want++ // the adopted endpoint gets its ready-since tag too
			if n != want {
				t.Errorf("%s calls while provisioning: %v, want %v", op, n, want)
			}
		} else if n != want {
			t.Errorf("%s calls while provisioning: %v, want %v", op, n, want)
		}
	}

	cycle := func(m *connstate.Manager, name string) map[string]float64 {
		t.Helper()
		before := callsByOpRegion(reg)
		do(t, m, name, connstate.ActionSync)
		return diffCalls(callsByOpRegion(reg), before)
	}
	got := cycle(m, conns[0].Name)
	t.Logf("one steady cycle, %d connections (1 adopted) in %d regions: %v", len(conns)+1, len(regions), got)
	want := map[string]float64{
		"DescribeVpcEndpoints " + testRegion: 2, // tagged endpoints, and the adopted one by ID
		"DescribeVpcEndpoints " + westRegion: 1,
		"DescribeVpcEndpoints eu-west-1":     1,
	}
	if !equalCalls(got, want) {
		t.Errorf("one cycle made %v, want %v", got, want)
	}

	// One connection in one region: the same one call.
	single := runManager(t, b, conns[0])
	got = cycle(single, conns[0].Name)
	t.Logf("one steady cycle, 1 connection in 1 region: %v", got)
	if want := map[string]float64{"DescribeVpcEndpoints " + testRegion: 1}; !equalCalls(got, want) {
		t.Errorf("one cycle with one connection made %v, want %v", got, want)
	}
}

// callsByOpRegion reads callgate_aws_api_calls_total as "OPERATION REGION"
// → calls, all outcomes together.
func callsByOpRegion(reg prometheus.Gatherer) map[string]float64 {
	mfs, err := reg.Gather()
	if err != nil {
		panic(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "callgate_aws_api_calls_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			out[labels["operation"]+" "+labels["region"]] += m.GetCounter().GetValue()
		}
	}
	return out
}

func diffCalls(after, before map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for k, v := range after {
		if d := v - before[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}

func equalCalls(a, b map[string]float64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// endpointIn reads one endpoint straight from moto in region.
func (e *env) endpointIn(t *testing.T, region, id string) types.VpcEndpoint {
	t.Helper()
	res, err := e.directIn(t, region).DescribeVpcEndpoints(ctxT(t), &ec2.DescribeVpcEndpointsInput{VpcEndpointIds: []string{id}})
	if err != nil || len(res.VpcEndpoints) != 1 {
		t.Fatalf("describe %s in %s straight from moto: %v", id, region, err)
	}
	return res.VpcEndpoints[0]
}
