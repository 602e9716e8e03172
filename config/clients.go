package config

import (
	"bytes"
	"fmt"
	"math"
	"net/netip"
	"strings"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/net/http/httpguts"
)

// Client is one proxy client identity (`clients[]`): how callgate
// recognises it and which named credentials it may use. At least one of
// Username, Token and CIDRs is set.
type Client struct {
	Name string
	// Username is the Basic Proxy-Authorization user; "" means no Basic.
	// With a Username exactly one of PasswordHash and Password is set.
	Username string
	// PasswordHash is the bcrypt hash from basic.password_hash.
	PasswordHash string
	// Password is the content of basic.password_file, read at load (one
	// trailing line break dropped); PasswordFile is its resolved path.
	Password     SecretValue
	PasswordFile string
	// Token is the content of token_file, read at load (surrounding space
	// dropped), for `Proxy-Authorization: Bearer`; nil means none.
	Token     SecretValue
	TokenFile string
	// CIDRs recognise the client by source address (a bare IP is a
	// single-address prefix); nil means none.
	CIDRs []netip.Prefix
	// Permit names the named credentials the client may use; each exists.
	Permit []string
}

// CredentialLimits cap each named credential on its own; 0 is no cap.
type CredentialLimits struct {
	MaxTunnels  int64
	MaxRequests int64
}

// Rate is a per-client token bucket; RequestsPerSecond 0 is no cap.
type Rate struct {
	RequestsPerSecond float64
	Burst             int // at least 1 when RequestsPerSecond is set
}

// SecretValue is a secret read from a file at load. It prints and
// marshals as "[redacted]", so a logged or printed Config never shows it.
type SecretValue []byte

const redacted = "[redacted]"

func (SecretValue) String() string { return redacted }

// GoString keeps %#v (and test failure output) from printing the bytes.
func (SecretValue) GoString() string { return `config.SecretValue("` + redacted + `")` }

// MarshalText keeps encoders (JSON, YAML, zap) from printing the bytes.
func (SecretValue) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// DefaultRealm is proxy_auth.realm when the file leaves it out.
const DefaultRealm = "callgate"

// maxBcryptCost bounds password_hash's cost: each first verification of a
// password runs bcrypt once, and cost 15 already takes seconds.
const maxBcryptCost = 14

// minTokenLen keeps guessable bearer tokens out.
const minTokenLen = 16

// clients compiles `clients:` and `proxy_auth:`. creds is nil when the
// named credential list could not be decoded (permit is not judged then).
func (c *compiler) clients(raw []rawClient, pa rawProxyAuth, creds []NamedCredential) ([]Client, ProxyAuth) {
	auth := c.proxyAuth(pa)
	const list = "clients"
	if !c.complete(list, len(raw)) {
		return nil, auth
	}
	var known map[string]bool
	if creds != nil && len(raw) > 0 {
		known = make(map[string]bool, len(creds))
		for _, nc := range creds {
			known[nc.Name] = true
		}
	}
	var out []Client
	names := make(map[string]int, len(raw))
	users := make(map[string]int, len(raw))
	tokens := make(map[string]int, len(raw))
	prefixes := make(map[netip.Prefix]string, len(raw))
	canAuth := false
	for i, r := range raw {
		p := fmt.Sprintf("%s[%d]", list, i)
		cl := Client{Name: r.Name, Permit: r.Permit}
		c.uniqueName(list, i, r.Name, names)
		if r.Basic != nil {
			c.clientBasic(p+".basic", *r.Basic, &cl)
			if cl.Username != "" {
				if j, dup := users[cl.Username]; dup {
					c.errorf(p+".basic.username", ErrDuplicate, "%q is also the username of %s[%d]", cl.Username, list, j)
				}
				users[cl.Username] = i
			}
			canAuth = true
		}
		if r.TokenFile != "" {
			cl.TokenFile = c.resolvePath(r.TokenFile)
			cl.Token = c.clientToken(p+".token_file", cl.TokenFile)
			if cl.Token != nil {
				// The message names the other client, never the token.
				if j, dup := tokens[string(cl.Token)]; dup {
					c.errorf(p+".token_file", ErrDuplicate, "holds the same token as %s[%d].token_file; each client needs its own", list, j)
				}
				tokens[string(cl.Token)] = i
			}
			canAuth = true
		}
		if c.complete(p+".cidrs", len(r.CIDRs)) {
			for k, s := range r.CIDRs {
				key := fmt.Sprintf("%s.cidrs[%d]", p, k)
				pfx, ok := c.cidr(key, s)
				if !ok {
					continue
				}
				if other, dup := prefixes[pfx]; dup {
					c.errorf(key, ErrDuplicate, "%s is also a prefix of %s; an address must name one client", pfx, other)
				}
				prefixes[pfx] = p
				cl.CIDRs = append(cl.CIDRs, pfx)
			}
		}
		if r.Basic == nil && r.TokenFile == "" && len(r.CIDRs) == 0 {
			c.errorf(p, ErrMissing, "client %q: set basic, token_file or cidrs, so callgate can recognise it", r.Name)
		}
		c.permit(p+".permit", r.Name, r.Permit, known)
		out = append(out, cl)
	}
	if pa.Required && !canAuth {
		c.errorf("proxy_auth.required", ErrInvalid, "no entry of clients has basic or token_file, so no client could authenticate")
	}
	return out, auth
}

