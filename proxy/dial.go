package proxy

import (
	"context"
	"fmt"
	"net"

	"github.com/callgate/callgate/connstate"
	"github.com/callgate/callgate/routing"
)

// endpointAddr is where traffic for d goes: the endpoint DNS name that
// connstate reported for d's connection, at d's port. This is the only
// kind of address the data plane dials, never the URL's host nor an address a client sent.
func endpointAddr(endpoint string, d *routing.Destination) string {
	return routing.JoinHostPort(endpoint, d.Port)
}

// dialAddr dials "endpointDNS:port", first mapping the name through the
// snapshot's resolve overrides, within the dial timeout.
func (s *Server) dialAddr(ctx context.Context, snap *Snapshot, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("proxy: dial %s: %w", addr, err)
	}
	target := addr
	if snap.Resolve != nil {
		if name, _, nerr := routing.NormalizeHost(host); nerr == nil {
			if ip, ok := snap.Resolve.Lookup(name); ok {
				target = net.JoinHostPort(ip, port)
			}
		}
	}
	ctx, cancel := context.WithTimeout(ctx, s.t.Dial)
	defer cancel()
	c, err := s.dialer.DialContext(ctx, "tcp", target)
	if err != nil {
		return nil, fmt.Errorf("proxy: dial endpoint %s (%s): %w", addr, target, err)
	}
	return c, nil
}

// DialEndpoint opens a TCP connection to d's endpoint the way the data
// plane does (resolve overrides, Dialer, dial timeout), for checks such as
// the background certificate check. It needs d's connection to be Ready
// with an endpoint DNS name, warm or not; d should come from Snapshot().
func (s *Server) DialEndpoint(ctx context.Context, d *routing.Destination) (net.Conn, error) {
	a := s.gate.Admit(d.Connection)
	if !a.Known || a.Status != connstate.Ready {
		return nil, fmt.Errorf("%w: %s is %s", ErrNotReady, d.Connection, a.Status)
	}
	if a.Endpoint == "" {
		return nil, fmt.Errorf("%w: %s", ErrNoEndpoint, d.Connection)
	}
	return s.dialAddr(ctx, s.state.Load().snap, endpointAddr(a.Endpoint, d))
}
