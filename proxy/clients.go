package proxy

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/netip"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

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
	authNone  authResult = iota // no Proxy-Authorization: fall back to the source address
	authOK                      // credentials of a known client
	authWrong                   // credentials sent but not accepted
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
	c, res := cs.fromHeader(r, &s.auth)
	if res == authNone {
		c = cs.fromAddr(remoteAddr(r))
	}
	if c == nil {
		f := &refusal{dest: d, connection: d.Connection}
		switch {
		case res == authWrong:
			f.code, f.message, f.challenge = CodeProxyAuthRequired, "the proxy credentials were not accepted", cs.challenge
		case cs.required:
			f.code, f.message, f.challenge = CodeProxyAuthRequired, "proxy authentication is required: send Proxy-Authorization", cs.challenge
		default:
			f.code, f.message = CodeNotPermitted, "no client identity matches this request's source address"
		}
		return nil, f
	}
	if _, ok := c.permit[d.Name]; !ok {
		return c, &refusal{code: CodeNotPermitted, dest: d, connection: d.Connection,
			message: "client " + c.name + " is not permitted to use named credential " + d.Name}
	}
	return c, nil
}

// fromHeader checks the Proxy-Authorization field. Two fields, an unknown
// scheme or bad encoding count as wrong credentials: the client asked to
// be authenticated and must not silently fall back to its address.
func (cs *Clients) fromHeader(r *http.Request, a *authenticator) (*clientEntry, authResult) {
	vals := r.Header["Proxy-Authorization"]
	switch len(vals) {
	case 0:
		return nil, authNone
	case 1:
	default:
		return nil, authWrong
	}
	scheme, cred, _ := strings.Cut(strings.TrimSpace(vals[0]), " ")
	cred = strings.TrimLeft(cred, " ")
	switch {
	case strings.EqualFold(scheme, "Basic"):
		user, pass, ok := decodeBasic(cred)
		if !ok {
			return nil, authWrong
		}
		if c := cs.byUser[user]; c != nil && a.verify(r, c, user, pass) {
			return c, authOK
		}
	case strings.EqualFold(scheme, "Bearer") && cred != "":
		// Looked up by the token's SHA-256: whatever the lookup's timing
		// reveals is about a hash of the token, which does not help to
		// guess the token itself.
		sum := sha256.Sum256([]byte(cred))
		if c := cs.byToken[sum]; c != nil {
			return c, authOK
		}
	}
	return nil, authWrong
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

// authenticator verifies Basic passwords. bcrypt is slow by design, so a
// successful verification is cached (keyed by a SHA-256 of the presented
// user and password, never the password itself) and at most a few
// verifications run at once, so a flood of wrong passwords costs bounded
// CPU. The zero value is usable.
type authenticator struct {
	cache atomic.Pointer[sync.Map] // [32]byte → string(bcrypt hash verified)
	size  atomic.Int64
	once  sync.Once
	sem   chan struct{}
}

// maxAuthCache bounds the verified-credentials cache; past it the cache
// starts over (only successful verifications enter it, so its size follows
// the number of distinct valid credentials in use).
const maxAuthCache = 4096

// verify checks pass for c in constant time (plaintext) or with bcrypt.
func (a *authenticator) verify(r *http.Request, c *clientEntry, user, pass string) bool {
	if c.bcrypt == nil {
		sum := sha256.Sum256([]byte(pass))
		return subtle.ConstantTimeCompare(sum[:], c.password[:]) == 1
	}
	h := sha256.New()
	h.Write([]byte(user))
	h.Write([]byte{0})
	h.Write([]byte(pass))
	var key [sha256.Size]byte
	h.Sum(key[:0])
	m := a.cache.Load()
	if m != nil {
		if v, ok := m.Load(key); ok && v.(string) == string(c.bcrypt) {
			return true
		}
	}
	a.once.Do(func() {
		n := runtime.GOMAXPROCS(0) / 2
		a.sem = make(chan struct{}, max(n, 1))
	})
	select {
	case a.sem <- struct{}{}:
	case <-r.Context().Done():
		return false
	}
	err := bcrypt.CompareHashAndPassword(c.bcrypt, []byte(pass))
	<-a.sem
	if err != nil {
		return false
	}
	if m == nil || a.size.Add(1) > maxAuthCache {
		m = new(sync.Map)
		a.cache.Store(m)
		a.size.Store(1)
	}
	m.Store(key, string(c.bcrypt))
	return true
}
