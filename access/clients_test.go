package access

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/callgate/callgate/internal/testclient"
)

// testClients: plainpw may use Plain and Partner, hashed only Plain,
// bearer Plain and Slow, local (by address) only Plain.
func testClients(t testing.TB, auth ProxyAuth) *Clients {
	t.Helper()
	cs, err := NewClients([]Client{
		{Name: "plainpw", Username: testclient.PlainUser, Password: []byte(testclient.PlainPass), Permit: []string{"Plain", "Partner"}},
		{Name: "hashed", Username: testclient.HashedUser, PasswordHash: testclient.BcryptHash(), Permit: []string{"Plain"}},
		{Name: "bearer", Token: []byte(testclient.BearerToken), Permit: []string{"Plain", "Slow"}},
		{Name: "local", CIDRs: []netip.Prefix{netip.MustParsePrefix("10.9.0.0/16")}, Permit: []string{"Plain"}},
	}, auth)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// request is a request from remote carrying the Proxy-Authorization
// fields auth (none when empty).
func request(t testing.TB, remote string, auth ...string) *http.Request {
	r := (&http.Request{RemoteAddr: remote, Header: http.Header{}}).WithContext(t.Context())
	for _, a := range auth {
		r.Header.Add("Proxy-Authorization", a)
	}
	return r
}

// TestAuthorize: each way a request identifies itself (or fails to) gets
// its result and denial; the proxy turns the denials into the
// docs/refusals.md responses, so their kinds and messages are the
// contract.
func TestAuthorize(t *testing.T) {
	required := testClients(t, ProxyAuth{Required: true, Realm: "edge"})
	optional := testClients(t, ProxyAuth{})
	challenge := []string{`Basic realm="edge", charset="UTF-8"`, `Bearer realm="edge"`}
	cases := []struct {
		name     string
		cs       *Clients
		r        *http.Request
		cred     string
		client   string
		res      AuthResult
		kind     Kind
		msg      string
		withChal bool
	}{
		{name: "basic plaintext", cs: required, r: request(t, "192.0.2.1:1", testclient.BasicAuth(testclient.PlainUser, testclient.PlainPass)), cred: "Partner", client: "plainpw", res: AuthOK},
		{name: "basic bcrypt", cs: required, r: request(t, "192.0.2.1:1", testclient.BasicAuth(testclient.HashedUser, testclient.HashedPass)), cred: "Plain", client: "hashed", res: AuthOK},
		{name: "bearer", cs: required, r: request(t, "192.0.2.1:1", "bearer "+testclient.BearerToken), cred: "Slow", client: "bearer", res: AuthOK},
		{name: "by address", cs: required, r: request(t, "10.9.1.2:1"), cred: "Plain", client: "local", res: AuthNone},
		{name: "not permitted", cs: required, r: request(t, "192.0.2.1:1", testclient.BasicAuth(testclient.HashedUser, testclient.HashedPass)), cred: "Partner", client: "hashed", res: AuthOK,
			kind: NotPermitted, msg: "client hashed is not permitted to use named credential Partner"},
		{name: "address not permitted", cs: optional, r: request(t, "10.9.1.2:1"), cred: "Slow", client: "local", res: AuthNone,
			kind: NotPermitted, msg: "client local is not permitted to use named credential Slow"},
		{name: "wrong password", cs: required, r: request(t, "10.9.1.2:1", testclient.BasicAuth(testclient.PlainUser, "nope")), cred: "Plain", res: AuthWrong,
			kind: ProxyAuthRequired, msg: "the proxy credentials were not accepted", withChal: true},
		{name: "unknown user", cs: required, r: request(t, "10.9.1.2:1", testclient.BasicAuth("who", "nope")), cred: "Plain", res: AuthWrong,
			kind: ProxyAuthRequired, msg: "the proxy credentials were not accepted", withChal: true},
		{name: "unknown token", cs: required, r: request(t, "192.0.2.1:1", "Bearer nope"), cred: "Plain", res: AuthWrong,
			kind: ProxyAuthRequired, msg: "the proxy credentials were not accepted", withChal: true},
		{name: "two fields", cs: required, r: request(t, "10.9.1.2:1", testclient.BasicAuth(testclient.PlainUser, testclient.PlainPass), testclient.BasicAuth(testclient.PlainUser, testclient.PlainPass)), cred: "Plain", res: AuthMalformed,
			kind: ProxyAuthRequired, msg: "the proxy credentials were not accepted", withChal: true},
		{name: "unknown scheme", cs: required, r: request(t, "192.0.2.1:1", "Digest x"), cred: "Plain", res: AuthMalformed,
			kind: ProxyAuthRequired, msg: "the proxy credentials were not accepted", withChal: true},
		{name: "none, required", cs: required, r: request(t, "192.0.2.1:1"), cred: "Plain", res: AuthNone,
			kind: ProxyAuthRequired, msg: "proxy authentication is required: send Proxy-Authorization", withChal: true},
		{name: "none, optional", cs: optional, r: request(t, "192.0.2.1:1"), cred: "Plain", res: AuthNone,
			kind: NotPermitted, msg: "no client identity matches this request's source address"},
		{name: "no client list", cs: nil, r: request(t, "192.0.2.1:1", "Bearer nope"), cred: "Plain", res: AuthNone},
	}
	var a Authenticator
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, res, deny := tc.cs.Authorize(tc.r, &a, tc.cred)
			got := ""
			if c != nil {
				got = c.Name()
			}
			if got != tc.client || res != tc.res {
				t.Errorf("client %q, result %d; want %q, %d", got, res, tc.client, tc.res)
			}
			if tc.kind == 0 {
				if deny != nil {
					t.Fatalf("denied: %v", deny)
				}
				return
			}
			if deny == nil || deny.Kind != tc.kind || deny.Message != tc.msg || deny.RetryAfter != 0 {
				t.Fatalf("denial %+v, want %s %q", deny, tc.kind, tc.msg)
			}
			if tc.withChal != (len(deny.Challenge) > 0) || tc.withChal && strings.Join(deny.Challenge, "|") != strings.Join(challenge, "|") {
				t.Errorf("challenge %q", deny.Challenge)
			}
			testclient.AssertNoSecrets(t, "denial", deny.Error())
		})
	}
}

