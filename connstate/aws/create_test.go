package aws

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/callgate/callgate/connstate"
)

func TestCreate(t *testing.T) {
	e := newEnv(t)
	obs, err := e.b.Create(ctxT(t), spec("orders"))
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if !strings.HasPrefix(obs.EndpointID, "vpce-") {
		t.Fatalf("EndpointID = %q", obs.EndpointID)
	}
	if st, ok := connstate.MapAWSState(obs.State, false); !ok || st != connstate.Ready {
		t.Errorf("State %q maps to %v, %v; want Ready", obs.State, st, ok)
	}
	// moto's DNS name: <endpoint-id>-<8 random>.<service name>.
	if !strings.HasPrefix(obs.DNSName, obs.EndpointID+"-") || !strings.HasSuffix(obs.DNSName, "."+testService) {
		t.Errorf("DNSName = %q, want %s-xxxxxxxx.%s", obs.DNSName, obs.EndpointID, testService)
	}
	if !obs.ReadySince.IsZero() {
		t.Errorf("ReadySince = %v on a new endpoint", obs.ReadySince)
	}

	ep := e.endpoint(t, obs.EndpointID)
	for k, want := range map[string]string{
		connstate.ConnectionTag: "orders",
		connstate.ManagedByTag:  connstate.ManagedByValue,
		"Name":                  "callgate-orders",
	} {
		if got, _ := tagValue(ep.Tags, k); got != want {
			t.Errorf("tag %s = %q, want %q", k, got, want)
		}
	}
	if ep.VpcEndpointType != types.VpcEndpointTypeInterface || sdkaws.ToString(ep.VpcId) != e.vpc ||
		sdkaws.ToString(ep.ServiceName) != testService || len(ep.DnsEntries) == 0 {
		t.Errorf("endpoint = type %s vpc %s service %s dns %d", ep.VpcEndpointType,
			sdkaws.ToString(ep.VpcId), sdkaws.ToString(ep.ServiceName), len(ep.DnsEntries))
	}
	if sdkaws.ToBool(ep.PrivateDnsEnabled) {
		t.Error("PrivateDnsEnabled is true")
	}

	// What went over the wire (moto does not echo the ClientToken back).
	form := e.front.LastForm("CreateVpcEndpoint")
	for k, want := range map[string]string{
		"ClientToken":                     clientToken(e.vpc, testService, "orders", nil),
		"VpcEndpointType":                 "Interface",
		"VpcId":                           e.vpc,
		"ServiceName":                     testService,
		"SubnetId.1":                      e.subnet,
		"SecurityGroupId.1":               e.sg,
		"PrivateDnsEnabled":               "false",
		"TagSpecification.1.ResourceType": "vpc-endpoint",
	} {
		if got := form.Get(k); got != want {
			t.Errorf("CreateVpcEndpoint %s = %q, want %q", k, got, want)
		}
	}
	if n := len(form.Get("ClientToken")); n != 64 {
		t.Errorf("ClientToken is %d characters, want 64", n)
	}
}

// A second replica (another Backend on the same AWS) calling Create adopts
// the first one's endpoint instead of creating another.
func TestCreateTwiceAdopts(t *testing.T) {
	e := newEnv(t)
	first, err := e.b.Create(ctxT(t), spec("orders"))
	if err != nil {
		t.Fatal(err)
	}
	replica, logs := e.backend(t, nil)
	second, err := replica.Create(ctxT(t), spec("orders"))
	if err != nil {
		t.Fatal(err)
	}
	if second.EndpointID != first.EndpointID {
		t.Fatalf("second replica got %s, first %s", second.EndpointID, first.EndpointID)
	}
	if second.DNSName != first.DNSName {
		t.Errorf("DNSName %q != %q", second.DNSName, first.DNSName)
	}
	if n := len(e.tagged(t, "orders")); n != 1 {
		t.Fatalf("%d endpoints tagged for orders, want 1", n)
	}
	if n := e.front.Requests("CreateVpcEndpoint"); n != 1 {
		t.Errorf("CreateVpcEndpoint sent %d times, want 1", n)
	}
	if logs.FilterMessage("adopting existing endpoint").Len() != 1 {
		t.Errorf("adoption not logged: %v", logs.All())
	}
}

