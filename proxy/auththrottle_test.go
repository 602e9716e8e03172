package proxy

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/callgate/callgate/access"
	"github.com/callgate/callgate/internal/testclient"
	"github.com/callgate/callgate/internal/testwait"
)

// never is a failure rate that earns no token during a test.
const never = 0.001

// proxyClient is Go's http.Client sending through the proxy from src (on
// Linux all of 127.0.0.0/8 is loopback, so each address is a distinct
// source). dials counts the connections it opened to the proxy. The proxy
// URL carries no user info: each request sets its own Proxy-Authorization,
// as a guesser reusing one connection would.
type proxyClient struct {
	c     *http.Client
	dials atomic.Int64
}

func (e *env) clientFrom(t *testing.T, src string) *proxyClient {
	t.Helper()
	pc := &proxyClient{}
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 2 * time.Second}
	tr := &http.Transport{
		Proxy: http.ProxyURL(&url.URL{Scheme: "http", Host: e.addr}),
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			pc.dials.Add(1)
			return d.DialContext(ctx, network, addr)
		},
	}
	t.Cleanup(tr.CloseIdleConnections)
	// Far above bcrypt_wait: a request the proxy leaves waiting shows up
	// as this timeout, not as a refusal.
	pc.c = &http.Client{Transport: tr, Timeout: 20 * time.Second}
	return pc
}

// get sends GET target with Proxy-Authorization auth ("" for none).
func (pc *proxyClient) get(t *testing.T, target, auth string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, target, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Proxy-Authorization", auth)
	}
	res, err := pc.c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", target, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, body
}

// assertThrottled checks the docs/refusals.md shape of a throttled attempt: 429
// rate_limited, Retry-After in whole seconds, no challenge.
func assertThrottled(t *testing.T, res *http.Response, body []byte) {
	t.Helper()
	if res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("status %d, want 429: %s", res.StatusCode, body)
	}
	if ra, err := strconv.Atoi(res.Header.Get("Retry-After")); err != nil || ra < 1 {
		t.Errorf("Retry-After %q, want whole seconds >= 1", res.Header.Get("Retry-After"))
	}
	if ps := res.Header.Get("Proxy-Status"); !strings.Contains(ps, "error=http_request_denied") {
		t.Errorf("Proxy-Status %q", ps)
	}
	if pa := res.Header.Values("Proxy-Authenticate"); len(pa) != 0 {
		t.Errorf("a 429 carries Proxy-Authenticate %q", pa)
	}
	if b := refusalOf(t, body); b.Error != "rate_limited" || b.NamedCredential != "Plain" || !strings.Contains(b.Message, "failed proxy authentication") {
		t.Errorf("body %+v", b)
	}
}

func (e *env) authFailures(t *testing.T, reason string) float64 {
	t.Helper()
	return counterValue(t, e.reg, "callgate_proxy_auth_failures_total", map[string]string{"reason": reason})
}

