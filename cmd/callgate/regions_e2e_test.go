package main

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap/zaptest"

	"github.com/callgate/callgate/connstate"
	"github.com/callgate/callgate/internal/motoserver"
	"github.com/callgate/callgate/internal/testwait"
)

const westRegion = "us-west-2"

// TestAWSTwoRegions runs callgate in aws mode against moto with one
// connection in aws.region and one in a region from aws.regions (issue 16):
// the config reaches the backend (each endpoint in its region's VPC, API
// calls counted by region), both become Ready, one region's teardown,
// re-provision and remote deletion leave the other Ready.
func TestAWSTwoRegions(t *testing.T) {
	if testing.Short() {
		t.Skip("runs callgate against a real moto; skipped under -short")
	}
	moto := motoserver.Start(t)
	motoserver.UseTestCredentials(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	east, west := regionEC2(t, ctx, moto.URL(), e2eRegion), regionEC2(t, ctx, moto.URL(), westRegion)
	eastVPC, eastSubnet, eastSG := regionNetwork(t, ctx, east, e2eRegion)
	westVPC, westSubnet, westSG := regionNetwork(t, ctx, west, westRegion)

	cfgPath := tempConfig(t, fmt.Sprintf(`listen: {proxy: 127.0.0.1:0, admin: 127.0.0.1:0}
warmup: 0s
sync: {interval: 1s}
aws:
  mode: aws
  region: %s
  endpoint_url: %s
  vpc_id: %s
  subnet_ids: [%s]
  security_group_ids: [%s]
  regions:
    %s: {vpc_id: %s, subnet_ids: [%s], security_group_ids: [%s]}
outbound_connections:
  - name: east
    service_name: com.amazonaws.vpce.%s.vpce-svc-0e2e0123456789abc
    provision: true
  - name: west
    service_name: com.amazonaws.vpce.%s.vpce-svc-0e2e0123456789abc
    region: %s
    provision: true
`, e2eRegion, moto.URL(), eastVPC, eastSubnet, eastSG, westRegion, westVPC, westSubnet, westSG,
		e2eRegion, westRegion, westRegion))
	reg := prometheus.NewRegistry()
	s, err := startServer(ctx, cfgPath, zaptest.NewLogger(t), serverOptions{reg: reg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	admin := "http://" + s.AdminAddr()
	m := s.app.manager
	wait := func(name string, want connstate.Status) connstate.View {
		t.Helper()
		var v connstate.View
		testwait.UntilExplained(t, e2eWaitMax, name+" "+want.String(), func() (bool, string) {
			v, _ = m.Get(name)
			return v.Status == want, fmt.Sprintf("%s (aws %q, last error %q)", v.Status, v.AWSState, v.LastError)
		})
		return v
	}
	cli := func(args ...string) {
		t.Helper()
		var out, errOut bytes.Buffer
		if code := run(append(args, "--admin", admin), &out, &errOut); code != 0 {
			t.Fatalf("callgate %v: exit %d: %s", args, code, errOut.String())
		}
	}

	eastV, westV := wait("east", connstate.Ready), wait("west", connstate.Ready)
	for _, c := range []struct {
		client *ec2.Client
		id     string
		vpc    string
	}{{east, eastV.VpcEndpointID, eastVPC}, {west, westV.VpcEndpointID, westVPC}} {
		res, err := c.client.DescribeVpcEndpoints(ctx, &ec2.DescribeVpcEndpointsInput{VpcEndpointIds: []string{c.id}})
		if err != nil || len(res.VpcEndpoints) != 1 || sdkaws.ToString(res.VpcEndpoints[0].VpcId) != c.vpc {
			t.Fatalf("endpoint %s: %v %+v, want one in %s", c.id, err, res, c.vpc)
		}
	}
	for _, region := range []string{e2eRegion, westRegion} {
		if n := metricSum(t, reg, "callgate_aws_api_calls_total",
			map[string]string{"operation": "CreateVpcEndpoint", "region": region, "outcome": "success"}); n != 1 {
			t.Errorf("CreateVpcEndpoint in %s counted %v times, want 1", region, n)
		}
	}

	cli("teardown", "east")
	if v := wait("east", connstate.Unprovisioned); v.VpcEndpointID != "" {
		t.Fatalf("east Unprovisioned still shows %s", v.VpcEndpointID)
	}
	if v, _ := m.Get("west"); v.Status != connstate.Ready || !m.Admit("west").Allowed() {
		t.Fatalf("west after east's teardown: %+v", v)
	}
	cli("provision", "east")
	if v := wait("east", connstate.Ready); v.VpcEndpointID == eastV.VpcEndpointID {
		t.Fatalf("east provisioned again on the torn-down endpoint %s", v.VpcEndpointID)
	}

	if _, err := west.DeleteVpcEndpoints(ctx, &ec2.DeleteVpcEndpointsInput{VpcEndpointIds: []string{westV.VpcEndpointID}}); err != nil {
		t.Fatal(err)
	}
	wait("west", connstate.DeletedRemotely)
	cli("sync", "east")
	if v, _ := m.Get("east"); v.Status != connstate.Ready || !m.Admit("east").Allowed() {
		t.Fatalf("east after west's remote deletion: %+v", v)
	}
}

// regionEC2 is an EC2 client straight to moto in region.
func regionEC2(t *testing.T, ctx context.Context, motoURL, region string) *ec2.Client {
	t.Helper()
	cfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(region),
		awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("testing", "testing", "")))
	if err != nil {
		t.Fatal(err)
	}
	return ec2.NewFromConfig(cfg, func(o *ec2.Options) { o.BaseEndpoint = sdkaws.String(motoURL) })
}

// regionNetwork makes a VPC, subnet and security group in the client's region.
func regionNetwork(t *testing.T, ctx context.Context, c *ec2.Client, region string) (vpc, subnet, sg string) {
	t.Helper()
	v, err := c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: sdkaws.String("10.43.0.0/16")})
	if err != nil {
		t.Fatalf("CreateVpc in %s: %v", region, err)
	}
	vpc = sdkaws.ToString(v.Vpc.VpcId)
	sn, err := c.CreateSubnet(ctx, &ec2.CreateSubnetInput{
		VpcId: sdkaws.String(vpc), CidrBlock: sdkaws.String("10.43.1.0/24"), AvailabilityZone: sdkaws.String(region + "a"),
	})
	if err != nil {
		t.Fatalf("CreateSubnet in %s: %v", region, err)
	}
	g, err := c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
		VpcId: sdkaws.String(vpc), GroupName: sdkaws.String("callgate-regions"), Description: sdkaws.String("callgate two-region test"),
	})
	if err != nil {
		t.Fatalf("CreateSecurityGroup in %s: %v", region, err)
	}
	return vpc, sdkaws.ToString(sn.Subnet.SubnetId), sdkaws.ToString(g.GroupId)
}
