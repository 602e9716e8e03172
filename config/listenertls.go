package config

import (
	"fmt"
	"net/mail"
	"strings"

	"github.com/callgate/callgate/routing"
)

// listenerTLS checks TLS on callgate's own listeners: which listeners, and
// exactly one certificate source (files, or ACME) when there are any.
func (c *compiler) listenerTLS(r rawListenerTLS) ListenerTLS {
	t := ListenerTLS{
		Listeners: r.Listeners,
		CertFile:  c.resolvePath(r.CertFile),
		KeyFile:   c.resolvePath(r.KeyFile),
	}
	if c.complete("tls.listeners", len(r.Listeners)) {
		seen := make(map[string]bool, len(r.Listeners))
		for i, l := range r.Listeners {
			key := fmt.Sprintf("tls.listeners[%d]", i)
			if l != ListenerProxy && l != ListenerAdmin {
				c.errorf(key, ErrInvalid, "want %s or %s, got %q", ListenerProxy, ListenerAdmin, l)
			}
			if seen[l] {
				c.errorf(key, ErrDuplicate, "%q is listed twice", l)
			}
			seen[l] = true
		}
	}
	files := r.CertFile != "" || r.KeyFile != ""
	if len(r.Listeners) == 0 {
		// A certificate with no listener to serve it is a half-done edit.
		for _, k := range []struct {
			key string
			set bool
		}{{"tls.cert_file", r.CertFile != ""}, {"tls.key_file", r.KeyFile != ""}, {"tls.acme", r.ACME != nil}} {
			if k.set {
				c.errorf(k.key, ErrInvalid, "has no effect: tls.listeners is empty (list proxy and/or admin)")
			}
		}
		if r.ACME != nil {
			t.ACME = c.acme(*r.ACME)
		}
		return t
	}
	switch {
	case files && r.ACME != nil:
		c.errorf("tls.acme", ErrInvalid, "set either cert_file and key_file, or acme, not both")
	case !files && r.ACME == nil:
		c.errorf("tls.listeners", ErrMissing, "TLS listeners need a certificate: set tls.cert_file and tls.key_file, or tls.acme")
	}
	switch {
	case r.CertFile != "" && r.KeyFile == "":
		c.errorf("tls.key_file", ErrMissing, "tls.cert_file is set, so tls.key_file is required")
	case r.CertFile == "" && r.KeyFile != "":
		c.errorf("tls.cert_file", ErrMissing, "tls.key_file is set, so tls.cert_file is required")
	case r.CertFile != "":
		c.keyPair("tls.cert_file", "listener", t.CertFile, t.KeyFile)
	}
	if r.ACME != nil {
		t.ACME = c.acme(*r.ACME)
	}
	return t
}

func (c *compiler) acme(r rawACME) *ACME {
	a := &ACME{
		CA: r.CA, Email: r.Email, Domains: r.Domains,
		CARootFile: c.resolvePath(r.CARootFile), StorageDir: c.resolvePath(r.StorageDir),
		ListenHost: r.ListenHost, HTTPPort: r.HTTPPort, TLSALPNPort: r.TLSALPNPort,
	}
	for key, port := range map[string]int{"tls.acme.http_port": r.HTTPPort, "tls.acme.tls_alpn_port": r.TLSALPNPort} {
		if port < 0 || port > 65535 {
			c.errorf(key, ErrInvalid, "%d is not a port (0 means the standard one)", port)
		}
	}
	if r.CA != "" {
		c.httpURL("tls.acme.ca", r.CA, false, noURLCredentials)
	}
	if r.Email != "" {
		if _, err := mail.ParseAddress(r.Email); err != nil {
			c.errorf("tls.acme.email", ErrInvalid, "%q is not an email address", r.Email)
		}
	}
	if len(r.Domains) == 0 {
		c.errorf("tls.acme.domains", ErrMissing, "ACME needs at least one domain")
	}
	if c.complete("tls.acme.domains", len(r.Domains)) {
		seen := make(map[string]bool, len(r.Domains))
		for i, d := range r.Domains {
			key := fmt.Sprintf("tls.acme.domains[%d]", i)
			if strings.HasPrefix(d, "*.") {
				// Wildcards need the DNS-01 challenge, which needs a DNS
				// provider that callgate does not configure.
				c.errorf(key, ErrInvalid, "wildcard %q needs a DNS challenge, which callgate does not support", d)
				continue
			}
			n, isIP, err := routing.NormalizeHost(d)
			if err != nil || isIP {
				c.errorf(key, ErrInvalid, "%q is not a DNS name", d)
				continue
			}
			if seen[n] {
				c.errorf(key, ErrDuplicate, "%q is listed twice", d)
			}
			seen[n] = true
		}
	}
	if a.CARootFile != "" {
		c.certPool("tls.acme.ca_root_file", "ACME CA root file", a.CARootFile)
	}
	return a
}
