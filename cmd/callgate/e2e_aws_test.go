package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/callgate/callgate/connstate"
	"github.com/callgate/callgate/internal/motoserver"
	"github.com/callgate/callgate/internal/testwait"
)

const (
	e2eRegion = "us-east-1"
	// moto accepts any service name for an Interface endpoint and names the
	// endpoint vpce-ID-RANDOM.<service name>; this one has the shape of a
	// real endpoint service's name.
	e2eService    = "com.amazonaws.vpce.us-east-1.vpce-svc-0e2e0123456789abc"
	e2eConnection = "partner_orders"
	e2eCredential = "PartnerOrders"
	e2eHost       = "api.partner.example"
	e2eWarmup     = 3 * time.Second
)

// TestE2EAWS drives two real callgate processes in aws mode against moto
// through the whole life of one outbound connection (issue 3): provision →
// Ready → warm-up → calls with the real curl in both request forms →
// a second replica that adopts the endpoint and serves at once →
// endpoint states set by the service owner → an endpoint deleted behind
// callgate's back → teardown with the CLI, done while moto still lists the
// endpoint as deleted → provision again, a second endpoint → SIGTERM.
func TestE2EAWS(t *testing.T) {
	if testing.Short() {
		t.Skip("builds callgate and runs it against a real moto; skipped under -short")
	}
	e2eNeedCurl(t)
	bin := e2eBinary(t)
	moto := motoserver.Start(t)
	motoserver.UseTestCredentials(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	ec2c := e2eEC2Client(t, ctx, moto.URL())
	vpc, subnet, sg := e2eNetwork(t, ctx, ec2c)
	up := startUpstream(t, upCert(nil, e2eHost), upHandler(e2ePartner))

	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "callgate.yaml")
	cfg := fmt.Sprintf(`listen: {proxy: "127.0.0.1:0", admin: "127.0.0.1:0"}
warmup: %s
sync: {interval: 1s}
aws:
  mode: aws
  region: %s
  endpoint_url: %s
  vpc_id: %s
  subnet_ids: [%s]
  security_group_ids: [%s]
resolve:
  # moto names an interface endpoint vpce-ID-RANDOM.<service name>.
  "*.%s": 127.0.0.1
shutdown: {drain: 5s}
outbound_connections:
  - name: %s
    description: Partner orders API over PrivateLink (moto)
    service_name: %s
    provision: true
named_credentials:
  - name: %s
    url: https://%s:%s/v1
    outbound_network_connection: %s
    tls: {ca_file: %s}
`, e2eWarmup, e2eRegion, moto.URL(), vpc, subnet, sg, e2eService, e2eConnection, e2eService,
		e2eCredential, e2eHost, up.port, e2eConnection, up.caFile)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	awsDir := t.TempDir()
	env := e2eCleanEnv(
		"AWS_ACCESS_KEY_ID=testing", "AWS_SECRET_ACCESS_KEY=testing", "AWS_REGION="+e2eRegion,
		"AWS_CONFIG_FILE="+filepath.Join(awsDir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(awsDir, "credentials"),
		"AWS_EC2_METADATA_DISABLED=true",
	)
	connectURL := fmt.Sprintf("https://%s:%s/v1/x", e2eHost, up.port)
	wantBody := "partner sni=" + e2eHost + " GET /v1/x"

	var p1, p2 *e2eProc
	var first connstate.View // p1's view when it first became Ready
	var endpointID string

	// Processes belong to the whole test (their cleanup kills them), so
	// they start here rather than inside a subtest.
	p1 = e2eStartServe(t, "callgate-1", bin, cfgPath, env)
	ok := t.Run("provision_to_ready", func(t *testing.T) {
		seen := map[connstate.Status]bool{}
		first = p1.waitStatus(t, e2eConnection, connstate.Ready, seen)
		t.Logf("statuses seen: %v; view: %+v", seen, first)
		endpointID = first.VpcEndpointID
		if !strings.HasPrefix(endpointID, "vpce-") {
			t.Fatalf("vpc_endpoint_id %q", endpointID)
		}
		if !strings.HasPrefix(first.EndpointDNS, endpointID) || !strings.HasSuffix(first.EndpointDNS, "."+e2eService) {
			t.Fatalf("endpoint_dns %q is not moto's name for %s", first.EndpointDNS, endpointID)
		}
		if first.ReadySince.IsZero() || !first.WarmAt.Equal(first.ReadySince.Add(e2eWarmup)) {
			t.Fatalf("ready_since %v, warm_at %v: want warm_at = ready_since + %s", first.ReadySince, first.WarmAt, e2eWarmup)
		}
		eps := e2eTaggedEndpoints(t, ctx, ec2c, vpc)
		if len(eps) != 1 || sdkaws.ToString(eps[0].VpcEndpointId) != endpointID {
			t.Fatalf("endpoints tagged for %s: %v, want only %s", e2eConnection, e2eIDs(eps), endpointID)
		}
		ep := eps[0]
		if got := e2eTag(ep, connstate.ManagedByTag); got != connstate.ManagedByValue {
			t.Fatalf("tag %s = %q", connstate.ManagedByTag, got)
		}
		if ep.VpcEndpointType != types.VpcEndpointTypeInterface || sdkaws.ToString(ep.ServiceName) != e2eService ||
			len(ep.SubnetIds) != 1 || ep.SubnetIds[0] != subnet {
			t.Fatalf("endpoint made as %s for %s in %v, want Interface for %s in [%s]",
				ep.VpcEndpointType, sdkaws.ToString(ep.ServiceName), ep.SubnetIds, e2eService, subnet)
		}
		// The ready-since tag is written after the status changes.
		testwait.UntilExplained(t, e2eWaitMax, "ready-since tag on "+endpointID, func() (bool, string) {
			v := e2eTag(e2eEndpoint(t, ctx, ec2c, endpointID), connstate.ReadySinceTag)
			return v != "", "no tag yet"
		})
	})
	if !ok {
		return
	}

	ok = t.Run("refused_while_warming_up", func(t *testing.T) {
		if left := time.Until(first.WarmAt); left < 500*time.Millisecond {
			t.Fatalf("the test reached the warm-up check only %s before warm_at %v; too slow to observe it", left, first.WarmAt)
		}
		resp, body := e2eCallout(t, p1.proxy, e2eCredential, "x")
		r := e2eRefused(t, resp, body, http.StatusServiceUnavailable, "warming_up", "destination_unavailable")
		if r.Connection != e2eConnection || r.NamedCredential != e2eCredential {
			t.Fatalf("refusal names connection %q, credential %q", r.Connection, r.NamedCredential)
		}
		ra, err := strconv.Atoi(resp.Header.Get("Retry-After"))
		if err != nil || ra < 1 || ra > int(e2eWarmup/time.Second) {
			t.Fatalf("Retry-After %q, want 1..%d seconds", resp.Header.Get("Retry-After"), int(e2eWarmup/time.Second))
		}
		// The CONNECT form is refused too: curl reports the proxy's answer.
		out, err := e2eCurl(t, "-x", "http://"+p1.proxy, connectURL, "--cacert", up.caFile,
			"-o", "/dev/null", "-w", "%{http_connect}")
		if err == nil || strings.TrimSpace(out) != "503" {
			t.Fatalf("CONNECT during warm-up: curl %q, %v; want the tunnel refused with 503", out, err)
		}
		if n := up.callCount(); n != 0 {
			t.Fatalf("the upstream saw %d calls during the warm-up", n)
		}
	})
	if !ok {
		return
	}

	ok = t.Run("calls_after_warm_up_with_curl", func(t *testing.T) {
		e2eSleepUntil(t, first.WarmAt.Add(200*time.Millisecond))
		out, err := e2eCurl(t, "-x", "http://"+p1.proxy, connectURL, "--cacert", up.caFile, "--fail")
		if err != nil || out != wantBody {
			t.Fatalf("CONNECT through callgate: %q, %v; want %q", out, err, wantBody)
		}
		out, err = e2eCurl(t, "http://"+p1.proxy+"/callout/"+e2eCredential+"/x", "--fail")
		if err != nil || out != wantBody {
			t.Fatalf("callout through callgate: %q, %v; want %q", out, err, wantBody)
		}
		if n := up.callCount(); n != 2 {
			t.Fatalf("the upstream saw %d calls, want 2", n)
		}
	})
	if !ok {
		return
	}

	// A second replica: other ports (both listen on :0), same config file.
	p2 = e2eStartServe(t, "callgate-2", bin, cfgPath, env)
	ok = t.Run("second_replica_adopts_and_serves_at_once", func(t *testing.T) {
		v := p2.waitStatus(t, e2eConnection, connstate.Ready, nil)
		// Its very first call: no fresh warm-up.
		resp, body := e2eCallout(t, p2.proxy, e2eCredential, "x")
		if resp.StatusCode != http.StatusOK || body != wantBody {
			t.Fatalf("second replica's first call: %s %q, want 200 %q (view %+v)", resp.Status, body, wantBody, v)
		}
		out, err := e2eCurl(t, "-x", "http://"+p2.proxy, connectURL, "--cacert", up.caFile, "--fail")
		if err != nil || out != wantBody {
			t.Fatalf("CONNECT through the second replica: %q, %v", out, err)
		}
		if v.VpcEndpointID != endpointID {
			t.Fatalf("second replica uses %s, want %s", v.VpcEndpointID, endpointID)
		}
		// The tag holds whole seconds: the replicas agree to the second.
		if d := v.ReadySince.Sub(first.ReadySince); d < -time.Second || d > time.Second {
			t.Fatalf("second replica's ready_since %v, first's %v", v.ReadySince, first.ReadySince)
		}
		// Give a stray create a few sync intervals to show up.
		time.Sleep(3 * time.Second)
		if eps := e2eTaggedEndpoints(t, ctx, ec2c, vpc); len(eps) != 1 || sdkaws.ToString(eps[0].VpcEndpointId) != endpointID {
			t.Fatalf("endpoints tagged for %s: %v, want only %s", e2eConnection, e2eIDs(eps), endpointID)
		}
		if n := e2eMetricSum(t, p2, "callgate_aws_api_calls_total", `operation="CreateVpcEndpoint"`); n != 0 {
			t.Fatalf("second replica called CreateVpcEndpoint %v times", n)
		}
	})
	if !ok {
		return
	}

	procs := []*e2eProc{p1, p2}
	refusedNotReady := func(t *testing.T, status connstate.Status) {
		t.Helper()
		for _, p := range procs {
			resp, body := e2eCallout(t, p.proxy, e2eCredential, "x")
			r := e2eRefused(t, resp, body, http.StatusServiceUnavailable, "connection_not_ready", "destination_unavailable")
			if r.Status != status.String() {
				t.Fatalf("%s: refusal status %q, want %s", p.name, r.Status, status)
			}
		}
	}

	ok = t.Run("pending_acceptance", func(t *testing.T) {
		if err := moto.SetEndpointState(ctx, endpointID, "pendingAcceptance"); err != nil {
			t.Fatal(err)
		}
		for _, p := range procs {
			p.waitStatus(t, e2eConnection, connstate.PendingAcceptance, nil)
		}
		refusedNotReady(t, connstate.PendingAcceptance)
		// Leaving Ready drops the shared warm-up record.
		testwait.UntilExplained(t, e2eWaitMax, "ready-since tag cleared", func() (bool, string) {
			v := e2eTag(e2eEndpoint(t, ctx, ec2c, endpointID), connstate.ReadySinceTag)
			return v == "", "tag still " + v
		})
	})
	if !ok {
		return
	}

	ok = t.Run("rejected_remotely", func(t *testing.T) {
		if err := moto.SetEndpointState(ctx, endpointID, "rejected"); err != nil {
			t.Fatal(err)
		}
		for _, p := range procs {
			p.waitStatus(t, e2eConnection, connstate.RejectedRemotely, nil)
		}
		refusedNotReady(t, connstate.RejectedRemotely)
	})
	if !ok {
		return
	}

	ok = t.Run("back_to_ready_warms_up_again", func(t *testing.T) {
		if err := moto.SetEndpointState(ctx, endpointID, "available"); err != nil {
			t.Fatal(err)
		}
		v := p1.waitStatus(t, e2eConnection, connstate.Ready, nil)
		if !v.ReadySince.After(first.ReadySince) {
			t.Fatalf("ready_since %v after coming back, not later than the first episode's %v", v.ReadySince, first.ReadySince)
		}
		if left := time.Until(v.WarmAt); left < 500*time.Millisecond {
			t.Fatalf("reached the warm-up check only %s before warm_at %v; too slow to observe it", left, v.WarmAt)
		}
		resp, body := e2eCallout(t, p1.proxy, e2eCredential, "x")
		e2eRefused(t, resp, body, http.StatusServiceUnavailable, "warming_up", "destination_unavailable")
	})
	if !ok {
		return
	}

	ok = t.Run("deleted_behind_callgates_back", func(t *testing.T) {
		res, err := ec2c.DeleteVpcEndpoints(ctx, &ec2.DeleteVpcEndpointsInput{VpcEndpointIds: []string{endpointID}})
		if err != nil {
			t.Fatalf("DeleteVpcEndpoints: %v", err)
		}
		if len(res.Unsuccessful) != 0 {
			t.Fatalf("DeleteVpcEndpoints unsuccessful: %+v", res.Unsuccessful)
		}
		for _, p := range procs {
			p.waitStatus(t, e2eConnection, connstate.DeletedRemotely, nil)
		}
		refusedNotReady(t, connstate.DeletedRemotely)
		out, err := e2eCurl(t, "-x", "http://"+p1.proxy, connectURL, "--cacert", up.caFile,
			"-o", "/dev/null", "-w", "%{http_connect}")
		if err == nil || strings.TrimSpace(out) != "503" {
			t.Fatalf("CONNECT to a deleted connection: curl %q, %v; want 503", out, err)
		}
	})
	if !ok {
		return
	}

	ok = t.Run("teardown_with_cli", func(t *testing.T) {
		out, err := e2eRunCLI(t, bin, env, "teardown", "--admin", p1.admin, e2eConnection)
		if err != nil {
			t.Fatalf("callgate teardown: %v\n%s", err, out)
		}
		if !strings.Contains(out, e2eConnection) {
			t.Fatalf("callgate teardown printed %q", out)
		}
		// moto lists the endpoint as "deleted" for ever, as AWS does for a
		// while: that ends the teardown (issue 16), and the dead endpoint
		// is no longer the connection's.
		v := p1.waitStatus(t, e2eConnection, connstate.Unprovisioned, nil)
		if v.VpcEndpointID != "" || v.AWSState != "" || v.EndpointDNS != "" {
			t.Fatalf("Unprovisioned after teardown still shows an endpoint: %+v", v)
		}
		if st := string(e2eEndpoint(t, ctx, ec2c, endpointID).State); !strings.EqualFold(st, "deleted") {
			t.Fatalf("moto lists the torn-down endpoint as %q, want deleted (the case under test)", st)
		}
		out, err = e2eRunCLI(t, bin, env, "status", "--admin", p1.admin)
		if err != nil || !strings.Contains(out, e2eConnection) || !strings.Contains(out, "Unprovisioned") || strings.Contains(out, endpointID) {
			t.Fatalf("callgate status: %v\n%s", err, out)
		}
		// A teardown is not undone by the next syncs (provision: true acts
		// on start and reload only).
		time.Sleep(2 * time.Second)
		if v := p1.view(t, e2eConnection); v.Status != connstate.Unprovisioned {
			t.Fatalf("after teardown the connection went on to %s", v.Status)
		}
		if eps := e2eTaggedEndpoints(t, ctx, ec2c, vpc); len(e2eLive(eps)) != 0 {
			t.Fatalf("live endpoints after teardown: %v", e2eIDs(eps))
		}
	})
	if !ok {
		return
	}

	ok = t.Run("provision_again_makes_a_second_endpoint", func(t *testing.T) {
		out, err := e2eRunCLI(t, bin, env, "provision", "--admin", p1.admin, e2eConnection)
		if err != nil {
			t.Fatalf("callgate provision right after the teardown: %v\n%s", err, out)
		}
		v := p1.waitStatus(t, e2eConnection, connstate.Ready, nil)
		second := v.VpcEndpointID
		if !strings.HasPrefix(second, "vpce-") || second == endpointID {
			t.Fatalf("second provision on endpoint %q, want a new one (the first was %s)", second, endpointID)
		}
		if live := e2eLive(e2eTaggedEndpoints(t, ctx, ec2c, vpc)); len(live) != 1 || sdkaws.ToString(live[0].VpcEndpointId) != second {
			t.Fatalf("live endpoints %v, want only %s", e2eIDs(live), second)
		}
		if v := p2.waitStatus(t, e2eConnection, connstate.Ready, nil); v.VpcEndpointID != second {
			t.Fatalf("second replica on %s, want %s", v.VpcEndpointID, second)
		}
		out, err = e2eRunCLI(t, bin, env, "teardown", "--admin", p1.admin, e2eConnection)
		if err != nil {
			t.Fatalf("callgate teardown: %v\n%s", err, out)
		}
		p1.waitStatus(t, e2eConnection, connstate.Unprovisioned, nil)
		// moto skips "deleting", so the other replica never sees a
		// teardown: DeletedRemotely, which its own teardown settles
		// (docs/operations.md, Running several replicas).
		p2.waitStatus(t, e2eConnection, connstate.DeletedRemotely, nil)
		if out, err := e2eRunCLI(t, bin, env, "teardown", "--admin", p2.admin, e2eConnection); err != nil {
			t.Fatalf("callgate teardown on the second replica: %v\n%s", err, out)
		}
		p2.waitStatus(t, e2eConnection, connstate.Unprovisioned, nil)
	})
	if !ok {
		return
	}

	t.Run("sigterm_exits_zero", func(t *testing.T) {
		for _, p := range procs {
			if code := p.terminate(t); code != 0 {
				t.Errorf("%s exited %d after SIGTERM", p.name, code)
			}
		}
	})
}

// e2eEC2Client is an EC2 client straight to moto with its fake static
// credentials.
func e2eEC2Client(t *testing.T, ctx context.Context, motoURL string) *ec2.Client {
	t.Helper()
	cfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(e2eRegion),
		awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("testing", "testing", "")))
	if err != nil {
		t.Fatal(err)
	}
	return ec2.NewFromConfig(cfg, func(o *ec2.Options) { o.BaseEndpoint = sdkaws.String(motoURL) })
}

