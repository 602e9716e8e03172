package aws

import (
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/callgate/callgate/connstate"
)

// Describe covers managed and adopted specs of two regions with one paged
// DescribeVpcEndpoints per region for the managed ones and one for the
// adopted ones — not one per connection.
func TestDescribeOneCallPerRegion(t *testing.T) {
	e := newEnv(t)
	names := []string{"a", "b", "c"}
	created := map[string]connstate.Observation{}
	for _, n := range names {
		obs, err := e.b.Create(ctxT(t), spec(n))
		if err != nil {
			t.Fatal(err)
		}
		created[n] = obs
	}
	adoptedID := e.createUntagged(t, otherService)
	specs := []connstate.Spec{spec("a"), spec("b"), spec("c"), spec("never-provisioned"),
		{Name: "adopted", ServiceName: otherService, Region: testRegion, AdoptedID: adoptedID},
		{Name: "west", ServiceName: testService, Region: "us-west-2"},
	}

	before := e.front.Requests("DescribeVpcEndpoints")
	beforeMetric := e.calls("DescribeVpcEndpoints", OutcomeSuccess)
	got, err := e.b.Describe(ctxT(t), specs)
	if err != nil {
		t.Fatalf("Describe: %v", err)
	}
	// us-east-1: managed + adopted; us-west-2: managed.
	if n := e.front.Requests("DescribeVpcEndpoints") - before; n != 3 {
		t.Errorf("Describe sent %d DescribeVpcEndpoints, want 3 (2 regions, adopted by ID)", n)
	}
	if n := e.calls("DescribeVpcEndpoints", OutcomeSuccess) - beforeMetric; n != 3 {
		t.Errorf("metric counted %v DescribeVpcEndpoints successes, want 3", n)
	}
	for _, n := range names {
		if got[n].EndpointID != created[n].EndpointID || got[n].DNSName != created[n].DNSName {
			t.Errorf("%s: got %+v, created %+v", n, got[n], created[n])
		}
	}
	if got["adopted"].EndpointID != adoptedID || got["adopted"].DNSName == "" {
		t.Errorf("adopted: %+v, want endpoint %s with a DNS name", got["adopted"], adoptedID)
	}
	for _, missing := range []string{"never-provisioned", "west"} {
		if obs, ok := got[missing]; ok {
			t.Errorf("%s: got %+v, want no key", missing, obs)
		}
	}
	if len(got) != 4 {
		t.Errorf("Describe returned %d observations, want 4: %+v", len(got), got)
	}
}