// clientBasic checks basic: {username, password_hash | password_file}.
func (c *compiler) clientBasic(p string, r rawClientBasic, cl *Client) {
	switch {
	case r.Username == "":
		c.errorf(p+".username", ErrMissing, "a username is required")
	case strings.Contains(r.Username, ":"):
		c.errorf(p+".username", ErrInvalid, "a Basic username cannot contain ':' (RFC 7617 §2)")
	case !httpguts.ValidHeaderFieldValue(r.Username):
		c.errorf(p+".username", ErrInvalid, "the username holds control characters")
	default:
		cl.Username = r.Username
	}
	switch {
	case r.PasswordHash != "" && r.PasswordFile != "":
		c.errorf(p, ErrInvalid, "set password_hash or password_file, not both")
	case r.PasswordHash == "" && r.PasswordFile == "":
		c.errorf(p, ErrMissing, "set password_hash (bcrypt) or password_file")
	case r.PasswordHash != "":
		// The hash is not quoted in messages: it can be attacked offline.
		cost, err := bcrypt.Cost([]byte(r.PasswordHash))
		switch {
		case err != nil:
			c.errorf(p+".password_hash", ErrInvalid, "not a bcrypt hash ($2a$, $2b$ or $2y$; e.g. from htpasswd -nbB)")
		case cost > maxBcryptCost:
			c.errorf(p+".password_hash", ErrInvalid, "bcrypt cost %d is above %d: each first verification would take seconds", cost, maxBcryptCost)
		default:
			cl.PasswordHash = r.PasswordHash
		}
	default:
		cl.PasswordFile = c.resolvePath(r.PasswordFile)
		if b, ok := c.readSecret(p+".password_file", "password file", cl.PasswordFile); ok {
			b = bytes.TrimSuffix(b, []byte("\n"))
			b = bytes.TrimSuffix(b, []byte("\r"))
			if len(bytes.TrimSpace(b)) == 0 {
				// Blanks alone are an emptied file, not a password.
				c.errorf(p+".password_file", ErrFile, "password file %q is empty", cl.PasswordFile)
			} else {
				cl.Password = b
			}
		}
	}
}

// clientToken reads and checks a bearer token file.
func (c *compiler) clientToken(key, path string) SecretValue {
	b, ok := c.readSecret(key, "token file", path)
	if !ok {
		return nil
	}
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0:
		c.errorf(key, ErrFile, "token file %q is empty", path)
	case len(b) < minTokenLen:
		c.errorf(key, ErrFile, "token file %q: the token is shorter than %d characters", path, minTokenLen)
	case !isB64Token(b):
		c.errorf(key, ErrFile, "token file %q: a bearer token holds only letters, digits and -._~+/ with trailing '=' (RFC 6750 §2.1)", path)
	default:
		return b
	}
	return nil
}

// readSecret reads a small secret file; errors name the file, never its content.
func (c *compiler) readSecret(key, what, path string) ([]byte, bool) {
	if !c.checkReadable(key, what, path) {
		return nil, false
	}
	b, err := readSmall(path)
	if err != nil {
		c.errorf(key, ErrFile, "%s %q: %v", what, path, err)
		return nil, false
	}
	return b, true
}