// TestAuthorizeAs: Explain's client= finds clients however they are
// recognised, and an unknown name is denied like unaccepted credentials.
func TestAuthorizeAs(t *testing.T) {
	cs := testClients(t, ProxyAuth{})
	for _, name := range []string{"plainpw", "hashed", "bearer", "local"} {
		c, deny := cs.AuthorizeAs(name, "Plain")
		if c == nil || c.Name() != name || deny != nil {
			t.Errorf("%s: %v, %v", name, c, deny)
		}
	}
	if c, deny := cs.AuthorizeAs("bearer", "Partner"); c == nil || deny == nil || deny.Kind != NotPermitted {
		t.Errorf("bearer for Partner: %v, %+v", c, deny)
	}
	c, deny := cs.AuthorizeAs("ghost", "Plain")
	if c != nil || deny == nil || deny.Kind != ProxyAuthRequired || deny.Message != "no client is named ghost" || len(deny.Challenge) != 2 {
		t.Errorf("ghost: %v, %+v", c, deny)
	}
}

// TestAuthorizeThrottledAndBusy: a throttled attempt is denied
// RateLimited and a busy one LimitReached, each with a RetryAfter and
// without comparing a password; a busy answer charges no failure.
func TestAuthorizeThrottledAndBusy(t *testing.T) {
	cs := testClients(t, ProxyAuth{Required: true, BcryptWait: 20 * time.Millisecond,
		Throttle: AuthThrottle{PerSource: Rate{PerSecond: never, Burst: 1}}})
	var a Authenticator
	release := a.HoldSlots()
	defer release()
	for range 2 {
		_, res, deny := cs.Authorize(request(t, "192.0.2.1:1", testclient.BasicAuth(testclient.HashedUser, testclient.HashedPass)), &a, "Plain")
		if res != AuthBusy || deny == nil || deny.Kind != LimitReached || deny.RetryAfter != 20*time.Millisecond ||
			deny.Message != "callgate is busy checking other proxy passwords; retry later" {
			t.Fatalf("busy: %d %+v", res, deny)
		}
	}
	if n := a.Compared(); n != 0 {
		t.Fatalf("%d passwords compared without a slot", n)
	}
	release()
	// The one failure the bucket holds is still there: busy charged none.
	if _, res, _ := cs.Authorize(request(t, "192.0.2.1:1", testclient.BasicAuth(testclient.PlainUser, "nope")), &a, "Plain"); res != AuthWrong {
		t.Fatalf("first failure: %d", res)
	}
	_, res, deny := cs.Authorize(request(t, "192.0.2.1:1", testclient.BasicAuth(testclient.PlainUser, testclient.PlainPass)), &a, "Plain")
	if res != AuthThrottled || deny == nil || deny.Kind != RateLimited || deny.RetryAfter <= 0 ||
		deny.Message != "too many failed proxy authentication attempts from this address or for this user; retry later" {
		t.Fatalf("throttled: %d %+v", res, deny)
	}
	if n := a.Compared(); n != 1 {
		t.Errorf("%d passwords compared, want 1: a throttled attempt is not checked", n)
	}
}

