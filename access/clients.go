package access

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"sort"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Client is one proxy client identity (the config's `clients:`): how it is
// recognised and which named credentials it may use. A client is
// recognised by any of its methods: Basic or Bearer Proxy-Authorization,
// or, when the request carries no Proxy-Authorization, its source address.
type Client struct {
	// Name identifies the client in logs and refusal messages; required.
	Name string
	// Username is the Basic Proxy-Authorization user; "" means the client
	// has no Basic credentials.
	Username string
	// PasswordHash is the bcrypt hash of the Basic password. With a
	// Username, exactly one of PasswordHash and Password is set.
	PasswordHash []byte
	// Password is the Basic password itself (read from a file). Only its
	// SHA-256 is kept after NewClients.
	Password []byte
	// Token is the `Proxy-Authorization: Bearer` token; nil means none.
	// Only its SHA-256 is kept after NewClients.
	Token []byte
	// CIDRs recognise the client by source address; nil means none. When
	// several clients' prefixes hold an address, the longest prefix wins.
	CIDRs []netip.Prefix
	// Permit names the named credentials the client may use. A name that
	// no named credential has permits nothing.
	Permit []string
}

// ProxyAuth says what happens to a request that no client matches.
type ProxyAuth struct {
	// Required answers such a request 407 with a Proxy-Authenticate
	// challenge; false answers 403 not_permitted (setups that recognise
	// clients by source address only).
	Required bool
	// Realm is the challenge's realm; "" means "callgate".
	Realm string
	// Throttle bounds failed authentication; the zero value does not.
	Throttle AuthThrottle
	// BcryptWait bounds the wait for a bcrypt slot: an attempt that gets
	// none in time is refused 503 instead of queueing behind a flood of
	// wrong passwords; 0 means DefaultBcryptWait.
	BcryptWait time.Duration
}

// DefaultRealm is the Proxy-Authenticate realm when ProxyAuth.Realm is "".
const DefaultRealm = "callgate"

// ErrBadClients: NewClients was given an ambiguous or malformed client
// list (a user or token shared by two clients, a bad hash).
var ErrBadClients = errors.New("access: invalid client list")

// Clients is a compiled client list, part of the proxy's snapshot:
// immutable, read without locks. A nil *Clients lets every client use
// every named credential (no client list configured).
type Clients struct {
	byUser    map[string]*Identity
	byToken   map[[sha256.Size]byte]*Identity
	cidrs     []cidrEntry // longest prefix first
	required  bool
	challenge []string // Proxy-Authenticate values of a 407
	throttle  AuthThrottle
	wait      time.Duration // BcryptWait, defaulted
}

// Identity is one compiled Client, what a request was recognised as.
// Plaintext secrets are not kept.
type Identity struct {
	name     string
	bcrypt   []byte            // bcrypt hash, or nil
	password [sha256.Size]byte // SHA-256 of the plaintext password, when bcrypt is nil
	permit   map[string]struct{}
}

type cidrEntry struct {
	prefix netip.Prefix
	c      *Identity
}

// NewClients compiles list. The config has already validated it; the
// checks here keep a caller that builds clients by hand from an ambiguous
// list (a user or token shared by two clients).
func NewClients(list []Client, auth ProxyAuth) (*Clients, error) {
	cs := &Clients{
		byUser:   make(map[string]*Identity),
		byToken:  make(map[[sha256.Size]byte]*Identity),
		required: auth.Required,
		throttle: auth.Throttle,
		wait:     auth.BcryptWait,
	}
	if cs.wait <= 0 {
		cs.wait = DefaultBcryptWait
	}
	names := make(map[string]bool, len(list))
	hasBearer := false
	for i := range list {
		c := &list[i]
		if c.Name == "" || names[c.Name] {
			return nil, fmt.Errorf("%w: client %d: empty or duplicate name %q", ErrBadClients, i, c.Name)
		}
		names[c.Name] = true
		e := &Identity{name: c.Name, permit: make(map[string]struct{}, len(c.Permit))}
		for _, p := range c.Permit {
			e.permit[p] = struct{}{}
		}
		if c.Username != "" {
			if _, dup := cs.byUser[c.Username]; dup || strings.IndexByte(c.Username, ':') >= 0 {
				return nil, fmt.Errorf("%w: client %q: username is shared with another client or holds ':'", ErrBadClients, c.Name)
			}
			switch {
			case len(c.PasswordHash) > 0 && len(c.Password) == 0:
				if _, err := bcrypt.Cost(c.PasswordHash); err != nil {
					return nil, fmt.Errorf("%w: client %q: password hash: %w", ErrBadClients, c.Name, err)
				}
				e.bcrypt = c.PasswordHash
			case len(c.Password) > 0 && len(c.PasswordHash) == 0:
				e.password = sha256.Sum256(c.Password)
			default:
				return nil, fmt.Errorf("%w: client %q: set exactly one of the password and its hash", ErrBadClients, c.Name)
			}
			cs.byUser[c.Username] = e
		}
		if len(c.Token) > 0 {
			sum := sha256.Sum256(c.Token)
			if _, dup := cs.byToken[sum]; dup {
				return nil, fmt.Errorf("%w: client %q: token is shared with another client", ErrBadClients, c.Name)
			}
			cs.byToken[sum] = e
			hasBearer = true
		}
		for _, p := range c.CIDRs {
			if !p.IsValid() {
				return nil, fmt.Errorf("%w: client %q: invalid CIDR", ErrBadClients, c.Name)
			}
			if p.Addr().Is4In6() && p.Bits() >= 96 {
				// Source addresses are compared unmapped (remoteAddr).
				p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
			}
			cs.cidrs = append(cs.cidrs, cidrEntry{prefix: p, c: e})
		}
	}
	sort.SliceStable(cs.cidrs, func(i, j int) bool { return cs.cidrs[i].prefix.Bits() > cs.cidrs[j].prefix.Bits() })
	realm := auth.Realm
	if realm == "" {
		realm = DefaultRealm
	}
	if strings.ContainsAny(realm, "\"\\\r\n") {
		return nil, fmt.Errorf("%w: realm holds a quote, backslash or line break", ErrBadClients)
	}
	cs.challenge = []string{`Basic realm="` + realm + `", charset="UTF-8"`}
	if hasBearer {
		cs.challenge = append(cs.challenge, `Bearer realm="`+realm+`"`)
	}
	return cs, nil
}

// Name is the client's name (Client.Name), for logs.
func (c *Identity) Name() string { return c.name }

// AuthResult is what a request's Proxy-Authorization said. The caller
// counts the failures (Wrong, Malformed, Throttled, Busy) by reason.
type AuthResult uint8

const (
	AuthNone      AuthResult = iota // no Proxy-Authorization: fall back to the source address
	AuthOK                          // credentials of a known client
	AuthWrong                       // well-formed credentials, not accepted
	AuthMalformed                   // two fields, an unknown scheme or a bad encoding
	AuthThrottled                   // too many failures from the source or for the user: not checked
	AuthBusy                        // no bcrypt slot within the bound: not checked
)

// Authorize identifies r's client and checks it may use the named
// credential cred. It runs after routing, so denials name the
// credential, and before the limits. The identity is returned even when
// its permit denies cred, so the refusal can be logged under the client;
// res says what Proxy-Authorization said, for the failure metrics. A nil
// *Clients admits everyone, identifying no one.
func (cs *Clients) Authorize(r *http.Request, a *Authenticator, cred string) (c *Identity, res AuthResult, deny *Denial) {
	if cs == nil {
		return nil, AuthNone, nil
	}
	c, res, wait := cs.fromHeader(r, a)
	if res == AuthNone {
		c = cs.fromAddr(remoteAddr(r))
	}
	if c != nil {
		return c, res, c.MayUse(cred)
	}
	switch res {
	case AuthThrottled:
		// RateLimited, not a kind of its own: the client's remedy is the
		// same (wait RetryAfter), and the failure result tells operators
		// the cause apart.
		return nil, res, &Denial{Kind: RateLimited, RetryAfter: wait,
			Message: "too many failed proxy authentication attempts from this address or for this user; retry later"}
	case AuthBusy:
		return nil, res, &Denial{Kind: LimitReached, RetryAfter: wait,
			Message: "callgate is busy checking other proxy passwords; retry later"}
	case AuthWrong, AuthMalformed:
		return nil, res, &Denial{Kind: ProxyAuthRequired, Challenge: cs.challenge,
			Message: "the proxy credentials were not accepted"}
	}
	return nil, res, cs.NoIdentity()
}

// NoIdentity is the denial of a request that names no client and matches
// none by address; nil without a client list. Explain answers it for a
// request without client=, so it is the data plane's own answer.
func (cs *Clients) NoIdentity() *Denial {
	if cs == nil {
		return nil
	}
	if cs.required {
		return &Denial{Kind: ProxyAuthRequired, Challenge: cs.challenge,
			Message: "proxy authentication is required: send Proxy-Authorization"}
	}
	return &Denial{Kind: NotPermitted, Message: "no client identity matches this request's source address"}
}

// AuthorizeAs is Authorize for a request already identified as the client
// named name (Explain's client=): an unknown name is denied as unaccepted
// credentials would be. Without a client list there is no one to be and
// nothing to deny.
func (cs *Clients) AuthorizeAs(name, cred string) (*Identity, *Denial) {
	if cs == nil {
		return nil, nil
	}
	c := cs.byName(name)
	if c == nil {
		return nil, &Denial{Kind: ProxyAuthRequired, Challenge: cs.challenge,
			Message: "no client is named " + name}
	}
	return c, c.MayUse(cred)
}

// MayUse checks c's permit for the named credential cred: nil, or the
// denial.
func (c *Identity) MayUse(cred string) *Denial {
	if _, ok := c.permit[cred]; !ok {
		return &Denial{Kind: NotPermitted,
			Message: "client " + c.name + " is not permitted to use named credential " + cred}
	}
	return nil
}

// byName finds a client by its name. Only Explain asks: the data plane
// never looks clients up by name, so a scan is enough.
func (cs *Clients) byName(name string) *Identity {
	for _, c := range cs.byUser {
		if c.name == name {
			return c
		}
	}
	for _, c := range cs.byToken {
		if c.name == name {
			return c
		}
	}
	for _, e := range cs.cidrs {
		if e.c.name == name {
			return e.c
		}
	}
	return nil
}

// fromHeader checks the Proxy-Authorization field, within the failure
// throttle: an attempt is admitted before any password is compared and
// settled after, a failure charged to its source and claimed user. Two
// fields, an unknown scheme or bad encoding are failures too: the client
// asked to be authenticated and must not silently fall back to its
// address. wait is the Retry-After of a throttled or busy answer.
func (cs *Clients) fromHeader(r *http.Request, a *Authenticator) (c *Identity, res AuthResult, wait time.Duration) {
	vals := r.Header["Proxy-Authorization"]
	if len(vals) == 0 {
		return nil, AuthNone, 0
	}
	cr := parseCredentials(vals)
	at, wait, ok := a.throttle.admit(cs.throttle, remoteAddr(r), cr.user, cr.kind == credBasic, time.Now())
	if !ok {
		return nil, AuthThrottled, wait
	}
	c, res = cs.check(r, a, cr)
	// A busy answer compared nothing, so it is no failure.
	at.settle(res != AuthOK && res != AuthBusy, time.Now())
	if res == AuthBusy {
		return nil, res, cs.wait
	}
	return c, res, 0
}

// check finds the client cr names and verifies its password or token.
func (cs *Clients) check(r *http.Request, a *Authenticator, cr credentials) (*Identity, AuthResult) {
	switch cr.kind {
	case credBasic:
		c := cs.byUser[cr.user]
		if c == nil {
			return nil, AuthWrong
		}
		switch a.verify(r, c, cr.user, cr.pass, cs.wait) {
		case verdictOK:
			return c, AuthOK
		case verdictBusy:
			return nil, AuthBusy
		}
		return nil, AuthWrong
	case credBearer:
		// Looked up by the token's SHA-256: whatever the lookup's timing
		// reveals is about a hash of the token, which does not help to
		// guess the token itself.
		sum := sha256.Sum256([]byte(cr.token))
		if c := cs.byToken[sum]; c != nil {
			return c, AuthOK
		}
		return nil, AuthWrong
	}
	return nil, AuthMalformed
}

// credentials are what one Proxy-Authorization field claims.
type credentials struct {
	kind       credKind
	user, pass string // Basic
	token      string // Bearer
}

type credKind uint8

const (
	credMalformed credKind = iota
	credBasic
	credBearer
)

// parseCredentials reads the Proxy-Authorization fields (at least one).
func parseCredentials(vals []string) credentials {
	if len(vals) != 1 {
		return credentials{}
	}
	scheme, cred, _ := strings.Cut(strings.TrimSpace(vals[0]), " ")
	cred = strings.TrimLeft(cred, " ")
	switch {
	case strings.EqualFold(scheme, "Basic"):
		if user, pass, ok := decodeBasic(cred); ok {
			return credentials{kind: credBasic, user: user, pass: pass}
		}
	case strings.EqualFold(scheme, "Bearer") && cred != "":
		return credentials{kind: credBearer, token: cred}
	}
	return credentials{}
}

// decodeBasic splits base64("user:pass") (RFC 7617 §2).
func decodeBasic(cred string) (user, pass string, ok bool) {
	if cred == "" || len(cred) > 4096 {
		return "", "", false
	}
	b, err := base64.StdEncoding.DecodeString(cred)
	if err != nil {
		return "", "", false
	}
	user, pass, ok = strings.Cut(string(b), ":")
	return user, pass, ok
}

// fromAddr finds the client whose longest CIDR holds addr; nil if none.
func (cs *Clients) fromAddr(addr netip.Addr) *Identity {
	if !addr.IsValid() {
		return nil
	}
	for i := range cs.cidrs {
		if cs.cidrs[i].prefix.Contains(addr) {
			return cs.cidrs[i].c
		}
	}
	return nil
}

// remoteAddr is the client's source address (IPv4-mapped addresses as
// IPv4); the zero Addr when RemoteAddr is not an IP (a unix socket).
func remoteAddr(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}