// TestAuthThrottleOneConnection: a guesser on one keep-alive connection
// gets its burst of 407s, then 429s that cost no bcrypt work, and the
// right password is refused too while the source is throttled.
func TestAuthThrottleOneConnection(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: real listeners")
	}
	e := newEnv(t)
	const burst = 5
	e.setAccess(testClients(t, access.ProxyAuth{Required: true, Throttle: access.AuthThrottle{
		PerSource: access.Rate{PerSecond: never, Burst: burst},
		PerUser:   access.Rate{PerSecond: never, Burst: 1000},
	}}), access.Limits{})
	plain := fmt.Sprintf("http://plain.partner.example:%d/base/x", e.plain.port)
	pc := e.clientFrom(t, "127.0.0.1")
	const tries = 4 * burst
	for i := 0; i < tries; i++ {
		res, body := pc.get(t, plain, testclient.BasicAuth(testclient.HashedUser, fmt.Sprintf("guess-%d", i)))
		if i < burst {
			if res.StatusCode != http.StatusProxyAuthRequired || refusalOf(t, body).Error != "proxy_auth_required" {
				t.Fatalf("guess %d within the burst: %d %s", i, res.StatusCode, body)
			}
			continue
		}
		assertThrottled(t, res, body)
	}
	if n := pc.dials.Load(); n != 1 {
		t.Errorf("%d connections, want the guesses on one keep-alive connection", n)
	}
	if n := e.srv.auth.Compared(); n != burst {
		t.Errorf("bcrypt ran %d times for %d guesses, want %d (the burst only)", n, tries, burst)
	}
	// Otherwise a guesser would still tell its hit from the 200.
	res, body := pc.get(t, plain, testclient.BasicAuth(testclient.HashedUser, testclient.HashedPass))
	assertThrottled(t, res, body)
	if n := e.srv.auth.Compared(); n != burst {
		t.Errorf("the throttled right password was checked (%d comparisons)", n)
	}
	for reason, want := range map[string]float64{"wrong_credentials": burst, "throttled": tries - burst + 1, "malformed": 0, "busy": 0} {
		if got := e.authFailures(t, reason); got != want {
			t.Errorf("callgate_proxy_auth_failures_total{reason=%q} = %v, want %v", reason, got, want)
		}
	}
	if got := counterValue(t, e.reg, "callgate_refusals_total", map[string]string{"named_credential": "Plain", "reason": "rate_limited"}); got != tries-burst+1 {
		t.Errorf("refusals_total{rate_limited} = %v", got)
	}
	e.assertLogsClean(t)
}

// TestAuthThrottleRecovers: while its bucket is empty a source is refused
// even with the right password; once a token is back the right password
// works again, and successes take no token.
func TestAuthThrottleRecovers(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: real listeners")
	}
	e := newEnv(t)
	// One token every 2 s: long against a loopback round trip, short
	// enough to wait for.
	const perSecond, burst = 0.5, 3
	e.setAccess(testClients(t, access.ProxyAuth{Required: true, Throttle: access.AuthThrottle{
		PerSource: access.Rate{PerSecond: perSecond, Burst: burst},
	}}), access.Limits{})
	plain := fmt.Sprintf("http://plain.partner.example:%d/base/x", e.plain.port)
	pc := e.clientFrom(t, "127.0.0.1")
	right := testclient.BasicAuth(testclient.PlainUser, testclient.PlainPass)

	// Drain the bucket until a wrong password is throttled, then try the
	// right one at once. Should the machine stall past a refill in
	// between, the answer proves nothing and the round is repeated.
	refused := false
	for round := 0; round < 3 && !refused; round++ {
		var last time.Time
		for tries := 0; ; tries++ {
			if tries > 10*burst {
				t.Fatalf("%d wrong passwords in a row and none throttled", tries)
			}
			last = time.Now()
			res, body := pc.get(t, plain, testclient.BasicAuth(testclient.PlainUser, "wrong"))
			if res.StatusCode == http.StatusTooManyRequests {
				assertThrottled(t, res, body)
				break
			}
			if res.StatusCode != http.StatusProxyAuthRequired {
				t.Fatalf("wrong password: %d %s", res.StatusCode, body)
			}
		}
		res, body := pc.get(t, plain, right)
		switch {
		case res.StatusCode == http.StatusTooManyRequests:
			assertThrottled(t, res, body)
			refused = true
		case time.Since(last) < time.Duration(float64(time.Second)/perSecond):
			t.Fatalf("right password from a throttled source: %d %s, want 429", res.StatusCode, body)
		}
	}
	if !refused {
		t.Fatal("the machine stalled past a refill in every round; nothing shown")
	}
	before := e.srv.auth.Compared()
	testwait.Until(t, 10*time.Second, "the right password to work after the bucket refills", func() bool {
		res, _ := pc.get(t, plain, right)
		return res.StatusCode == http.StatusOK
	})
	if e.srv.auth.Compared() != before+1 {
		t.Errorf("%d comparisons while waiting, want 1: throttled polls must not be checked", e.srv.auth.Compared()-before)
	}
	// The bucket holds about one token now; were successes charged, the
	// second of these would be refused.
	for i := 0; i < 3*burst; i++ {
		if res, body := pc.get(t, plain, right); res.StatusCode != http.StatusOK {
			t.Fatalf("success %d after recovery: %d %s", i, res.StatusCode, body)
		}
	}
	e.assertLogsClean(t)
}