// EC2 sends states in camelCase; the SDK's constants are PascalCase
// (aws-sdk-go-v2 #2864). Observation.State keeps the wire string and
// connstate.MapAWSState maps it.
func TestDescribeWireStates(t *testing.T) {
	e := newEnv(t)
	obs, err := e.b.Create(ctxT(t), spec("orders"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		wire string
		sdk  types.State
		want connstate.Status
	}{
		{"pendingAcceptance", types.StatePendingAcceptance, connstate.PendingAcceptance},
		{"pending", types.StatePending, connstate.PendingActivation},
		{"available", types.StateAvailable, connstate.Ready},
		{"rejected", types.StateRejected, connstate.RejectedRemotely},
		{"failed", types.StateFailed, connstate.RejectedRemotely},
		{"expired", types.StateExpired, connstate.RejectedRemotely},
		{"deleting", types.StateDeleting, connstate.TeardownInProgress},
		{"deleted", types.StateDeleted, connstate.DeletedRemotely},
	} {
		t.Run(tc.wire, func(t *testing.T) {
			e.setState(t, obs.EndpointID, tc.wire)
			got, err := e.b.Describe(ctxT(t), []connstate.Spec{spec("orders")})
			if err != nil {
				t.Fatal(err)
			}
			o, ok := got["orders"]
			if !ok {
				t.Fatal("endpoint not reported")
			}
			if o.State != tc.wire {
				t.Errorf("State = %q, want the wire string %q", o.State, tc.wire)
			}
			if tc.wire == "pendingAcceptance" && o.State == string(tc.sdk) {
				t.Errorf("State equals the SDK constant %q: the wire format is not camelCase", tc.sdk)
			}
			if st, ok := connstate.MapAWSState(o.State, false); !ok || st != tc.want {
				t.Errorf("MapAWSState(%q) = %v, %v; want %v", o.State, st, ok, tc.want)
			}
		})
	}
}

func TestSetReadySince(t *testing.T) {
	e := newEnv(t)
	obs, err := e.b.Create(ctxT(t), spec("orders"))
	if err != nil {
		t.Fatal(err)
	}
	since := time.Date(2026, 3, 4, 5, 6, 7, 890, time.FixedZone("X", 3600))
	if err := e.b.SetReadySince(ctxT(t), obs.EndpointID, since); err != nil {
		t.Fatalf("SetReadySince: %v", err)
	}
	if v, _ := tagValue(e.endpoint(t, obs.EndpointID).Tags, connstate.ReadySinceTag); v != "2026-03-04T04:06:07Z" {
		t.Errorf("tag = %q, want RFC 3339 UTC", v)
	}
	// Another replica, or this one after a restart, reads it back.
	replica, _ := e.backend(t, nil)
	got, err := replica.Describe(ctxT(t), []connstate.Spec{spec("orders")})
	if err != nil {
		t.Fatal(err)
	}
	if want := since.Truncate(time.Second).UTC(); !got["orders"].ReadySince.Equal(want) {
		t.Errorf("ReadySince = %v, want %v", got["orders"].ReadySince, want)
	}
	if err := replica.SetReadySince(ctxT(t), obs.EndpointID, time.Time{}); err != nil {
		t.Fatalf("clear: %v", err)
	}
	got, err = e.b.Describe(ctxT(t), []connstate.Spec{spec("orders")})
	if err != nil {
		t.Fatal(err)
	}
	if !got["orders"].ReadySince.IsZero() {
		t.Errorf("ReadySince = %v after clearing", got["orders"].ReadySince)
	}
	// A hand-edited tag is ignored (and logged), not fatal.
	if err := e.b.SetReadySince(ctxT(t), obs.EndpointID, since); err != nil {
		t.Fatal(err)
	}
	e.createTag(t, obs.EndpointID, connstate.ReadySinceTag, "yesterday")
	got, err = e.b.Describe(ctxT(t), []connstate.Spec{spec("orders")})
	if err != nil || !got["orders"].ReadySince.IsZero() {
		t.Errorf("unparsable tag: %+v, %v", got["orders"], err)
	}
	if e.logs.FilterMessage("ignoring unparsable ready-since tag").Len() == 0 {
		t.Error("unparsable tag not logged")
	}
}

func TestAdopted(t *testing.T) {
	e := newEnv(t)
	id := e.createUntagged(t, testService)
	adopted := connstate.Spec{Name: "partner", ServiceName: testService, Region: testRegion, AdoptedID: id}
	gone := connstate.Spec{Name: "gone", ServiceName: testService, Region: testRegion, AdoptedID: "vpce-0123456789abcdef0"}

	got, err := e.b.Describe(ctxT(t), []connstate.Spec{adopted})
	if err != nil {
		t.Fatal(err)
	}
	if got["partner"].EndpointID != id || got["partner"].State != "available" {
		t.Fatalf("adopted: %+v", got["partner"])
	}
	// EC2 fails a by-ID describe when one ID is missing; the others are
	// still reported and the missing one has no key.
	got, err = e.b.Describe(ctxT(t), []connstate.Spec{adopted, gone})
	if err != nil {
		t.Fatalf("Describe with a missing adopted endpoint: %v", err)
	}
	if got["partner"].EndpointID != id {
		t.Errorf("partner: %+v", got["partner"])
	}
	if _, ok := got["gone"]; ok {
		t.Errorf("gone: %+v, want no key", got["gone"])
	}
	// The ready-since tag works on adopted endpoints too.
	if err := e.b.SetReadySince(ctxT(t), id, time.Unix(1_700_000_000, 0)); err != nil {
		t.Fatal(err)
	}

	before := e.front.Requests("")
	if _, err := e.b.Create(ctxT(t), adopted); !errors.Is(err, ErrAdopted) {
		t.Errorf("Create(adopted) = %v, want ErrAdopted", err)
	}
	if err := e.b.Delete(ctxT(t), adopted, id); !errors.Is(err, ErrAdopted) {
		t.Errorf("Delete(adopted) = %v, want ErrAdopted", err)
	}
	if n := e.front.Requests("") - before; n != 0 {
		t.Errorf("refused Create/Delete sent %d requests", n)
	}
	if st := e.endpoint(t, id).State; st != "available" {
		t.Errorf("adopted endpoint is %q after the refused delete", st)
	}
}
