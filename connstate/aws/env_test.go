package aws

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/callgate/callgate/connstate"
	"github.com/callgate/callgate/internal/faultfront"
	"github.com/callgate/callgate/internal/motoserver"
)

const (
	testRegion = "us-east-1"
	// moto accepts any ServiceName for an Interface endpoint; this one has
	// the shape of a real endpoint service's name.
	testService  = "com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0"
	otherService = "com.amazonaws.vpce.us-east-1.vpce-svc-0fedcba9876543210"
)

// shared is the package's one moto, started by the first test that needs
// it and stopped by TestMain. Tests stay apart by each making its own VPC
// and faultfront (whose counters are per test).
var shared struct {
	once sync.Once
	moto *motoserver.Server
	err  error
}

func sharedMoto(t *testing.T) *motoserver.Server {
	t.Helper()
	shared.once.Do(func() { shared.moto, shared.err = motoserver.Run() })
	if shared.err != nil {
		motoserver.SkipOrFail(t, shared.err)
	}
	return shared.moto
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.moto != nil {
		shared.moto.Close()
	}
	os.Exit(code)
}

// env is the shared moto with a fresh VPC, subnet and security group made through the
// SDK, a faultfront before it, and a Backend talking through the front.
type env struct {
	moto    *motoserver.Server
	front   *faultfront.Front
	direct  *ec2.Client // straight to moto, for setup and inspection
	vpc     string
	subnet  string
	sg      string
	metrics *Metrics
	reg     *prometheus.Registry // metrics' registry
	logs    *observer.ObservedLogs
	b       *Backend
}

func ctxT(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func newEnv(t *testing.T) *env {
	t.Helper()
	if testing.Short() {
		t.Skip("runs the AWS SDK against a real moto; skipped under -short")
	}
	motoserver.UseTestCredentials(t)
	e := &env{moto: sharedMoto(t)}
	front, err := faultfront.New(e.moto.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = front.Close() })
	e.front = front
	ctx := ctxT(t)

	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(testRegion))
	if err != nil {
		t.Fatal(err)
	}
	e.direct = ec2.NewFromConfig(cfg, func(o *ec2.Options) { o.BaseEndpoint = sdkaws.String(e.moto.URL()) })
	vpc, err := e.direct.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: sdkaws.String("10.20.0.0/16")})
	if err != nil {
		t.Fatalf("CreateVpc: %v", err)
	}
	e.vpc = sdkaws.ToString(vpc.Vpc.VpcId)
	sub, err := e.direct.CreateSubnet(ctx, &ec2.CreateSubnetInput{
		VpcId: sdkaws.String(e.vpc), CidrBlock: sdkaws.String("10.20.1.0/24"),
		AvailabilityZone: sdkaws.String(testRegion + "a"),
	})
	if err != nil {
		t.Fatalf("CreateSubnet: %v", err)
	}
	e.subnet = sdkaws.ToString(sub.Subnet.SubnetId)
	sg, err := e.direct.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
		VpcId: sdkaws.String(e.vpc), GroupName: sdkaws.String("callgate-endpoints"),
		Description: sdkaws.String("callgate test endpoints"),
	})
	if err != nil {
		t.Fatalf("CreateSecurityGroup: %v", err)
	}
	e.sg = sdkaws.ToString(sg.GroupId)

	e.reg = prometheus.NewRegistry()
	e.metrics = NewMetrics(e.reg)
	e.b, e.logs = e.backend(t, e.metrics)
	return e
}

