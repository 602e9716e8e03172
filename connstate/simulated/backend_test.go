package simulated

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/callgate/callgate/connstate"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const svc = "com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0"

type clock struct{ ns atomic.Int64 }

func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

func newTest(t *testing.T, acceptance string) (*Backend, *clock) {
	t.Helper()
	clk := &clock{}
	clk.ns.Store(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	return New(Options{
		Acceptance: acceptance,
		Delays:     Delays{PendingAcceptance: 2 * time.Second, Pending: 3 * time.Second, Deleting: time.Second},
		Services:   map[string]string{svc: "127.0.0.1:9443"},
		Now:        clk.Now,
	}), clk
}

var spec = connstate.Spec{Name: "orders", ServiceName: svc, Region: "us-east-1"}

func state(t *testing.T, b *Backend, s connstate.Spec) (connstate.Observation, bool) {
	t.Helper()
	obs, err := b.Describe(context.Background(), []connstate.Spec{s})
	if err != nil {
		t.Fatal(err)
	}
	o, ok := obs[s.Name]
	return o, ok
}

func TestAutoAcceptanceTimeline(t *testing.T) {
	b, clk := newTest(t, "auto")
	if _, ok := state(t, b, spec); ok {
		t.Fatal("endpoint before Create")
	}
	created, err := b.Create(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	if created.State != "pendingAcceptance" {
		t.Fatalf("Create returned state %q", created.State)
	}
	for _, step := range []struct {
		advance time.Duration
		want    string
	}{
		{0, "pendingAcceptance"},
		{1999 * time.Millisecond, "pendingAcceptance"},
		{time.Millisecond, "pending"},
		{2999 * time.Millisecond, "pending"},
		{time.Millisecond, "available"},
		{time.Hour, "available"},
	} {
		clk.Advance(step.advance)
		o, ok := state(t, b, spec)
		if !ok || o.State != step.want || o.EndpointID != created.EndpointID {
			t.Fatalf("state %q (found %v), want %q", o.State, ok, step.want)
		}
	}
	// A long jump crosses several states at once.
	other := connstate.Spec{Name: "billing", ServiceName: svc, Region: "us-east-1"}
	if _, err := b.Create(context.Background(), other); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute)
	if o, _ := state(t, b, other); o.State != "available" {
		t.Fatalf("after a minute: %q", o.State)
	}
}

func TestManualAcceptanceAndRemoteActions(t *testing.T) {
	b, clk := newTest(t, "manual")
	created, err := b.Create(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Hour)
	if o, _ := state(t, b, spec); o.State != "pendingAcceptance" {
		t.Fatalf("manual acceptance moved on by itself: %q", o.State)
	}
	if err := b.Accept("nope"); !errors.Is(err, connstate.ErrNotFound) {
		t.Fatalf("Accept unknown: %v", err)
	}
	if err := b.Accept(created.EndpointID); err != nil { // by ID
		t.Fatal(err)
	}
	if err := b.Accept("orders"); !errors.Is(err, ErrInvalidState) {
		t.Fatalf("Accept while pending: %v", err)
	}
	clk.Advance(3 * time.Second)
	if o, _ := state(t, b, spec); o.State != "available" {
		t.Fatalf("after accept + pending delay: %q", o.State)
	}
	for _, tc := range []struct {
		do   func(string) error
		want string
	}{
		{b.Reject, "rejected"},
		{b.Accept, "pending"},
		{b.Fail, "failed"},
		{func(r string) error { return b.SetState(r, "pendingAcceptance") }, "pendingAcceptance"},
		{b.Expire, "expired"},
		{func(r string) error { return b.SetState(r, "deleted") }, "deleted"},
	} {
		if err := tc.do("orders"); err != nil {
			t.Fatalf("to %s: %v", tc.want, err)
		}
		if o, _ := state(t, b, spec); o.State != tc.want {
			t.Fatalf("state %q, want %q", o.State, tc.want)
		}
	}
	if err := b.DeleteRemotely("orders"); err != nil {
		t.Fatal(err)
	}
	if _, ok := state(t, b, spec); ok {
		t.Fatal("endpoint still there after DeleteRemotely")
	}
	if err := b.DeleteRemotely("orders"); !errors.Is(err, connstate.ErrNotFound) {
		t.Fatalf("second DeleteRemotely: %v", err)
	}
}

func TestCreateAdoptsDeleteAndTags(t *testing.T) {
	b, clk := newTest(t, "auto")
	ctx := context.Background()
	first, err := b.Create(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	second, err := b.Create(ctx, spec)
	if err != nil || second.EndpointID != first.EndpointID {
		t.Fatalf("second Create made %s (%v), want the existing %s", second.EndpointID, err, first.EndpointID)
	}
	if n := len(b.Endpoints()); n != 1 {
		t.Fatalf("%d endpoints", n)
	}
	e := b.Endpoints()[0]
	if e.Tags[connstate.ConnectionTag] != "orders" || e.Tags[connstate.ManagedByTag] != connstate.ManagedByValue {
		t.Fatalf("tags %v", e.Tags)
	}

	since := clk.Now().Add(1500 * time.Millisecond)
	if err := b.SetReadySince(ctx, first.EndpointID, since); err != nil {
		t.Fatal(err)
	}
	if o, _ := state(t, b, spec); !o.ReadySince.Equal(since) {
		t.Fatalf("ReadySince %v, want %v", o.ReadySince, since)
	}
	if err := b.SetReadySince(ctx, first.EndpointID, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if o, _ := state(t, b, spec); !o.ReadySince.IsZero() {
		t.Fatalf("ReadySince %v after clearing", o.ReadySince)
	}
	if err := b.SetReadySince(ctx, "vpce-0000", since); !errors.Is(err, connstate.ErrNotFound) {
		t.Fatalf("tag unknown endpoint: %v", err)
	}

	if err := b.Delete(ctx, spec, first.EndpointID); err != nil {
		t.Fatal(err)
	}
	if o, _ := state(t, b, spec); o.State != "deleting" {
		t.Fatalf("after Delete: %q", o.State)
	}
	if err := b.Delete(ctx, spec, first.EndpointID); err != nil {
		t.Fatalf("Delete while deleting: %v", err)
	}
	// While the old one is deleting, Create makes a new one.
	third, err := b.Create(ctx, spec)
	if err != nil || third.EndpointID == first.EndpointID {
		t.Fatalf("Create during deleting: %s, %v", third.EndpointID, err)
	}
	clk.Advance(time.Second)
	if o, ok := state(t, b, spec); !ok || o.EndpointID != third.EndpointID {
		t.Fatalf("after the old one is gone: %+v %v", o, ok)
	}
	if err := b.Delete(ctx, spec, first.EndpointID); err != nil {
		t.Fatalf("Delete of a gone endpoint: %v", err)
	}
}

func TestCreateErrors(t *testing.T) {
	b, _ := newTest(t, "auto")
	ctx := context.Background()
	if _, err := b.Create(ctx, connstate.Spec{Name: "x", ServiceName: "com.amazonaws.vpce.us-east-1.vpce-svc-0nope"}); !errors.Is(err, ErrInvalidService) {
		t.Fatalf("unknown service: %v", err)
	}
	adopted := spec
	adopted.AdoptedID = "vpce-0123"
	if _, err := b.Create(ctx, adopted); !errors.Is(err, ErrAdopted) {
		t.Fatalf("create adopted: %v", err)
	}
	if err := b.Delete(ctx, adopted, "vpce-0123"); !errors.Is(err, ErrAdopted) {
		t.Fatalf("delete adopted: %v", err)
	}
	slow := New(Options{Delays: Delays{Allocating: time.Hour}, Services: map[string]string{svc: "127.0.0.1:1"}})
	cctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := slow.Create(cctx, spec); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("cancelled create: %v", err)
	}
	if n := len(slow.Endpoints()); n != 0 {
		t.Fatalf("a cancelled create left %d endpoints", n)
	}
}

func TestAdoptedDescribe(t *testing.T) {
	b, _ := newTest(t, "auto")
	id := b.AddExternal(svc, "", "available")
	s := connstate.Spec{Name: "legacy", ServiceName: svc, AdoptedID: id}
	o, ok := state(t, b, s)
	if !ok || o.EndpointID != id || o.State != "available" {
		t.Fatalf("adopted: %+v %v", o, ok)
	}
	if e := b.Endpoints()[0]; e.Connection != "" || e.Region != "us-east-1" {
		t.Fatalf("external endpoint %+v", e)
	}
}

var dnsPattern = regexp.MustCompile(`^vpce-0[0-9a-f]{16}-[a-z0-9]{8}\.vpce-svc-0123456789abcdef0\.us-east-1\.vpce\.amazonaws\.com$`)

func TestDNSNamesAndResolveAddr(t *testing.T) {
	b, _ := newTest(t, "auto")
	o, err := b.Create(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	if !dnsPattern.MatchString(o.DNSName) || !regexp.MustCompile(`^vpce-0[0-9a-f]{16}$`).MatchString(o.EndpointID) {
		t.Fatalf("id %q dns %q do not look like AWS's", o.EndpointID, o.DNSName)
	}
	for _, name := range []string{o.DNSName, o.DNSName + ".", "VPCE" + o.DNSName[4:]} {
		if addr, ok := b.ResolveAddr(name); !ok || addr != "127.0.0.1:9443" {
			t.Fatalf("ResolveAddr(%q) = %q, %v", name, addr, ok)
		}
	}
	if _, ok := b.ResolveAddr("api.partner.example"); ok {
		t.Fatal("resolved a name that is no endpoint")
	}
	if err := b.DeleteRemotely("orders"); err != nil {
		t.Fatal(err)
	}
	if _, ok := b.ResolveAddr(o.DNSName); ok {
		t.Fatal("a gone endpoint still resolves")
	}
	if got := testing.AllocsPerRun(100, func() { b.ResolveAddr(o.DNSName) }); got != 0 {
		t.Fatalf("ResolveAddr allocates %v times", got)
	}
}

func TestInjectErrorAndCalls(t *testing.T) {
	b, _ := newTest(t, "auto")
	ctx := context.Background()
	throttled := fmt.Errorf("RequestLimitExceeded: %w", connstate.ErrThrottled)
	b.InjectError(OpDescribe, throttled, 2)
	for i := range 2 {
		if _, err := b.Describe(ctx, []connstate.Spec{spec}); !errors.Is(err, connstate.ErrThrottled) {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if _, err := b.Describe(ctx, []connstate.Spec{spec}); err != nil {
		t.Fatalf("third call: %v", err)
	}
	b.InjectError(OpWhoami, errors.New("ExpiredToken"), -1)
	for range 3 {
		if _, err := b.Whoami(ctx); err == nil {
			t.Fatal("Whoami did not fail")
		}
	}
	b.InjectError(OpWhoami, nil, 0)
	if arn, err := b.Whoami(ctx); err != nil || arn != CallerARN {
		t.Fatalf("Whoami = %q, %v", arn, err)
	}
	if b.Calls(OpDescribe) != 3 || b.Calls(OpWhoami) != 4 || b.Calls(OpCreate) != 0 {
		t.Fatalf("calls: describe %d whoami %d create %d", b.Calls(OpDescribe), b.Calls(OpWhoami), b.Calls(OpCreate))
	}
}

// CallsIn counts what the AWS backend would send per region: one listing
// per region a Describe covers, one more for its adopted endpoints there.
func TestCallsInPerRegion(t *testing.T) {
	b, _ := newTest(t, "auto")
	adopted := b.AddExternal(svc, "us-east-1", "available")
	specs := []connstate.Spec{
		spec, {Name: "orders2", ServiceName: svc, Region: "us-east-1"},
		{Name: "adopted", ServiceName: svc, Region: "us-east-1", AdoptedID: adopted},
		{Name: "west", ServiceName: svc, Region: "us-west-2"},
		{Name: "west2", ServiceName: svc, Region: "us-west-2"},
	}
	if _, err := b.Describe(context.Background(), specs); err != nil {
		t.Fatal(err)
	}
	for region, want := range map[string]int{"us-east-1": 2, "us-west-2": 1, "eu-west-1": 0} {
		if n := b.CallsIn(OpDescribe, region); n != want {
			t.Errorf("CallsIn(Describe, %s) = %d, want %d", region, n, want)
		}
	}
	if n := b.Calls(OpDescribe); n != 1 {
		t.Errorf("Calls(Describe) = %d, want 1 (one Backend call)", n)
	}
	if _, err := b.Create(context.Background(), connstate.Spec{Name: "west", ServiceName: svc, Region: "us-west-2"}); err != nil {
		t.Fatal(err)
	}
	if n, m := b.CallsIn(OpCreate, "us-west-2"), b.CallsIn(OpCreate, "us-east-1"); n != 1 || m != 0 {
		t.Errorf("creates: us-west-2 %d, us-east-1 %d; want 1, 0", n, m)
	}
}
