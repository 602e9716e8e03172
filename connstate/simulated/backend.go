// Package simulated is an in-process connstate.Backend: VPC endpoints that
// move through AWS's states on configured delays, with the endpoint service
// owner's side (accept, reject, remote deletion, failures) driven by calls,
// and endpoint DNS names that lead to configured local addresses. It is the
// default backend (aws.mode: simulated), for the demo and the tests.
package simulated

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/callgate/callgate/connstate"
)

// Delays are how long each step of an endpoint's life takes.
// Zero steps are immediate.
type Delays struct {
	// Allocating is how long a Create call takes to return.
	Allocating time.Duration
	// PendingAcceptance is how long an auto-accepting service owner takes
	// to accept (pendingAcceptance → pending).
	PendingAcceptance time.Duration
	// Pending is how long an accepted endpoint takes to come up
	// (pending → available).
	Pending time.Duration
	// Deleting is how long a deleted endpoint stays in "deleting" before
	// it is gone.
	Deleting time.Duration
}

// Options configures a simulated Backend.
type Options struct {
	// Acceptance is "manual" to wait for Accept or Reject; anything else
	// (the default "auto") accepts after Delays.PendingAcceptance.
	Acceptance string
	Delays     Delays
	// Services maps a VPC endpoint service name to the "host:port" its
	// endpoints lead to. Create fails with ErrInvalidService for a service
	// not listed here.
	Services map[string]string
	// Region is used for specs with no region; "" means us-east-1.
	Region string
	// Now is the clock the state delays run on; nil means time.Now. The
	// Create call's Allocating delay always sleeps in real time.
	Now func() time.Time
}

// CallerARN is what Whoami answers.
const CallerARN = "arn:aws:iam::123456789012:role/callgate-simulated"

// Backend is the simulated AWS. Every method is safe for concurrent use;
// the zero value is not usable, use New.
type Backend struct {
	opts Options

	// addrs maps endpoint DNS names to service addresses, copied on write
	// so ResolveAddr (on the dial path) reads it without a lock.
	addrs atomic.Pointer[map[string]string]

	mu        sync.Mutex
	endpoints map[string]*endpoint // by endpoint ID
	created   uint64               // creation counter, orders endpoints
	faults    map[Op]*fault
	calls     map[Op]int
	// regionCalls counts calls per region as the AWS backend makes them
	// (see CallsIn).
	regionCalls map[regionOp]int
}

// New returns a simulated Backend with no endpoints.
func New(opts Options) *Backend {
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	b := &Backend{
		opts:      opts,
		endpoints: make(map[string]*endpoint),
		faults:    make(map[Op]*fault),
		calls:     make(map[Op]int),

		regionCalls: make(map[regionOp]int),
	}
	empty := map[string]string{}
	b.addrs.Store(&empty)
	return b
}

var _ connstate.Backend = (*Backend)(nil)

// Describe reports every spec's endpoint: the configured one for adopted
// specs, otherwise the newest endpoint tagged for the connection and
// service.
func (b *Backend) Describe(ctx context.Context, specs []connstate.Spec) (map[string]connstate.Observation, error) {
	if err := b.enter(ctx, OpDescribe); err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.advanceLocked()
	out := make(map[string]connstate.Observation, len(specs))
	listed := map[regionOp]bool{}
	for _, s := range specs {
		// One listing per region for the tagged endpoints and one for the
		// adopted IDs, as the AWS backend pages them.
		k := regionOp{OpDescribe, b.region(s.Region)}
		if s.AdoptedID != "" {
			k.op = OpDescribe + " by ID"
		}
		if !listed[k] {
			listed[k] = true
			b.regionCalls[regionOp{OpDescribe, k.region}]++
		}
		if e := b.findLocked(s); e != nil {
			out[s.Name] = e.observation()
		}
	}
	return out, nil
}

// Create takes Delays.Allocating, then returns the live endpoint already
// tagged for spec (as the real backend adopts one before creating) or a new
// one in pendingAcceptance.
func (b *Backend) Create(ctx context.Context, spec connstate.Spec) (connstate.Observation, error) {
	if err := b.enter(ctx, OpCreate); err != nil {
		return connstate.Observation{}, err
	}
	if spec.AdoptedID != "" {
		return connstate.Observation{}, fmt.Errorf("create %s for %q: %w", spec.AdoptedID, spec.Name, ErrAdopted)
	}
	if _, ok := b.opts.Services[spec.ServiceName]; !ok {
		return connstate.Observation{}, fmt.Errorf("create endpoint for %q: service %q: %w", spec.Name, spec.ServiceName, ErrInvalidService)
	}
	if d := b.opts.Delays.Allocating; d > 0 {
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return connstate.Observation{}, fmt.Errorf("create endpoint for %q: %w", spec.Name, ctx.Err())
		case <-t.C:
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.regionCalls[regionOp{OpCreate, b.region(spec.Region)}]++
	b.advanceLocked()
	if e := b.findLocked(spec); e != nil && liveState(e.state) {
		return e.observation(), nil
	}
	e := b.newEndpointLocked(spec.ServiceName, b.region(spec.Region), stPendingAcceptance)
	e.tags[connstate.ConnectionTag] = spec.Name
	e.tags[connstate.ManagedByTag] = connstate.ManagedByValue
	return e.observation(), nil
}

// Delete starts deleting the endpoint; one already deleting or gone is not
// an error.
func (b *Backend) Delete(ctx context.Context, spec connstate.Spec, endpointID string) error {
	if err := b.enter(ctx, OpDelete); err != nil {
		return err
	}
	if spec.AdoptedID != "" {
		return fmt.Errorf("delete %s for %q: %w", endpointID, spec.Name, ErrAdopted)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.regionCalls[regionOp{OpDelete, b.region(spec.Region)}]++
	b.advanceLocked()
	e := b.endpoints[endpointID]
	if e == nil || e.state == stDeleting {
		return nil
	}
	e.set(stDeleting, b.opts.Now())
	b.advanceLocked() // a zero Deleting delay removes it at once
	return nil
}

// SetReadySince writes the ready-since tag (RFC 3339, UTC) or, for a zero
// time, removes it.
func (b *Backend) SetReadySince(ctx context.Context, endpointID string, since time.Time) error {
	if err := b.enter(ctx, OpTag); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.advanceLocked()
	e := b.endpoints[endpointID]
	if e == nil {
		return fmt.Errorf("tag %s: %w", endpointID, connstate.ErrNotFound)
	}
	b.regionCalls[regionOp{OpTag, e.region}]++
	if since.IsZero() {
		delete(e.tags, connstate.ReadySinceTag)
	} else {
		e.tags[connstate.ReadySinceTag] = since.UTC().Format(time.RFC3339Nano)
	}
	return nil
}

// Whoami returns CallerARN.
func (b *Backend) Whoami(ctx context.Context) (string, error) {
	if err := b.enter(ctx, OpWhoami); err != nil {
		return "", err
	}
	return CallerARN, nil
}

// ResolveAddr returns the service address that an endpoint DNS name leads
// to (the data plane dials it in simulated mode). It takes no lock.
func (b *Backend) ResolveAddr(dnsName string) (hostport string, ok bool) {
	m := *b.addrs.Load()
	if a, ok := m[dnsName]; ok {
		return a, true
	}
	a, ok := m[normalizeName(dnsName)]
	return a, ok
}

func (b *Backend) region(r string) string {
	if r == "" {
		return b.opts.Region
	}
	return r
}
