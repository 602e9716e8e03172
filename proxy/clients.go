package proxy

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/netip"
	"sort"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/callgate/callgate/routing"
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

// Clients is the compiled client list of a Snapshot: immutable, read
// without locks. A nil *Clients lets every client use every named
// credential (no client list configured).
type Clients struct {
	byUser    map[string]*clientEntry
	byToken   map[[sha256.Size]byte]*clientEntry
	cidrs     []cidrEntry // longest prefix first
	required  bool
	challenge []string // Proxy-Authenticate values of a 407
	throttle  AuthThrottle
	wait      time.Duration // BcryptWait, defaulted
}

// clientEntry is one compiled Client. Plaintext secrets are not kept.
type clientEntry struct {
	name     string
	bcrypt   []byte            // bcrypt hash, or nil
	password [sha256.Size]byte // SHA-256 of the plaintext password, when bcrypt is nil
	permit   map[string]struct{}
}

type cidrEntry struct {
	prefix netip.Prefix
	c      *clientEntry
}

// NewClients compiles list. The config has already validated it; the
// checks here keep a caller that builds clients by hand from an ambiguous
// list (a user or token shared by two clients).
func NewClients(list []Client, auth ProxyAuth) (*Clients, error) {
	cs := &Clients{
		byUser:   make(map[string]*clientEntry),
		byToken:  make(map[[sha256.Size]byte]*clientEntry),
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
		e := &clientEntry{name: c.Name, permit: make(map[string]struct{}, len(c.Permit))}
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

// authResult is what a request's Proxy-Authorization said.
type authResult uint8

const (
	authNone      authResult = iota // no Proxy-Authorization: fall back to the source address
	authOK                          // credentials of a known client
	authWrong                       // well-formed credentials, not accepted
	authMalformed                   // two fields, an unknown scheme or a bad encoding
	authThrottled                   // too many failures from the source or for the user: not checked
	authBusy                        // no bcrypt slot within the bound: not checked
)

// access runs once r is routed to d and before the gate: it identifies
// the client and checks its permission for d, then its rate and the
// concurrency limits. Limit slots taken are held in sum until its finish.
func (s *Server) access(r *http.Request, st *state, d *routing.Destination, sum *summary) *refusal {
	c, f := s.authorize(r, st, d)
	if c != nil {
		sum.client = c.name
	}
	if f != nil {
		return f
	}
	return s.limit(r, st, d, c, sum.form == formConnect, &sum.held)
}

// authorize identifies r's client and checks it may use d. It returns the
// client (nil when no client list is configured) or the refusal to send.
// It runs after routing, so refusals name the credential, and before the
// limits and the gate.
func (s *Server) authorize(r *http.Request, st *state, d *routing.Destination) (*clientEntry, *refusal) {
	cs := st.snap.Clients
	if cs == nil {
		return nil, nil
	}
	c, res, wait := cs.fromHeader(r, &s.auth)
	s.metrics.authFailed(res)
	if res == authNone {
		c = cs.fromAddr(remoteAddr(r))
	}
	if c == nil {
		f := &refusal{dest: d, connection: d.Connection}
		switch {
		case res == authThrottled:
			// rate_limited, not a code of its own: the client's remedy is
			// the same (wait Retry-After), and the failures metric tells
			// operators the cause apart.
			f.code, f.retryAfter = CodeRateLimited, wait
			f.message = "too many failed proxy authentication attempts from this address or for this user; retry later"
		case res == authBusy:
			f.code, f.retryAfter = CodeLimitReached, wait
			f.message = "callgate is busy checking other proxy passwords; retry later"
		case res == authWrong || res == authMalformed:
			f.code, f.message, f.challenge = CodeProxyAuthRequired, "the proxy credentials were not accepted", cs.challenge
		default:
			return nil, cs.noIdentity(d)
		}
		return nil, f
	}
	return c, c.mayUse(d)
}

// noIdentity refuses a request that names no client and matches none by
// address (also what Explain answers without client=).
func (cs *Clients) noIdentity(d *routing.Destination) *refusal {
	if cs.required {
		return &refusal{code: CodeProxyAuthRequired, dest: d, connection: d.Connection, challenge: cs.challenge,
			message: "proxy authentication is required: send Proxy-Authorization"}
	}
	return &refusal{code: CodeNotPermitted, dest: d, connection: d.Connection,
		message: "no client identity matches this request's source address"}
}

// mayUse checks c's permit for d: nil, or the refusal.
func (c *clientEntry) mayUse(d *routing.Destination) *refusal {
	if _, ok := c.permit[d.Name]; !ok {
		return &refusal{code: CodeNotPermitted, dest: d, connection: d.Connection,
			message: "client " + c.name + " is not permitted to use named credential " + d.Name}
	}
	return nil
}

// fromHeader checks the Proxy-Authorization field, within the failure
// throttle: an attempt is admitted before any password is compared and
// settled after, a failure charged to its source and claimed user. Two
// fields, an unknown scheme or bad encoding are failures too: the client
// asked to be authenticated and must not silently fall back to its
// address. wait is the Retry-After of a throttled or busy answer.
func (cs *Clients) fromHeader(r *http.Request, a *authenticator) (c *clientEntry, res authResult, wait time.Duration) {
	vals := r.Header["Proxy-Authorization"]
	if len(vals) == 0 {
		return nil, authNone, 0
	}
	cr := parseCredentials(vals)
	at, wait, ok := a.throttle.admit(cs.throttle, remoteAddr(r), cr.user, cr.kind == credBasic, time.Now())
	if !ok {
		return nil, authThrottled, wait
	}
	c, res = cs.check(r, a, cr)
	// A busy answer compared nothing, so it is no failure.
	at.settle(res != authOK && res != authBusy, time.Now())
	if res == authBusy {
		return nil, res, cs.wait
	}
	return c, res, 0
}

// check finds the client cr names and verifies its password or token.
func (cs *Clients) check(r *http.Request, a *authenticator, cr credentials) (*clientEntry, authResult) {
	switch cr.kind {
	case credBasic:
		c := cs.byUser[cr.user]
		if c == nil {
			return nil, authWrong
		}
		switch a.verify(r, c, cr.user, cr.pass, cs.wait) {
		case verdictOK:
			return c, authOK
		case verdictBusy:
			return nil, authBusy
		}
		return nil, authWrong
	case credBearer:
		// Looked up by the token's SHA-256: whatever the lookup's timing
		// reveals is about a hash of the token, which does not help to
		// guess the token itself.
		sum := sha256.Sum256([]byte(cr.token))
		if c := cs.byToken[sum]; c != nil {
			return c, authOK
		}
		return nil, authWrong
	}
	return nil, authMalformed
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
func (cs *Clients) fromAddr(addr netip.Addr) *clientEntry {
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