// e2eNetwork makes the VPC, subnet and security group callgate's
// endpoints go in.
func e2eNetwork(t *testing.T, ctx context.Context, c *ec2.Client) (vpc, subnet, sg string) {
	t.Helper()
	v, err := c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: sdkaws.String("10.42.0.0/16")})
	if err != nil {
		t.Fatalf("CreateVpc: %v", err)
	}
	vpc = sdkaws.ToString(v.Vpc.VpcId)
	s, err := c.CreateSubnet(ctx, &ec2.CreateSubnetInput{
		VpcId: sdkaws.String(vpc), CidrBlock: sdkaws.String("10.42.1.0/24"),
		AvailabilityZone: sdkaws.String(e2eRegion + "a"),
	})
	if err != nil {
		t.Fatalf("CreateSubnet: %v", err)
	}
	subnet = sdkaws.ToString(s.Subnet.SubnetId)
	g, err := c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
		VpcId: sdkaws.String(vpc), GroupName: sdkaws.String("callgate-e2e"),
		Description: sdkaws.String("callgate end-to-end test endpoints"),
	})
	if err != nil {
		t.Fatalf("CreateSecurityGroup: %v", err)
	}
	return vpc, subnet, sdkaws.ToString(g.GroupId)
}

// e2eTaggedEndpoints lists, straight from moto, every endpoint in the VPC
// tagged for the test's connection, in any state.
func e2eTaggedEndpoints(t *testing.T, ctx context.Context, c *ec2.Client, vpc string) []types.VpcEndpoint {
	t.Helper()
	res, err := c.DescribeVpcEndpoints(ctx, &ec2.DescribeVpcEndpointsInput{Filters: []types.Filter{
		{Name: sdkaws.String("tag:" + connstate.ConnectionTag), Values: []string{e2eConnection}},
		{Name: sdkaws.String("vpc-id"), Values: []string{vpc}},
	}})
	if err != nil {
		t.Fatalf("DescribeVpcEndpoints: %v", err)
	}
	return res.VpcEndpoints
}

