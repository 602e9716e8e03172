package aws

import (
	"testing"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"go.uber.org/zap"

	"github.com/callgate/callgate/connstate"
)

func dns(names ...string) []types.DnsEntry {
	out := make([]types.DnsEntry, len(names))
	for i, n := range names {
		out[i] = types.DnsEntry{DnsName: sdkaws.String(n), HostedZoneId: sdkaws.String("Z1")}
	}
	return out
}

func TestRegionalDNSName(t *testing.T) {
	const id = "vpce-0123456789abcdef0"
	regional := id + "-a1b2c3d4.vpce-svc-0fedcba9876543210.us-east-1.vpce.amazonaws.com"
	zonalA := id + "-a1b2c3d4-us-east-1a.vpce-svc-0fedcba9876543210.us-east-1.vpce.amazonaws.com"
	zonalB := id + "-a1b2c3d4-us-east-1b.vpce-svc-0fedcba9876543210.us-east-1.vpce.amazonaws.com"
	for _, tc := range []struct {
		name    string
		entries []types.DnsEntry
		region  string
		want    string
	}{
		{"aws order", dns(regional, zonalA, zonalB), "us-east-1", regional},
		{"zonal first", dns(zonalA, zonalB, regional), "us-east-1", regional},
		{"private dns name listed first", dns("api.partner.example", zonalA, regional), "us-east-1", regional},
		{"only private and zonal", dns(zonalA, "api.partner.example"), "us-east-1", "api.partner.example"},
		{"only zonal", dns(zonalB, zonalA), "us-east-1", zonalB},
		{"moto", dns(id + "-bcc52c3d.com.amazonaws.vpce.us-east-1.vpce-svc-0123"), "us-east-1", id + "-bcc52c3d.com.amazonaws.vpce.us-east-1.vpce-svc-0123"},
		{"unknown region", dns(zonalA, regional), "", zonalA},
		{"empty names skipped", append([]types.DnsEntry{{}}, dns(regional)...), "us-east-1", regional},
		{"none", nil, "us-east-1", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := regionalDNSName(id, tc.entries, tc.region); got != tc.want {
				t.Fatalf("regionalDNSName = %q, want %q", got, tc.want)
			}
		})
	}
}

func ep(id, state string, created time.Time) types.VpcEndpoint {
	e := types.VpcEndpoint{VpcEndpointId: sdkaws.String(id), State: types.State(state)}
	if !created.IsZero() {
		e.CreationTimestamp = sdkaws.Time(created)
	}
	return e
}

func TestBest(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	t1, t2 := t0.Add(time.Minute), t0.Add(2*time.Minute)
	for _, tc := range []struct {
		name string
		eps  []types.VpcEndpoint
		want string
	}{
		{"single", []types.VpcEndpoint{ep("vpce-a", "available", t0)}, "vpce-a"},
		{"live beats newer deleted", []types.VpcEndpoint{ep("vpce-old", "deleted", t2), ep("vpce-new", "pendingAcceptance", t1)}, "vpce-new"},
		{"live beats rejected", []types.VpcEndpoint{ep("vpce-r", "rejected", t2), ep("vpce-l", "pending", t0)}, "vpce-l"},
		{"rejected beats deleted", []types.VpcEndpoint{ep("vpce-d", "deleted", t2), ep("vpce-r", "rejected", t0)}, "vpce-r"},
		{"oldest live is canonical", []types.VpcEndpoint{ep("vpce-b", "available", t1), ep("vpce-a", "available", t2), ep("vpce-c", "available", t0)}, "vpce-c"},
		{"newest dead tells the latest story", []types.VpcEndpoint{ep("vpce-1", "deleted", t0), ep("vpce-2", "deleted", t2), ep("vpce-3", "deleted", t1)}, "vpce-2"},
		{"same second: lowest id", []types.VpcEndpoint{ep("vpce-b", "available", t0), ep("vpce-a", "available", t0)}, "vpce-a"},
		{"missing time counts as newest", []types.VpcEndpoint{ep("vpce-a", "available", time.Time{}), ep("vpce-b", "available", t2)}, "vpce-b"},
		{"PascalCase state is live too", []types.VpcEndpoint{ep("vpce-d", "deleted", t2), ep("vpce-p", string(types.StateAvailable), t0)}, "vpce-p"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := best(tc.eps)
			if !ok || sdkaws.ToString(got.VpcEndpointId) != tc.want {
				t.Fatalf("best = %s, %v; want %s", sdkaws.ToString(got.VpcEndpointId), ok, tc.want)
			}
			// Order must not matter: every replica picks the same one.
			rev := make([]types.VpcEndpoint, len(tc.eps))
			for i, e := range tc.eps {
				rev[len(rev)-1-i] = e
			}
			if got, _ := best(rev); sdkaws.ToString(got.VpcEndpointId) != tc.want {
				t.Fatalf("best of the reversed list = %s, want %s", sdkaws.ToString(got.VpcEndpointId), tc.want)
			}
		})
	}
	if _, ok := best(nil); ok {
		t.Error("best(nil) reported an endpoint")
	}
}

func TestObservation(t *testing.T) {
	b := &Backend{log: zap.NewNop()}
	e := ep("vpce-0abc", "pendingAcceptance", time.Time{})
	e.DnsEntries = dns("vpce-0abc-xyz.vpce-svc-1.eu-west-1.vpce.amazonaws.com")
	e.Tags = []types.Tag{{Key: sdkaws.String(connstate.ReadySinceTag), Value: sdkaws.String("2026-02-03T04:05:06+01:00")}}
	obs := b.observation(e, "eu-west-1")
	want := connstate.Observation{
		EndpointID: "vpce-0abc",
		State:      "pendingAcceptance",
		DNSName:    "vpce-0abc-xyz.vpce-svc-1.eu-west-1.vpce.amazonaws.com",
		ReadySince: time.Date(2026, 2, 3, 3, 5, 6, 0, time.UTC),
	}
	if obs != want {
		t.Fatalf("observation = %+v, want %+v", obs, want)
	}
	if r, ok := b.regionOf.Load("vpce-0abc"); !ok || r != "eu-west-1" {
		t.Errorf("region not remembered: %v", r)
	}
}

func TestClientToken(t *testing.T) {
	a := clientToken("vpc-1", "svc", "orders", nil)
	if len(a) != 64 {
		t.Fatalf("token %q is %d characters, want 64", a, len(a))
	}
	if a != clientToken("vpc-1", "svc", "orders", []string{}) {
		t.Error("nil and empty dead lists differ")
	}
	for name, other := range map[string]string{
		"vpc":     clientToken("vpc-2", "svc", "orders", nil),
		"service": clientToken("vpc-1", "svc2", "orders", nil),
		"name":    clientToken("vpc-1", "svc", "orders2", nil),
		"dead":    clientToken("vpc-1", "svc", "orders", []string{"vpce-1"}),
		// The separator keeps field boundaries: "svc"+"orders" != "svco"+"rders".
		"boundary": clientToken("vpc-1", "svco", "rders", nil),
	} {
		if other == a {
			t.Errorf("changing the %s does not change the token", name)
		}
	}
	if clientToken("v", "s", "n", []string{"vpce-2", "vpce-1"}) != clientToken("v", "s", "n", []string{"vpce-1", "vpce-2"}) {
		t.Error("token depends on the order of the dead endpoints")
	}
}