// cidr parses a prefix, or a bare address as a single-address prefix.
// IPv4-mapped IPv6 forms are written as IPv4, as source addresses are.
func (c *compiler) cidr(key, s string) (netip.Prefix, bool) {
	if strings.Contains(s, "%") {
		c.errorf(key, ErrInvalid, "%q: a zone is not allowed", s)
		return netip.Prefix{}, false
	}
	var pfx netip.Prefix
	if a, err := netip.ParseAddr(s); err == nil {
		pfx = netip.PrefixFrom(a, a.BitLen())
	} else if pfx, err = netip.ParsePrefix(s); err != nil {
		c.errorf(key, ErrInvalid, "%q is not a CIDR prefix (10.0.0.0/8, fd00::/8) or an IP address", s)
		return netip.Prefix{}, false
	}
	if pfx.Masked() != pfx {
		c.errorf(key, ErrInvalid, "%q has bits set past the prefix length; write %s", s, pfx.Masked())
		return netip.Prefix{}, false
	}
	if pfx.Addr().Is4In6() && pfx.Bits() >= 96 {
		pfx = netip.PrefixFrom(pfx.Addr().Unmap(), pfx.Bits()-96)
	}
	return pfx, true
}

// permit checks that a client permits at least one named credential and
// only existing ones. known is nil when the named credentials are broken.
func (c *compiler) permit(key, client string, names []string, known map[string]bool) {
	if len(names) == 0 {
		c.errorf(key, ErrMissing, "client %q: list the named credentials it may use", client)
		return
	}
	if !c.complete(key, len(names)) {
		return
	}
	seen := make(map[string]int, len(names))
	for i, n := range names {
		k := fmt.Sprintf("%s[%d]", key, i)
		if j, dup := seen[n]; dup {
			c.errorf(k, ErrDuplicate, "%q is listed twice (also %s[%d])", n, key, j)
		}
		seen[n] = i
		if known != nil && !known[n] {
			c.errorf(k, ErrReference, "no named credential is named %q", n)
		}
	}
}

// flowLimits checks the concurrency and rate keys of `limits:`.
func (c *compiler) flowLimits(r rawLimits) Limits {
	nonNeg := func(key string, v int) int64 {
		if v < 0 {
			c.errorf(key, ErrInvalid, "must not be negative (0 means no limit), got %d", v)
		}
		return int64(v)
	}
	l := Limits{
		MaxTunnels:  nonNeg("limits.max_tunnels", r.MaxTunnels),
		MaxRequests: nonNeg("limits.max_requests", r.MaxRequests),
		PerCredential: CredentialLimits{
			MaxTunnels:  nonNeg("limits.per_credential.max_tunnels", r.PerCredential.MaxTunnels),
			MaxRequests: nonNeg("limits.per_credential.max_requests", r.PerCredential.MaxRequests),
		},
		ClientRate: Rate{RequestsPerSecond: r.ClientRate.RequestsPerSecond, Burst: r.ClientRate.Burst},
	}
	rate := &l.ClientRate
	switch {
	case rate.RequestsPerSecond < 0 || math.IsNaN(rate.RequestsPerSecond) || math.IsInf(rate.RequestsPerSecond, 0):
		c.errorf("limits.client_rate.requests_per_second", ErrInvalid, "must be a finite number, 0 or more (0 means no limit)")
	case rate.Burst < 0:
		c.errorf("limits.client_rate.burst", ErrInvalid, "must not be negative, got %d", rate.Burst)
	case rate.RequestsPerSecond > 0 && rate.Burst == 0:
		// A burst of at least one second's worth, so a steady client at
		// the rate is never refused.
		rate.Burst = max(1, int(rate.RequestsPerSecond+0.999999))
	case rate.RequestsPerSecond == 0 && rate.Burst > 0:
		c.errorf("limits.client_rate.burst", ErrInvalid, "set requests_per_second too; a burst alone limits nothing")
	}
	return l
}

func isPrintableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// isB64Token reports whether b is an RFC 6750 b64token.
func isB64Token(b []byte) bool {
	i := 0
	for ; i < len(b); i++ {
		ch := b[i]
		if 'a' <= ch && ch <= 'z' || 'A' <= ch && ch <= 'Z' || '0' <= ch && ch <= '9' || strings.IndexByte("-._~+/", ch) >= 0 {
			continue
		}
		break
	}
	if i == 0 {
		return false
	}
	for ; i < len(b); i++ {
		if b[i] != '=' {
			return false
		}
	}
	return true
}