// TestAuthThrottleSources: one source's throttle leaves other sources
// alone, but a user name's throttle applies from every source.
func TestAuthThrottleSources(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: real listeners")
	}
	e := newEnv(t)
	e.setAccess(testClients(t, access.ProxyAuth{Required: true, Throttle: access.AuthThrottle{
		PerSource: access.Rate{PerSecond: never, Burst: 3},
		PerUser:   access.Rate{PerSecond: never, Burst: 5},
	}}), access.Limits{})
	plain := fmt.Sprintf("http://plain.partner.example:%d/base/x", e.plain.port)
	status := func(pc *proxyClient, auth string) int {
		t.Helper()
		res, _ := pc.get(t, plain, auth)
		return res.StatusCode
	}
	a, b, c, d := e.clientFrom(t, "127.0.0.2"), e.clientFrom(t, "127.0.0.3"), e.clientFrom(t, "127.0.0.4"), e.clientFrom(t, "127.0.0.5")

	// Source a spends its burst on app1 (the user bucket: 3 of 5).
	for i := 0; i < 3; i++ {
		if st := status(a, testclient.BasicAuth(testclient.PlainUser, "wrong")); st != 407 {
			t.Fatalf("a, failure %d: %d, want 407", i, st)
		}
	}
	res, body := a.get(t, plain, testclient.BasicAuth(testclient.PlainUser, testclient.PlainPass))
	assertThrottled(t, res, body)
	if st := status(a, "Bearer "+testclient.BearerToken); st != 429 {
		t.Errorf("a, right token: %d, want 429 (the source is throttled)", st)
	}
	// Without Proxy-Authorization nothing is guessed: the usual 407.
	if st := status(a, ""); st != 407 {
		t.Errorf("a, no credentials: %d, want 407", st)
	}
	if st := status(b, testclient.BasicAuth(testclient.PlainUser, testclient.PlainPass)); st != 200 {
		t.Errorf("b, right password: %d, want 200 (another source)", st)
	}

	// Source c empties app1's bucket (3 + 2 = 5) without emptying its own.
	for i := 0; i < 2; i++ {
		if st := status(c, testclient.BasicAuth(testclient.PlainUser, "wrong")); st != 407 {
			t.Fatalf("c, failure %d: %d, want 407", i, st)
		}
	}
	compared := e.srv.auth.Compared()
	res, body = d.get(t, plain, testclient.BasicAuth(testclient.PlainUser, testclient.PlainPass))
	assertThrottled(t, res, body)
	if e.srv.auth.Compared() != compared {
		t.Error("the throttled user's password was checked")
	}
	// The user is throttled, not the sources: other users and tokens pass.
	if st := status(d, testclient.BasicAuth(testclient.HashedUser, testclient.HashedPass)); st != 200 {
		t.Errorf("d, another user: %d, want 200", st)
	}
	if st := status(c, "Bearer "+testclient.BearerToken); st != 200 {
		t.Errorf("c, right token: %d, want 200", st)
	}

	// A malformed field is a failure of its source (no user to charge).
	if st := status(d, "Digest username=\"app1\""); st != 407 {
		t.Errorf("d, unknown scheme: %d, want 407", st)
	}
	for reason, want := range map[string]float64{"wrong_credentials": 5, "malformed": 1, "throttled": 3} {
		if got := e.authFailures(t, reason); got != want {
			t.Errorf("callgate_proxy_auth_failures_total{reason=%q} = %v, want %v", reason, got, want)
		}
	}
	e.assertLogsClean(t)
}

