// Package tlslisten provides the TLS certificates of callgate's own
// listeners through certmagic: a certificate and key from files, re-read when
// they change, or certificates obtained and renewed over ACME.
package tlslisten

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"sync/atomic"

	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"
)

// Options selects the certificate source: CertFile+KeyFile, or ACME.
type Options struct {
	CertFile string
	KeyFile  string
	ACME     *ACME
	Logger   *zap.Logger // nil logs nothing
}

// ACME configures issuance and renewal.
type ACME struct {
	CA         string   // directory URL; "" is Let's Encrypt production
	Email      string   // account contact; may be empty
	Domains    []string // names to obtain certificates for; the first is the default for clients without SNI
	CARootFile string   // PEM roots that sign the ACME server's own TLS certificate (e.g. a private CA or Pebble); "" means system roots
	// StorageDir keeps accounts, keys and certificates; "" is certmagic's
	// default data directory.
	StorageDir string
	// ListenHost, HTTPPort and TLSALPNPort are where challenge solvers
	// listen; zero ports use 80 and 443.
	ListenHost  string
	HTTPPort    int
	TLSALPNPort int
}

// Provider hands out the current certificate. Safe for concurrent use.
type Provider struct {
	magic    *certmagic.Config
	cache    *certmagic.Cache
	fallback atomic.Pointer[tls.Certificate] // file mode: the last good pair, for clients without SNI
	fileHash string                          // certmagic's hash of the cached file pair; used only by the file-watch goroutine
	cancel   context.CancelFunc
	log      *zap.Logger
}

// New loads the files or obtains the ACME certificates before returning, so
// a listener never starts without a certificate.
func New(ctx context.Context, opts Options) (*Provider, error) {
	log := opts.Logger
	if log == nil {
		log = zap.NewNop()
	}
	hasFiles := opts.CertFile != "" || opts.KeyFile != ""
	switch {
	case hasFiles && opts.ACME != nil:
		return nil, errors.New("tls: set cert_file and key_file, or acme, not both")
	case !hasFiles && opts.ACME == nil:
		return nil, errors.New("tls: set cert_file and key_file, or acme")
	case hasFiles && (opts.CertFile == "" || opts.KeyFile == ""):
		return nil, errors.New("tls: cert_file and key_file go together")
	}
	p := &Provider{log: log}
	var magic *certmagic.Config
	p.cache = certmagic.NewCache(certmagic.CacheOptions{
		GetConfigForCert: func(certmagic.Certificate) (*certmagic.Config, error) { return magic, nil },
		Logger:           log,
	})
	magic = certmagic.New(p.cache, certmagic.Config{Logger: log})
	p.magic = magic
	ctx, p.cancel = context.WithCancel(ctx)
	var err error
	if hasFiles {
		err = p.startFiles(ctx, opts.CertFile, opts.KeyFile)
	} else {
		err = p.startACME(ctx, opts.ACME)
	}
	if err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

func (p *Provider) startACME(ctx context.Context, a *ACME) error {
	if len(a.Domains) == 0 {
		return errors.New("tls.acme.domains: at least one domain is required")
	}
	if a.StorageDir != "" {
		p.magic.Storage = &certmagic.FileStorage{Path: a.StorageDir}
	}
	issuer := certmagic.ACMEIssuer{
		CA: a.CA, Email: a.Email, Agreed: true,
		ListenHost: a.ListenHost, AltHTTPPort: a.HTTPPort, AltTLSALPNPort: a.TLSALPNPort,
		Logger: p.log,
	}
	if a.CARootFile != "" {
		pem, err := os.ReadFile(a.CARootFile)
		if err != nil {
			return fmt.Errorf("tls.acme.ca_root_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("tls.acme.ca_root_file %s: no PEM certificate in it", a.CARootFile)
		}
		issuer.TrustedRoots = pool
	}
	p.magic.Issuers = []certmagic.Issuer{certmagic.NewACMEIssuer(p.magic, issuer)}
	p.magic.DefaultServerName = a.Domains[0]
	if err := p.magic.ManageSync(ctx, a.Domains); err != nil {
		return fmt.Errorf("tls.acme: obtaining certificates for %v: %w", a.Domains, err)
	}
	return nil
}

// TLSConfig is the config for a listener: certmagic picks the certificate
// by SNI; clients without SNI (e.g. an IP address in HTTPS_PROXY) get the
// default one.
func (p *Provider) TLSConfig() *tls.Config {
	c := p.magic.TLSConfig()
	c.NextProtos = []string{"http/1.1"} // callgate's listeners speak HTTP/1.1 (CONNECT needs it)
	c.MinVersion = tls.VersionTLS12
	magicGet := c.GetCertificate
	c.GetCertificate = func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
		cert, err := magicGet(hello)
		if err == nil {
			return cert, nil
		}
		if fb := p.fallback.Load(); fb != nil {
			return fb, nil
		}
		return nil, err
	}
	return c
}

// Close stops watches and renewals.
func (p *Provider) Close() {
	if p.cancel != nil {
		p.cancel()
	}
	if p.cache != nil {
		p.cache.Stop()
	}
}
