package proxy

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/callgate/callgate/connstate"
	"github.com/callgate/callgate/routing"
)

// fixedGate is a lock-free Gate over a map built once, the shape of
// connstate.Manager's read side, for the allocation test and benchmarks.
type fixedGate struct {
	m atomic.Pointer[map[string]connstate.Admission]
}

func newFixedGate(m map[string]connstate.Admission) *fixedGate {
	g := &fixedGate{}
	g.m.Store(&m)
	return g
}

func (g *fixedGate) Admit(name string) connstate.Admission { return (*g.m.Load())[name] }

func routeTestServer(tb testing.TB) (*Server, *state) {
	tb.Helper()
	table, err := routing.Compile([]routing.Credential{
		{Name: "Orders", URL: "https://api.partner.example:8443/v1", Connection: "partner"},
		{Name: "Plain", URL: "http://plain.partner.example", Connection: "partner"},
		{Name: "Bucher", URL: "https://bücher.example", Connection: "partner"},
	})
	if err != nil {
		tb.Fatal(err)
	}
	revoked := make(chan struct{})
	gate := newFixedGate(map[string]connstate.Admission{
		"partner": {Known: true, Status: connstate.Ready, Endpoint: "vpce-1.example.internal", Revoked: revoked},
	})
	s, err := New(Options{Gate: gate})
	if err != nil {
		tb.Fatal(err)
	}
	s.SetSnapshot(&Snapshot{Routes: table})
	return s, s.state.Load()
}

// TestHotPathAllocations: routing a client authority and asking the gate
// allocate nothing (the docs hot path: accept → route → gate).
func TestHotPathAllocations(t *testing.T) {
	s, st := routeTestServer(t)
	for _, authority := range []string{"api.partner.example:8443", "API.Partner.Example.:8443", "unknown.example:443"} {
		allocs := testing.AllocsPerRun(200, func() {
			var sum summary
			d, f := s.routeAuthority(authority, 0, st, &sum)
			if d != nil {
				_, f = s.admit(d)
			}
			_ = f
		})
		// The miss builds a refusal (one allocation for the struct); a hit
		// must not allocate at all.
		if authority != "unknown.example:443" && allocs != 0 {
			t.Errorf("%s: %v allocations per route+admit", authority, allocs)
		}
	}
}

// FuzzRouteAuthority: any authority either routes to a configured
// destination whose normalized host and port it names, or is refused;
// an IP literal never routes.
func FuzzRouteAuthority(f *testing.F) {
	for _, s := range []string{"api.partner.example:8443", "API.PARTNER.EXAMPLE.:8443", "127.0.0.1:443",
		"[::1]:443", "0x7f.1:80", "xn--bcher-kva.example:443", "bücher.example:443", ":443", "[::ffff:127.0.0.1]:80"} {
		f.Add(s)
	}
	s, st := routeTestServer(f)
	f.Fuzz(func(t *testing.T, authority string) {
		var sum summary
		sum.dm = s.unknown
		d, ref := s.routeAuthority(authority, 0, st, &sum)
		if (d == nil) == (ref == nil) {
			t.Fatalf("%q: destination %v and refusal %v", authority, d, ref)
		}
		if ref != nil {
			if ref.code != CodeUnknownDestination && ref.code != CodeBadRequest {
				t.Fatalf("%q: refusal code %v", authority, ref.code)
			}
			if ref.dest != nil {
				t.Fatalf("%q: refusal names a credential", authority)
			}
			return
		}
		host, port, err := routing.SplitHostPort(authority, 0)
		if err != nil {
			t.Fatalf("%q routed but does not split: %v", authority, err)
		}
		n, isIP, err := routing.NormalizeHost(host)
		if err != nil || isIP || n != d.Host || port != d.Port {
			t.Fatalf("%q routed to %s (normalized %q ip=%v err=%v)", authority, d.HostPort, n, isIP, err)
		}
		if _, perr := netip.ParseAddr(host); perr == nil {
			t.Fatalf("IP literal %q routed", authority)
		}
	})
}

func BenchmarkLookupGate(b *testing.B) {
	s, st := routeTestServer(b)
	for _, authority := range []string{"api.partner.example:8443", "API.Partner.Example.:8443"} {
		b.Run(authority, func(b *testing.B) {
			b.ReportAllocs()
			var sum summary
			for b.Loop() {
				d, f := s.routeAuthority(authority, 0, st, &sum)
				if f != nil {
					b.Fatal(f.message)
				}
				if _, f := s.admit(d); f != nil {
					b.Fatal(f.message)
				}
			}
		})
	}
}

func TestClassifyUpstream(t *testing.T) {
	op := func(err error) error { return &net.OpError{Op: "dial", Net: "tcp", Err: err} }
	cases := []struct {
		name string
		err  error
		want Code
		ps   string
	}{
		{"dns", op(&net.DNSError{Err: "no such host", Name: "x", IsNotFound: true}), CodeDNSError, ""},
		{"dns timeout", op(&net.DNSError{Err: "timeout", Name: "x", IsTimeout: true}), CodeDNSError, "dns_timeout"},
		{"hostname", fmt.Errorf("tls: %w", &tls.CertificateVerificationError{Err: x509.HostnameError{Host: "x"}}), CodeCertificateMismatch, ""},
		{"unknown authority", x509.UnknownAuthorityError{}, CodeCertificateMismatch, ""},
		{"expired", x509.CertificateInvalidError{Reason: x509.Expired}, CodeCertificateMismatch, ""},
		{"deadline", fmt.Errorf("dial: %w", context.DeadlineExceeded), CodeUpstreamTimeout, ""},
		{"net timeout", op(os.ErrDeadlineExceeded), CodeUpstreamTimeout, ""},
		{"refused", op(os.NewSyscallError("connect", syscall.ECONNREFUSED)), CodeUpstreamUnreachable, ""},
		{"unreachable", op(os.NewSyscallError("connect", syscall.EHOSTUNREACH)), CodeUpstreamUnreachable, "destination_ip_unroutable"},
		{"not tls", tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}, CodeUpstreamUnreachable, "tls_protocol_error"},
		{"eof", fmt.Errorf("read: %w", io.EOF), CodeUpstreamUnreachable, "connection_terminated"},
		{"other", errors.New("odd"), CodeUpstreamUnreachable, "proxy_internal_error"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, ps := classifyUpstream(tc.err)
			if code != tc.want || ps != tc.ps {
				t.Errorf("classifyUpstream(%v) = %v %q, want %v %q", tc.err, code, ps, tc.want, tc.ps)
			}
		})
	}
}