func TestNewClientsErrors(t *testing.T) {
	hash := testclient.BcryptHash()
	cases := []struct {
		name string
		list []Client
		auth ProxyAuth
	}{
		{"empty name", []Client{{Username: "u", Password: []byte("p")}}, ProxyAuth{}},
		{"duplicate name", []Client{{Name: "a", Token: []byte("t1")}, {Name: "a", Token: []byte("t2")}}, ProxyAuth{}},
		{"duplicate user", []Client{{Name: "a", Username: "u", Password: []byte("p")}, {Name: "b", Username: "u", Password: []byte("q")}}, ProxyAuth{}},
		{"colon in user", []Client{{Name: "a", Username: "u:v", Password: []byte("p")}}, ProxyAuth{}},
		{"password and hash", []Client{{Name: "a", Username: "u", Password: []byte("p"), PasswordHash: hash}}, ProxyAuth{}},
		{"user without password", []Client{{Name: "a", Username: "u"}}, ProxyAuth{}},
		{"not a bcrypt hash", []Client{{Name: "a", Username: "u", PasswordHash: []byte("$2a$xx")}}, ProxyAuth{}},
		{"duplicate token", []Client{{Name: "a", Token: []byte("t")}, {Name: "b", Token: []byte("t")}}, ProxyAuth{}},
		{"invalid prefix", []Client{{Name: "a", CIDRs: []netip.Prefix{{}}}}, ProxyAuth{}},
		{"quote in realm", []Client{{Name: "a", Token: []byte("t")}}, ProxyAuth{Realm: `a"b`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewClients(tc.list, tc.auth)
			if !errors.Is(err, ErrBadClients) {
				t.Fatalf("err = %v, want ErrBadClients", err)
			}
			if strings.Contains(err.Error(), "p\"") || strings.Contains(err.Error(), string(hash)) {
				t.Errorf("error %q holds a secret", err)
			}
		})
	}
}

// TestClientAddrMatch: longest prefix first; IPv4-mapped sources and
// prefixes compare as IPv4.
func TestClientAddrMatch(t *testing.T) {
	pfx := netip.MustParsePrefix
	cs, err := NewClients([]Client{
		{Name: "wide", CIDRs: []netip.Prefix{pfx("10.0.0.0/8")}},
		{Name: "narrow", CIDRs: []netip.Prefix{pfx("::ffff:10.1.0.0/112")}},
		{Name: "v6", CIDRs: []netip.Prefix{pfx("fd00::/8")}},
	}, ProxyAuth{})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ remote, want string }{
		{"10.2.3.4:1", "wide"},
		{"10.1.2.3:1", "narrow"},
		{"[::ffff:10.1.2.3]:1", "narrow"},
		{"[fd12::1]:1", "v6"},
		{"192.0.2.1:1", ""},
		{"@", ""}, // a unix socket has no address
	}
	for _, tc := range cases {
		c := cs.fromAddr(remoteAddr(&http.Request{RemoteAddr: tc.remote}))
		got := ""
		if c != nil {
			got = c.name
		}
		if got != tc.want {
			t.Errorf("%s: client %q, want %q", tc.remote, got, tc.want)
		}
	}
}

// TestAuthCache: a bcrypt verification is cached under a hash of the
// presented credentials, only on success, and bounded.
func TestAuthCache(t *testing.T) {
	var a Authenticator
	c := &Identity{name: "hashed", bcrypt: testclient.BcryptHash()}
	r := &http.Request{}
	r = r.WithContext(t.Context())
	count := func() int {
		n := 0
		if m := a.cache.Load(); m != nil {
			m.Range(func(k, v any) bool {
				n++
				testclient.AssertNoSecrets(t, "cache entry", fmt.Sprintf("%x %v", k, v))
				return true
			})
		}
		return n
	}
	if a.verify(r, c, testclient.HashedUser, "wrong", time.Second) != verdictWrong {
		t.Fatal("wrong password accepted")
	}
	if count() != 0 {
		t.Fatal("a failed verification was cached")
	}
	for i := 0; i < 3; i++ {
		if a.verify(r, c, testclient.HashedUser, testclient.HashedPass, time.Second) != verdictOK {
			t.Fatal("right password refused")
		}
	}
	if count() != 1 {
		t.Fatalf("cache holds %d entries, want 1", count())
	}
	// Bounded: past maxAuthCache entries the cache starts over.
	a.size.Store(maxAuthCache)
	if a.verify(r, &Identity{name: "x", bcrypt: testclient.BcryptHash()}, "other", testclient.HashedPass, time.Second) != verdictOK {
		t.Fatal("refused")
	}
	if count() != 1 {
		t.Errorf("after overflow the cache holds %d entries, want 1", count())
	}
}

// TestNoClientList: a nil *Clients (no `clients:` configured) identifies
// no one and denies nothing.
func TestNoClientList(t *testing.T) {
	var cs *Clients
	if deny := cs.NoIdentity(); deny != nil {
		t.Errorf("NoIdentity: %v", deny)
	}
	if c, deny := cs.AuthorizeAs("anyone", "Plain"); c != nil || deny != nil {
		t.Errorf("AuthorizeAs: %v, %v", c, deny)
	}
}
