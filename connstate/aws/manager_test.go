package aws

import (
	"context"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/callgate/callgate/connstate"
	"github.com/callgate/callgate/internal/testwait"
)

// These tests run connstate's Manager on this backend against moto: the
// status machine meets EC2's real answers, e.g. moto listing a deleted
// endpoint for ever.

// runManager runs a Manager on b until the test ends. Steady statuses are
// polled only when the test syncs (see expectStatus), so a test can count
// the AWS calls of one cycle.
func runManager(t *testing.T, b connstate.Backend, conns ...connstate.Connection) *connstate.Manager {
	t.Helper()
	m := connstate.NewManager(b, connstate.Options{
		SyncInterval: time.Hour,
		FastInterval: 20 * time.Millisecond,
		BackoffBase:  20 * time.Millisecond,
		BackoffMax:   200 * time.Millisecond,
		Logger:       zaptest.NewLogger(t),
	})
	if err := m.Apply(conns); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	testwait.Until(t, 30*time.Second, "first sync", m.Ready)
	return m
}

func managed(name, region, service string) connstate.Connection {
	return connstate.Connection{Name: name, Type: "AwsPrivateLink", ServiceName: service, Region: region}
}

func do(t *testing.T, m *connstate.Manager, name string, a connstate.Action) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := m.Do(ctx, name, a); err != nil {
		t.Fatalf("%s %s: %v", a, name, err)
	}
}

// expectStatus waits until name has status want, syncing while its status
// is steady (the loop polls transitional ones by itself).
func expectStatus(t *testing.T, m *connstate.Manager, name string, want connstate.Status) connstate.View {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		v, _ := m.Get(name)
		if v.Status == want {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("connection %q: status %s (aws %q), want %s (last error %q)", name, v.Status, v.AWSState, want, v.LastError)
		}
		if v.Status.Provisioned() && !v.Status.Transitional() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			_ = m.Do(ctx, name, connstate.ActionSync)
			cancel()
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Issue 16: moto, like AWS for a while, keeps listing a deleted endpoint
// as "deleted". The teardown ends there; provision works at once and
// makes a second endpoint, with a ClientToken that names the dead one.
func TestManagerTeardownEndsAtDeleted(t *testing.T) {
	e := newEnv(t)
	m := runManager(t, e.b, managed("orders", testRegion, testService))

	do(t, m, "orders", connstate.ActionProvision)
	first := expectStatus(t, m, "orders", connstate.Ready)

	do(t, m, "orders", connstate.ActionTeardown)
	v := expectStatus(t, m, "orders", connstate.Unprovisioned)
	if v.VpcEndpointID != "" || v.AWSState != "" || v.EndpointDNS != "" {
		t.Fatalf("Unprovisioned after teardown shows an endpoint: %+v", v)
	}
	if st := string(e.endpoint(t, first.VpcEndpointID).State); st != "deleted" {
		t.Fatalf("moto lists the torn-down endpoint as %q, want deleted (the case under test)", st)
	}

	do(t, m, "orders", connstate.ActionProvision)
	second := expectStatus(t, m, "orders", connstate.Ready)
	if second.VpcEndpointID == "" || second.VpcEndpointID == first.VpcEndpointID {
		t.Fatalf("second provision uses endpoint %q, want a new one (first %s)", second.VpcEndpointID, first.VpcEndpointID)
	}
	token := e.front.LastForm("CreateVpcEndpoint").Get("ClientToken")
	if want := clientToken(e.vpc, testService, "orders", []string{first.VpcEndpointID}); token != want {
		t.Errorf("second ClientToken %q, want %q (names the dead endpoint)", token, want)
	}
	if n := e.calls("CreateVpcEndpoint", OutcomeSuccess); n != 2 {
		t.Errorf("%v CreateVpcEndpoint calls, want 2", n)
	}
}
