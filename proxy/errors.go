package proxy

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
)

// Sentinel errors; check them with errors.Is.
var (
	// ErrNoGate: Options.Gate is nil; a proxy without a gate would let
	// every connection carry traffic.
	ErrNoGate = errors.New("proxy: Options.Gate is required")
	// ErrNotReady: DialEndpoint was asked for a named credential whose
	// connection is not Ready (or has no endpoint DNS name yet).
	ErrNotReady = errors.New("proxy: connection is not ready")
	// ErrNoEndpoint: the connection is Ready but connstate reported no
	// endpoint DNS name, so there is nothing callgate may dial.
	ErrNoEndpoint = errors.New("proxy: connection has no endpoint address")
	// ErrBadCalloutPath: a /callout/ path is malformed or tries to leave
	// the named credential's base path (a ".." segment, an encoded "/").
	ErrBadCalloutPath = errors.New("proxy: invalid callout path")
	// ErrResponseHeaderTooLarge: the endpoint's response header block
	// (with any 1xx responses before it) passed
	// Options.MaxResponseHeaderBytes.
	ErrResponseHeaderTooLarge = errors.New("proxy: endpoint response header block too large")
)

// classifyUpstream maps a dial, TLS or round-trip error to the docs/refusals.md row
// the client sees, plus the RFC 9209 error token when it is more precise
// than the row's default. Each test below looks through wrapping, so a
// Dialer or Transport that adds context does not change the answer.
func classifyUpstream(err error) (code Code, proxyStatus string) {
	var (
		hostErr  x509.HostnameError
		invalid  x509.CertificateInvalidError
		unknown  x509.UnknownAuthorityError
		verify   *tls.CertificateVerificationError
		dnsErr   *net.DNSError
		recHdr   tls.RecordHeaderError
		alertErr tls.AlertError
		netErr   net.Error
	)
	switch {
	case errors.Is(err, ErrResponseHeaderTooLarge), isTransportHeaderLimit(err):
		return CodeUpstreamHeaderTooLarge, ""
	case errors.As(err, &hostErr), errors.As(err, &invalid), errors.As(err, &unknown), errors.As(err, &verify):
		return CodeCertificateMismatch, ""
	case errors.As(err, &dnsErr):
		if dnsErr.IsTimeout {
			return CodeDNSError, "dns_timeout"
		}
		return CodeDNSError, ""
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return CodeUpstreamTimeout, ""
	case errors.Is(err, syscall.ECONNREFUSED):
		return CodeUpstreamUnreachable, ""
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return CodeUpstreamUnreachable, "destination_ip_unroutable"
	case isRemoteTLSAlert(err):
		// The endpoint refused the handshake with an alert, e.g.
		// "certificate required" when mTLS is missing (RFC 9209 §2.3.16).
		return CodeUpstreamUnreachable, "tls_alert_received"
	case errors.As(err, &recHdr), errors.As(err, &alertErr):
		// The endpoint answered, but not with an acceptable TLS server.
		return CodeUpstreamUnreachable, "tls_protocol_error"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return CodeUpstreamUnreachable, "connection_terminated"
	}
	return CodeUpstreamUnreachable, "proxy_internal_error"
}

// isRemoteTLSAlert reports an alert the peer sent: crypto/tls wraps it in a
// *net.OpError with Op "remote error" (its alert type is unexported).
func isRemoteTLSAlert(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "remote error"
}

// isTransportHeaderLimit recognises http.Transport's error for a response
// header block over MaxResponseHeaderBytes: it is not a typed error, so its
// fixed text is the only sign.
func isTransportHeaderLimit(err error) bool {
	return err != nil && strings.Contains(err.Error(), "server response headers exceeded")
}