// Endpoints that are on their way out, or for another service, are never
// adopted, and a new create after a dead one uses a new ClientToken.
func TestCreateSkipsDeadAndForeign(t *testing.T) {
	e := newEnv(t)
	for _, state := range []string{"rejected", "failed", "expired", "deleting", "deleted"} {
		t.Run(state, func(t *testing.T) {
			name := "conn-" + state
			old, err := e.b.Create(ctxT(t), spec(name))
			if err != nil {
				t.Fatal(err)
			}
			e.setState(t, old.EndpointID, state)
			foreign := e.createUntagged(t, otherService, types.Tag{Key: sdkaws.String(connstate.ConnectionTag), Value: sdkaws.String(name)})

			fresh, err := e.b.Create(ctxT(t), spec(name))
			if err != nil {
				t.Fatal(err)
			}
			if fresh.EndpointID == old.EndpointID || fresh.EndpointID == foreign {
				t.Fatalf("adopted %s (old %s, foreign %s)", fresh.EndpointID, old.EndpointID, foreign)
			}
			token := e.front.LastForm("CreateVpcEndpoint").Get("ClientToken")
			if want := clientToken(e.vpc, testService, name, []string{old.EndpointID}); token != want {
				t.Errorf("ClientToken %q, want %q (includes the dead endpoint)", token, want)
			}
			// Describe reports the live one, not the dead one nor the foreign one.
			got, err := e.b.Describe(ctxT(t), []connstate.Spec{spec(name)})
			if err != nil {
				t.Fatal(err)
			}
			if got[name].EndpointID != fresh.EndpointID {
				t.Errorf("Describe reports %s, want %s", got[name].EndpointID, fresh.EndpointID)
			}
		})
	}
}

// emptyDescribe is an EC2 DescribeVpcEndpoints answer with no endpoints.
const emptyDescribe = `<?xml version="1.0" encoding="UTF-8"?>
<DescribeVpcEndpointsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>faultfront</requestId><vpcEndpointSet/></DescribeVpcEndpointsResponse>`

// Two replicas racing past the adoption check both create (moto ignores
// ClientTokens): the one that loses deletes its endpoint and both report
// the same, canonical one.
func TestCreateConvergesAfterRace(t *testing.T) {
	e := newEnv(t)
	first, err := e.b.Create(ctxT(t), spec("orders"))
	if err != nil {
		t.Fatal(err)
	}
	// The second replica's adoption lookup raced with the first's create
	// and saw nothing.
	e.front.RespondNext(1, "DescribeVpcEndpoints", http.StatusOK, emptyDescribe)
	replica, logs := e.backend(t, nil)
	second, err := replica.Create(ctxT(t), spec("orders"))
	if err != nil {
		t.Fatal(err)
	}
	if e.front.Requests("CreateVpcEndpoint") != 2 {
		t.Fatalf("the race did not happen: %d creates", e.front.Requests("CreateVpcEndpoint"))
	}
	all := e.tagged(t, "orders")
	var live []types.VpcEndpoint
	seenFirst := false
	for _, ep := range all {
		seenFirst = seenFirst || sdkaws.ToString(ep.VpcEndpointId) == first.EndpointID
		if isLive(ep.State) {
			live = append(live, ep)
		} else if ep.State != "deleted" {
			t.Errorf("loser %s is %q, want deleted", sdkaws.ToString(ep.VpcEndpointId), ep.State)
		}
	}
	if len(all) != 2 || !seenFirst {
		t.Fatalf("%d endpoints for orders (first seen: %v), want the first and the duplicate", len(all), seenFirst)
	}
	if len(live) != 1 {
		t.Fatalf("%d live endpoints for orders after the race, want 1", len(live))
	}
	winner := sdkaws.ToString(live[0].VpcEndpointId)
	if second.EndpointID != winner {
		t.Errorf("second replica reports %s, live one is %s", second.EndpointID, winner)
	}
	// The first replica, asking again, agrees.
	got, err := e.b.Describe(ctxT(t), []connstate.Spec{spec("orders")})
	if err != nil {
		t.Fatal(err)
	}
	if got["orders"].EndpointID != winner {
		t.Errorf("first replica's Describe reports %s, want %s", got["orders"].EndpointID, winner)
	}
	if logs.FilterMessage("deleting duplicate endpoint made by a racing replica").Len() != 1 {
		t.Errorf("duplicate deletion not logged: %v", logs.All())
	}
}

func TestCreateRefused(t *testing.T) {
	e := newEnv(t)
	adopted := spec("adopted")
	adopted.AdoptedID = "vpce-0123456789abcdef0"
	if _, err := e.b.Create(ctxT(t), adopted); !errors.Is(err, ErrAdopted) {
		t.Errorf("Create(adopted) = %v, want ErrAdopted", err)
	}
	noVPC, err := New(ctxT(t), Options{Region: testRegion, EndpointURL: e.front.URL()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := noVPC.Create(ctxT(t), spec("x")); !errors.Is(err, ErrIncompleteOptions) {
		t.Errorf("Create without a VPC = %v, want ErrIncompleteOptions", err)
	}
	if n := e.front.Requests(""); n != 0 {
		t.Errorf("refused creates sent %d requests", n)
	}
}