// backend makes another Backend on the same moto (through the front), as a
// second replica would.
func (e *env) backend(t *testing.T, m *Metrics) (*Backend, *observer.ObservedLogs) {
	t.Helper()
	core, logs := observer.New(zap.DebugLevel)
	b, err := New(ctxT(t), Options{
		Region:           testRegion,
		EndpointURL:      e.front.URL(),
		VpcID:            e.vpc,
		SubnetIDs:        []string{e.subnet},
		SecurityGroupIDs: []string{e.sg},
		Logger:           zap.New(core),
		Metrics:          m,
		// Keep the SDK's backoff real but short so throttling tests are quick.
		MaxBackoff: 5 * time.Millisecond,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return b, logs
}

func spec(name string) connstate.Spec {
	return connstate.Spec{Name: name, ServiceName: testService, Region: testRegion}
}

// endpoint reads one endpoint straight from moto.
func (e *env) endpoint(t *testing.T, id string) types.VpcEndpoint {
	t.Helper()
	res, err := e.direct.DescribeVpcEndpoints(ctxT(t), &ec2.DescribeVpcEndpointsInput{VpcEndpointIds: []string{id}})
	if err != nil || len(res.VpcEndpoints) != 1 {
		t.Fatalf("describe %s straight from moto: %v (%d endpoints)", id, err, len(res.VpcEndpoints))
	}
	return res.VpcEndpoints[0]
}

// tagged lists, straight from moto, the endpoints tagged for name.
func (e *env) tagged(t *testing.T, name string) []types.VpcEndpoint {
	t.Helper()
	res, err := e.direct.DescribeVpcEndpoints(ctxT(t), &ec2.DescribeVpcEndpointsInput{
		Filters: []types.Filter{
			{Name: sdkaws.String("tag:" + connstate.ConnectionTag), Values: []string{name}},
			{Name: sdkaws.String("vpc-id"), Values: []string{e.vpc}},
		},
	})
	if err != nil {
		t.Fatalf("describe tagged %s: %v", name, err)
	}
	return res.VpcEndpoints
}

// createUntagged makes an endpoint the way someone outside callgate would.
func (e *env) createUntagged(t *testing.T, service string, tags ...types.Tag) string {
	t.Helper()
	in := &ec2.CreateVpcEndpointInput{
		VpcEndpointType: types.VpcEndpointTypeInterface,
		VpcId:           sdkaws.String(e.vpc), ServiceName: sdkaws.String(service),
		SubnetIds: []string{e.subnet},
	}
	if len(tags) > 0 {
		in.TagSpecifications = []types.TagSpecification{{ResourceType: types.ResourceTypeVpcEndpoint, Tags: tags}}
	}
	res, err := e.direct.CreateVpcEndpoint(ctxT(t), in)
	if err != nil {
		t.Fatalf("CreateVpcEndpoint straight to moto: %v", err)
	}
	return sdkaws.ToString(res.VpcEndpoint.VpcEndpointId)
}

// calls is callgate_aws_api_calls_total for op and outcome, summed over
// the regions.
func (e *env) calls(op, outcome string) float64 {
	return sumCalls(e.reg, map[string]string{"operation": op, "outcome": outcome})
}

// sumCalls adds the callgate_aws_api_calls_total series of reg whose
// labels include want.
func sumCalls(reg prometheus.Gatherer, want map[string]string) float64 {
	mfs, err := reg.Gather()
	if err != nil {
		panic(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != "callgate_aws_api_calls_total" {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			for k, v := range want {
				if labels[k] != v {
					continue series
				}
			}
			sum += m.GetCounter().GetValue()
		}
	}
	return sum
}

func (e *env) setState(t *testing.T, id, state string) {
	t.Helper()
	if err := e.moto.SetEndpointState(ctxT(t), id, state); err != nil {
		t.Fatalf("set %s to %s in moto: %v", id, state, err)
	}
}

func (e *env) createTag(t *testing.T, id, key, value string) {
	t.Helper()
	_, err := e.direct.CreateTags(ctxT(t), &ec2.CreateTagsInput{
		Resources: []string{id},
		Tags:      []types.Tag{{Key: sdkaws.String(key), Value: sdkaws.String(value)}},
	})
	if err != nil {
		t.Fatalf("CreateTags straight to moto: %v", err)
	}
}
