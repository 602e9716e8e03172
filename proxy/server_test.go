package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"testing"
	"time"
)

func TestNewNeedsGate(t *testing.T) {
	if _, err := New(Options{}); !errors.Is(err, ErrNoGate) {
		t.Fatalf("New without a gate: %v", err)
	}
}

func TestTimeoutDefaults(t *testing.T) {
	got := Timeouts{Dial: time.Second}.withDefaults()
	want := Timeouts{
		HeaderRead: 10 * time.Second, Dial: time.Second, TLSHandshake: 10 * time.Second,
		ResponseHeader: 30 * time.Second, IdleTunnel: 5 * time.Minute, IdleConn: 90 * time.Second,
	}
	if got != want {
		t.Errorf("withDefaults = %+v, want %+v", got, want)
	}
}

// TestDialEndpoint: the certificate checker's dial goes where the data
// plane's would, and only for a Ready connection.
func TestDialEndpoint(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: real listeners")
	}
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	partner := e.srv.Snapshot().Routes.ByName("Partner")
	c, err := e.srv.DialEndpoint(ctx, partner)
	if err != nil {
		t.Fatal(err)
	}
	tc := tls.Client(c, partner.TLS)
	if err := tc.HandshakeContext(ctx); err != nil {
		t.Errorf("handshake with the endpoint: %v", err)
	}
	tc.Close()
	// A certificate for another host fails verification against the
	// credential's host.
	mismatch := e.srv.Snapshot().Routes.ByName("Mismatch")
	c, err = e.srv.DialEndpoint(ctx, mismatch)
	if err != nil {
		t.Fatal(err)
	}
	tc = tls.Client(c, mismatch.TLS)
	if err := tc.HandshakeContext(ctx); err == nil {
		t.Error("handshake with a mismatched certificate succeeded")
	} else if code, _ := classifyUpstream(err); code != CodeCertificateMismatch {
		t.Errorf("mismatch classified as %v: %v", code, err)
	}
	tc.Close()
	// Warming is fine for a check; not Ready is not.
	if c, err := e.srv.DialEndpoint(ctx, e.srv.Snapshot().Routes.ByName("Warming")); err != nil {
		t.Errorf("warming connection: %v", err)
	} else {
		c.Close()
	}
	if _, err := e.srv.DialEndpoint(ctx, e.srv.Snapshot().Routes.ByName("Pending")); !errors.Is(err, ErrNotReady) {
		t.Errorf("pending connection: %v", err)
	}
}