func e2eEndpoint(t *testing.T, ctx context.Context, c *ec2.Client, id string) types.VpcEndpoint {
	t.Helper()
	res, err := c.DescribeVpcEndpoints(ctx, &ec2.DescribeVpcEndpointsInput{VpcEndpointIds: []string{id}})
	if err != nil || len(res.VpcEndpoints) != 1 {
		t.Fatalf("DescribeVpcEndpoints %s: %v (%d endpoints)", id, err, len(res.VpcEndpoints))
	}
	return res.VpcEndpoints[0]
}

// e2eLive keeps the endpoints that are not deleted or on their way out.
func e2eLive(eps []types.VpcEndpoint) []types.VpcEndpoint {
	var out []types.VpcEndpoint
	for _, ep := range eps {
		switch strings.ToLower(string(ep.State)) {
		case "deleted", "deleting":
		default:
			out = append(out, ep)
		}
	}
	return out
}

func e2eIDs(eps []types.VpcEndpoint) []string {
	out := make([]string, 0, len(eps))
	for _, ep := range eps {
		out = append(out, sdkaws.ToString(ep.VpcEndpointId)+"("+string(ep.State)+")")
	}
	return out
}

func e2eTag(ep types.VpcEndpoint, key string) string {
	for _, tag := range ep.Tags {
		if sdkaws.ToString(tag.Key) == key {
			return sdkaws.ToString(tag.Value)
		}
	}
	return ""
}

// e2eSleepUntil sleeps until at, at most e2eWaitMax.
func e2eSleepUntil(t *testing.T, at time.Time) {
	t.Helper()
	d := time.Until(at)
	if d > e2eWaitMax {
		t.Fatalf("asked to sleep %s, more than %s", d, e2eWaitMax)
	}
	if d > 0 {
		time.Sleep(d)
	}
}

// e2eRunCLI runs a callgate subcommand and returns its combined output.
func e2eRunCLI(t *testing.T, bin string, env []string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), e2eWaitMax)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// e2eMetricSum adds the values of a metric's series whose label set
// contains match, from the process's /metrics text.
func e2eMetricSum(t *testing.T, p *e2eProc, name, match string) float64 {
	t.Helper()
	code, body := e2eGet(p.admin + "/metrics")
	if code != http.StatusOK {
		t.Fatalf("%s /metrics: %d %s", p.name, code, body)
	}
	var sum float64
	var series int
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+"{") || !strings.Contains(line, match) {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err != nil {
			t.Fatalf("%s /metrics line %q: %v", p.name, line, err)
		}
		sum += v
		series++
	}
	if series == 0 {
		t.Fatalf("%s /metrics has no %s{%s} series", p.name, name, match)
	}
	return sum
}
