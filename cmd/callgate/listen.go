package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"

	"go.uber.org/zap"

	"github.com/callgate/callgate/config"
	"github.com/callgate/callgate/tlslisten"
)

// newTLSProvider returns the certificate source of callgate's own listeners,
// or nil when no listener serves TLS.
func newTLSProvider(ctx context.Context, cfg *config.Config, log *zap.Logger) (*tlslisten.Provider, error) {
	t := cfg.TLS
	if len(t.Listeners) == 0 {
		return nil, nil
	}
	opts := tlslisten.Options{CertFile: t.CertFile, KeyFile: t.KeyFile, Logger: log}
	if t.ACME != nil {
		opts.ACME = &tlslisten.ACME{
			CA: t.ACME.CA, Email: t.ACME.Email, Domains: t.ACME.Domains,
			CARootFile: t.ACME.CARootFile, StorageDir: t.ACME.StorageDir,
			ListenHost: t.ACME.ListenHost, HTTPPort: t.ACME.HTTPPort, TLSALPNPort: t.ACME.TLSALPNPort,
		}
	}
	p, err := tlslisten.New(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("tls: %w", err)
	}
	return p, nil
}

// listen opens one of callgate's own listeners (which is "proxy" or
// "admin"), wrapped in TLS when tls.listeners names it.
func listen(cfg *config.Config, which, addr string, certs *tlslisten.Provider) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen.%s %s: %w", which, addr, err)
	}
	if cfg.TLS.Enabled(which) && certs != nil {
		return tls.NewListener(ln, certs.TLSConfig()), nil
	}
	return ln, nil
}

// listenHost is the host part of a listen address as configured ("" when
// it has none or does not parse: the bound address still applies).
func listenHost(addr string) string {
	h, _, err := net.SplitHostPort(addr)
	if err != nil {
		return ""
	}
	return h
}
