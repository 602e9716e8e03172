package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callgate/callgate/connstate"
	"github.com/callgate/callgate/routing"
)

const tdHost = "idp.partner.test"

// tdGate answers Admit with a settable Admission.
type tdGate struct {
	mu sync.Mutex
	a  connstate.Admission
}

func (g *tdGate) Admit(string) connstate.Admission {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.a
}

func (g *tdGate) set(a connstate.Admission) {
	g.mu.Lock()
	g.a = a
	g.mu.Unlock()
}

// tdFixture is a tokenDialer whose only named credential, IdP, is
// https://idp.partner.test:<port> on the connection "idp", and whose
// endpoint dial reaches the test server (as the simulated backend's
// endpoint name would).
type tdFixture struct {
	srv       *testUpstream // a TLS echo server for tdHost and 127.0.0.1
	gate      *tdGate
	d         *tokenDialer
	mu        sync.Mutex
	endpoints []string // named credentials dialed through their endpoint
}

func tdSetup(t *testing.T, credTLS *tls.Config) *tdFixture {
	t.Helper()
	f := &tdFixture{srv: startUpstream(t, upEcho(), upCert(nil, tdHost, "127.0.0.1")), gate: &tdGate{}}
	if credTLS == nil {
		credTLS = &tls.Config{RootCAs: f.srv.ca.Pool()}
	}
	routes, err := routing.Compile([]routing.Credential{{Name: "IdP", URL: "https://" + tdHost + ":" + f.srv.port, Connection: "idp", TLS: credTLS}})
	if err != nil {
		t.Fatal(err)
	}
	f.d = &tokenDialer{
		routes: func() *routing.Table { return routes },
		gate:   f.gate,
		endpoint: func(ctx context.Context, d *routing.Destination) (net.Conn, error) {
			f.mu.Lock()
			f.endpoints = append(f.endpoints, d.Name)
			f.mu.Unlock()
			var nd net.Dialer
			return nd.DialContext(ctx, "tcp", f.srv.addr)
		},
		// The direct path trusts the test CA; in callgate it has the system roots.
		direct: &tls.Dialer{Config: &tls.Config{RootCAs: f.srv.ca.Pool(), MinVersion: tls.VersionTLS12}},
	}
	return f
}

func (f *tdFixture) dialed() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.endpoints...)
}

func (f *tdFixture) dial(t *testing.T, addr string) (net.Conn, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := f.d.DialTLS(ctx, "tcp", addr)
	if err == nil {
		t.Cleanup(func() { _ = c.Close() })
	}
	return c, err
}

func ready(revoked chan struct{}) connstate.Admission {
	return connstate.Admission{Known: true, Status: connstate.Ready, Endpoint: "vpce-0abc.vpce-svc-0aaa.us-east-1.vpce.amazonaws.com", Revoked: revoked}
}

// echo checks that c carries bytes both ways.
func echo(t *testing.T, c net.Conn) {
	t.Helper()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("echo: %q, %v", buf, err)
	}
}

// TestTokenDialThroughNamedCredential: a token host that is a named
// credential's host:port (in any spelling routing matches) is dialed
// through that credential's endpoint while its connection admits
// traffic, with TLS verified for the token host under the credential's
// tls: settings.
func TestTokenDialThroughNamedCredential(t *testing.T) {
	f := tdSetup(t, nil)
	f.gate.set(ready(make(chan struct{})))
	for _, host := range []string{tdHost, "IDP.Partner.Test", tdHost + "."} {
		c, err := f.dial(t, net.JoinHostPort(host, f.srv.port))
		if err != nil {
			t.Fatalf("%s: %v", host, err)
		}
		echo(t, c)
	}
	if got := f.dialed(); len(got) != 3 {
		t.Errorf("endpoint dials %v, want IdP three times", got)
	}
	for n := range f.srv.serverNames() {
		if n != tdHost {
			t.Errorf("TLS server name %q, want %q", n, tdHost)
		}
	}
}

// TestTokenDialRefusedByGate: while the credential's connection does not
// admit traffic, the dial fails naming the credential, the connection and
// why, and nothing is dialed, neither the endpoint nor the public name.
func TestTokenDialRefusedByGate(t *testing.T) {
	f := tdSetup(t, nil)
	addr := net.JoinHostPort(tdHost, f.srv.port)
	for _, tc := range []struct {
		a    connstate.Admission
		want string
	}{
		{connstate.Admission{}, "is not configured"},
		{connstate.Admission{Known: true, Status: connstate.PendingAcceptance}, "is PendingAcceptance"},
		{connstate.Admission{Known: true, Status: connstate.Ready}, "has no endpoint address yet"},
		{connstate.Admission{Known: true, Status: connstate.Ready, Endpoint: "vpce.example", WarmupLeft: 3 * time.Second}, "is warming up (3s left)"},
	} {
		f.gate.set(tc.a)
		_, err := f.dial(t, addr)
		if !errors.Is(err, errTokenGate) || !strings.Contains(err.Error(), tc.want) ||
			!strings.Contains(err.Error(), `named credential "IdP"`) || !strings.Contains(err.Error(), `connection "idp"`) {
			t.Errorf("%+v: %v, want errTokenGate naming IdP, idp and %q", tc.a, err, tc.want)
		}
	}
	if got := f.dialed(); len(got) != 0 {
		t.Errorf("the endpoint was dialed: %v", got)
	}
	if got := f.srv.serverNames(); len(got) != 0 {
		t.Errorf("a TLS handshake reached the server: %v", got)
	}
}

// TestTokenDialDirect: a token host that is no named credential's is
// dialed directly, never through an endpoint.
func TestTokenDialDirect(t *testing.T) {
	f := tdSetup(t, nil)
	f.gate.set(ready(make(chan struct{})))
	c, err := f.dial(t, net.JoinHostPort("127.0.0.1", f.srv.port))
	if err != nil {
		t.Fatal(err)
	}
	echo(t, c)
	if got := f.dialed(); len(got) != 0 {
		t.Errorf("the endpoint was dialed: %v", got)
	}
}

// TestTokenDialVerifiesCertificate: through a named credential whose
// tls: settings do not trust the endpoint's CA, the handshake fails.
func TestTokenDialVerifiesCertificate(t *testing.T) {
	f := tdSetup(t, &tls.Config{}) // system roots: not the test CA
	f.gate.set(ready(make(chan struct{})))
	_, err := f.dial(t, net.JoinHostPort(tdHost, f.srv.port))
	var unknown x509.UnknownAuthorityError
	if err == nil || !strings.Contains(err.Error(), "TLS") || !errors.As(err, &unknown) {
		t.Errorf("dial: %v, want a TLS verification error", err)
	}
}

// TestTokenDialClosedOnRevoke: a token connection, even idle, is closed
// when the Ready episode it was admitted in ends.
func TestTokenDialClosedOnRevoke(t *testing.T) {
	f := tdSetup(t, nil)
	revoked := make(chan struct{})
	f.gate.set(ready(revoked))
	c, err := f.dial(t, net.JoinHostPort(tdHost, f.srv.port))
	if err != nil {
		t.Fatal(err)
	}
	echo(t, c)
	close(revoked)
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	// Closed here (net.ErrClosed), or the close_notify sent on closing
	// came back first (io.EOF); a timeout means it stayed open.
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) && !errors.Is(err, io.EOF) {
		t.Errorf("read after revocation: %v, want the connection closed", err)
	}
}