// TestAuthBcryptSlotBound: with every bcrypt slot taken, a login that
// needs bcrypt is refused 503 within proxy_auth.bcrypt_wait instead of
// waiting; a cached login is unaffected; a busy answer is no failure.
func TestAuthBcryptSlotBound(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: real listeners")
	}
	const user4, pass4 = "app4", "pw-app4-bcrypt-c2d8"
	hash4, err := bcrypt.GenerateFromPassword([]byte(pass4), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t)
	e.setAccess(testClients(t, access.ProxyAuth{Required: true, BcryptWait: 50 * time.Millisecond,
		// One failure empties the source: a busy answer that charged
		// one would show as a 429 below.
		Throttle: access.AuthThrottle{PerSource: access.Rate{PerSecond: never, Burst: 1}}},
		access.Client{Name: "hashed4", Username: user4, PasswordHash: hash4, Permit: []string{"Plain"}},
	), access.Limits{})
	plain := fmt.Sprintf("http://plain.partner.example:%d/base/x", e.plain.port)
	pc := e.clientFrom(t, "127.0.0.1")
	if res, body := pc.get(t, plain, testclient.BasicAuth(testclient.HashedUser, testclient.HashedPass)); res.StatusCode != 200 {
		t.Fatalf("first login: %d %s", res.StatusCode, body)
	}

	release := e.srv.auth.HoldSlots()
	defer release()

	if res, body := pc.get(t, plain, testclient.BasicAuth(testclient.HashedUser, testclient.HashedPass)); res.StatusCode != 200 {
		t.Errorf("cached login with the slots full: %d %s, want 200", res.StatusCode, body)
	}
	compared := e.srv.auth.Compared()
	for _, pass := range []string{pass4, "wrong"} {
		res, body := pc.get(t, plain, testclient.BasicAuth(user4, pass))
		if res.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("uncached login with the slots full: %d %s, want 503", res.StatusCode, body)
		}
		if ra, err := strconv.Atoi(res.Header.Get("Retry-After")); err != nil || ra < 1 {
			t.Errorf("Retry-After %q", res.Header.Get("Retry-After"))
		}
		if ps := res.Header.Get("Proxy-Status"); !strings.Contains(ps, "error=connection_limit_reached") {
			t.Errorf("Proxy-Status %q", ps)
		}
		if b := refusalOf(t, body); b.Error != "limit_reached" || b.NamedCredential != "Plain" {
			t.Errorf("body %+v", b)
		}
	}
	if e.srv.auth.Compared() != compared {
		t.Error("a password was compared without a slot")
	}
	if got := e.authFailures(t, "busy"); got != 2 {
		t.Errorf("callgate_proxy_auth_failures_total{reason=busy} = %v, want 2", got)
	}

	release()
	if res, body := pc.get(t, plain, testclient.BasicAuth(user4, pass4)); res.StatusCode != 200 {
		t.Errorf("login once slots are free: %d %s, want 200 (busy answers must not charge the throttle)", res.StatusCode, body)
	}
}

// TestAuthThrottleCurl: the real curl sees the 429, its Retry-After and
// the JSON body once its source has failed too often.
func TestAuthThrottleCurl(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: real listeners and curl")
	}
	e := newEnv(t)
	e.setAccess(testClients(t, access.ProxyAuth{Required: true, Throttle: access.AuthThrottle{
		PerSource: access.Rate{PerSecond: never, Burst: 2},
	}}), access.Limits{})
	plain := fmt.Sprintf("http://plain.partner.example:%d/base/x", e.plain.port)
	bodyFile := filepath.Join(t.TempDir(), "body")
	run := func(pass string) string {
		t.Helper()
		out, code := curl(t, "-x", "http://"+e.addr, "--proxy-user", testclient.PlainUser+":"+pass,
			"-o", bodyFile, "-w", "%{http_code} %header{retry-after}", plain)
		if code != 0 {
			t.Fatalf("curl exit %d", code)
		}
		return out
	}
	for i := 0; i < 2; i++ {
		if out := run("wrong"); out != "407 " {
			t.Fatalf("failure %d: %q, want 407", i, out)
		}
	}
	out := run(testclient.PlainPass)
	status, ra, _ := strings.Cut(out, " ")
	if n, err := strconv.Atoi(ra); status != "429" || err != nil || n < 1 {
		t.Errorf("right password from a throttled source: %q, want 429 with Retry-After", out)
	}
	body, err := os.ReadFile(bodyFile)
	if err != nil {
		t.Fatal(err)
	}
	if b := refusalOf(t, body); b.Error != "rate_limited" {
		t.Errorf("body %s", body)
	}
	e.assertLogsClean(t)
}
