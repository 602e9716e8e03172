package credauth

import (
	"context"
	"crypto/x509"
	"net"
)

// WithoutWatch turns off fsnotify so tests exercise the stat fallback alone.
func WithoutWatch(o Options) Options {
	o.noWatch = true
	return o
}

// WithTokenTransport makes the default token client trust roots and dial
// through dial, so tests reach a loopback endpoint by a name that is not
// loopback (an environment proxy is skipped for loopback).
func WithTokenTransport(o Options, roots *x509.CertPool, dial func(ctx context.Context, network, addr string) (net.Conn, error)) Options {
	o.tokenRoots, o.tokenDial = roots, dial
	return o
}
