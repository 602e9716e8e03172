package config

import (
	"crypto/tls"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/callgate/callgate/internal/safeurl"
	"github.com/callgate/callgate/routing"
)

// namedCredentials compiles named_credentials. connRegions (nil when the
// connection list itself is broken) resolves outbound_network_connection.
func (c *compiler) namedCredentials(raw []rawNamedCredential, connRegions map[string]string) []NamedCredential {
	const list = "named_credentials"
	if !c.complete(list, len(raw)) {
		return nil
	}
	out := make([]NamedCredential, 0, len(raw))
	names := make(map[string]int, len(raw))
	dests := make(map[string]int, len(raw)) // canonical host:port → index
	// Keys are built only when needed: for an error, or a tls or auth block.
	key := func(i int, field string) string { return list + "[" + strconv.Itoa(i) + "]" + field }
	for i, r := range raw {
		nc := NamedCredential{Credential: routing.Credential{Name: r.Name, URL: r.URL, Connection: r.OutboundNetworkConnection}}
		c.uniqueName(list, i, r.Name, names)
		dest := c.destination(func() string { return key(i, ".url") }, r.URL)
		if dest != nil {
			// routing.Compile takes the parsed URL instead of parsing it again.
			nc.Parsed = dest
			if j, dup := dests[dest.HostPort]; dup {
				// A CONNECT names only host:port, so it could not tell them apart.
				other := raw[j]
				c.errorf(key(i, ".url"), ErrDuplicate, "%s is the same destination (%s) as named credential %q at %s[%d].url (line %d, %s)",
					r.URL, dest.HostPort, other.Name, list, j, c.ix.line(key(j, ".url")), other.URL)
			} else {
				dests[dest.HostPort] = i
			}
		}
		region := ""
		switch conn := r.OutboundNetworkConnection; {
		case conn == "":
			c.errorf(key(i, ".outbound_network_connection"), ErrMissing, "the name of the outbound connection that carries it is required")
		case connRegions != nil:
			if reg, ok := connRegions[conn]; ok {
				region = reg
			} else {
				c.errorf(key(i, ".outbound_network_connection"), ErrReference, "no outbound connection is named %q (configured: %s)", conn, knownNames(connRegions))
			}
		}
		if r.TLS != nil {
			nc.CAFile, nc.ClientCertFile, nc.ClientKeyFile, nc.TLS = c.credentialTLS(key(i, ".tls"), r.Name, *r.TLS, dest)
		}
		if r.Auth != nil {
			nc.Auth = c.auth(key(i, ".auth"), r.Name, *r.Auth, region)
		}
		out = append(out, nc)
	}
	return out
}

// destination parses a named credential URL the way routing will, so the
// config refuses exactly what routing.Compile would.
func (c *compiler) destination(key func() string, raw string) *routing.Destination {
	if raw == "" {
		c.errorf(key(), ErrMissing, "a URL http(s)://host[:port][/base/path] is required")
		return nil
	}
	if u, err := url.Parse(raw); err == nil && u.User != nil {
		// routing refuses it too; this says where a credential belongs,
		// and quotes the URL redacted, as routing's errors do.
		c.errorf(key(), ErrInvalid, "%q: the URL must not contain userinfo (a user name or password); put credentials in auth:", safeurl.Redact(raw))
		return nil
	}
	d, err := routing.ParseDestination(raw)
	if err != nil {
		c.errorf(key(), ErrInvalid, "%v", err)
		return nil
	}
	if _, isIP, _ := routing.NormalizeHost(d.Host); isIP {
		// Clients name hosts and TLS verifies a host; an IP literal never matches.
		c.errorf(key(), ErrInvalid, "%q: the host must be a DNS name, not an IP address", safeurl.Redact(raw))
		return nil
	}
	return d
}

// credentialTLS checks and loads the files of a named credential's tls:
// block into the client config for the callout form. The returned
// *tls.Config is nil when no file is set (system roots, no client cert).
func (c *compiler) credentialTLS(p, name string, r rawCredentialTLS, dest *routing.Destination) (caFile, certFile, keyFile string, cfg *tls.Config) {
	caFile, certFile, keyFile = c.resolvePath(r.CAFile), c.resolvePath(r.ClientCertFile), c.resolvePath(r.ClientKeyFile)
	if dest != nil && dest.Scheme != routing.HTTPS && (caFile != "" || certFile != "" || keyFile != "") {
		c.errorf(p, ErrInvalid, "named credential %q: tls applies only to https URLs", name)
	}
	what := fmt.Sprintf("named credential %q:", name)
	if caFile != "" {
		if pool := c.certPool(p+".ca_file", what+" CA file", caFile); pool != nil {
			cfg = &tls.Config{RootCAs: pool}
		}
	}
	switch {
	case certFile != "" && keyFile == "":
		c.errorf(p+".client_key_file", ErrMissing, "client_cert_file is set, so client_key_file is required")
	case certFile == "" && keyFile != "":
		c.errorf(p+".client_cert_file", ErrMissing, "client_key_file is set, so client_cert_file is required")
	case certFile != "":
		if cert, ok := c.keyPair(p+".client_cert_file", what+" client", certFile, keyFile); ok {
			if cfg == nil {
				cfg = &tls.Config{}
			}
			cfg.Certificates = []tls.Certificate{cert}
		}
	}
	if cfg != nil {
		cfg.MinVersion = tls.VersionTLS12
	}
	return caFile, certFile, keyFile, cfg
}

func knownNames(m map[string]string) string {
	if len(m) == 0 {
		return "none"
	}
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}
