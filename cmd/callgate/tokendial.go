package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/callgate/callgate/connstate"
	"github.com/callgate/callgate/proxy"
	"github.com/callgate/callgate/routing"
)

// errTokenGate: the token host is a named credential's host, and that
// credential's connection does not admit traffic now.
var errTokenGate = errors.New("token host's connection is not admitting traffic")

// tokenDialer opens the connections of OAuth 2.0 token requests
// (credauth.Options.TokenDialTLS). A token host that is a named
// credential's host:port is that credential's destination, so the request
// takes the credential's connection and its gate, as any traffic to it
// does: dialing the public name instead would leave the private path the
// config describes. Any other token host is dialed directly.
type tokenDialer struct {
	routes   func() *routing.Table // the current snapshot's
	gate     admitter
	endpoint func(context.Context, *routing.Destination) (net.Conn, error)
	direct   *tls.Dialer // ServerName is taken from the address
}

// admitter is the gate: connstate.Manager.
type admitter interface {
	Admit(string) connstate.Admission
}

func newTokenDialer(p *proxy.Server, gate admitter) *tokenDialer {
	return &tokenDialer{
		routes: func() *routing.Table {
			if s := p.Snapshot(); s != nil {
				return s.Routes
			}
			return nil
		},
		gate:     gate,
		endpoint: p.DialEndpoint,
		direct:   &tls.Dialer{Config: &tls.Config{MinVersion: tls.VersionTLS12}},
	}
}

// DialTLS returns a TLS connection to addr ("host:port" of a token URL)
// whose certificate is verified for host. Through a named credential's
// connection the credential's tls: settings (CA file, client certificate)
// apply, as on its callout form.
func (t *tokenDialer) DialTLS(ctx context.Context, network, addr string) (net.Conn, error) {
	d := t.destination(addr)
	if d == nil {
		return t.direct.DialContext(ctx, network, addr)
	}
	a := t.gate.Admit(d.Connection)
	if !a.Allowed() {
		return nil, fmt.Errorf("%w: %s is named credential %q, whose connection %q %s", errTokenGate, addr, d.Name, d.Connection, notAdmitting(a))
	}
	raw, err := t.endpoint(ctx, d)
	if err != nil {
		return nil, fmt.Errorf("token host %s, through named credential %q's connection %q: %w", addr, d.Name, d.Connection, err)
	}
	c := tls.Client(raw, d.TLS) // ServerName is the credential's host, which is the token host
	if err := c.HandshakeContext(ctx); err != nil {
		_ = raw.Close()
		return nil, fmt.Errorf("token host %s, through named credential %q's connection %q: TLS: %w", addr, d.Name, d.Connection, err)
	}
	return closeOnRevoke(c, a.Revoked), nil
}

// destination is the named credential whose host and port addr names,
// normalised as the data plane matches a client's host; nil for none.
func (t *tokenDialer) destination(addr string) *routing.Destination {
	host, port, err := routing.SplitHostPort(addr, 0)
	if err != nil {
		return nil
	}
	d, err := t.routes().LookupAuthority(host, port)
	if err != nil { // an IP literal, or a name routing could not hold
		return nil
	}
	return d
}

func notAdmitting(a connstate.Admission) string {
	switch {
	case !a.Known:
		return "is not configured"
	case a.Status != connstate.Ready:
		return "is " + a.Status.String()
	case a.Endpoint == "":
		return "has no endpoint address yet"
	default:
		return fmt.Sprintf("is warming up (%s left)", a.WarmupLeft.Round(time.Millisecond))
	}
}

// revocableConn closes when the Ready episode it was admitted in ends, as
// the data plane's tunnels do: an idle keep-alive token connection must
// not outlive its connection's gate.
type revocableConn struct {
	net.Conn
	closed chan struct{}
	once   sync.Once
}

func closeOnRevoke(c net.Conn, revoked <-chan struct{}) net.Conn {
	if revoked == nil {
		return c
	}
	rc := &revocableConn{Conn: c, closed: make(chan struct{})}
	go func() {
		select {
		case <-revoked:
			_ = c.Close()
		case <-rc.closed:
		}
	}()
	return rc
}

func (c *revocableConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return c.Conn.Close()
}
