package main

import (
	"context"
	"errors"
	"net"
	"testing"

	"github.com/callgate/callgate/connstate/simulated"
)

// TestSimulatedDialerNeverQueriesDNSForEndpointNames: a simulated endpoint
// name the backend no longer knows fails as not-found without a lookup.
func TestSimulatedDialerNeverQueriesDNSForEndpointNames(t *testing.T) {
	d := simulatedDialer{sim: simulated.New(simulated.Options{}), next: &net.Dialer{
		Resolver: &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
			t.Errorf("a DNS query left the process for %s", address)
			return nil, errors.New("no DNS in this test")
		}},
	}}
	_, err := d.DialContext(context.Background(), "tcp",
		"vpce-0a1b2c3d4e5f60789-abcdefgh.vpce-svc-0123456789abcdef0.us-east-1.vpce.amazonaws.com:443")
	var dnsErr *net.DNSError
	if !errors.As(err, &dnsErr) || !dnsErr.IsNotFound {
		t.Fatalf("err = %v, want a not-found DNS error", err)
	}
}
