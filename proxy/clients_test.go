package proxy

import (
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/callgate/callgate/access"
	"github.com/callgate/callgate/internal/testclient"
	"github.com/callgate/callgate/routing"
)

// testClients: app1 (plaintext password) may use Plain and Partner, app2
// (bcrypt) only Plain, app3 (bearer) Plain and Slow.
func testClients(t testing.TB, auth access.ProxyAuth, extra ...access.Client) *access.Clients {
	t.Helper()
	list := append([]access.Client{
		{Name: "plainpw", Username: testclient.PlainUser, Password: []byte(testclient.PlainPass), Permit: []string{"Plain", "Partner"}},
		{Name: "hashed", Username: testclient.HashedUser, PasswordHash: testclient.BcryptHash(), Permit: []string{"Plain"}},
		{Name: "bearer", Token: []byte(testclient.BearerToken), Permit: []string{"Plain", "Slow"}},
	}, extra...)
	cs, err := access.NewClients(list, auth)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// setAccess swaps in a snapshot of e.creds with cs and lim, as a reload of
// a config with `clients:` and `limits:` does.
func (e *env) setAccess(cs *access.Clients, lim access.Limits) {
	e.t.Helper()
	table, err := routing.Compile(e.creds)
	if err != nil {
		e.t.Fatal(err)
	}
	ov, err := routing.CompileOverrides(map[string]string{"*.vpce.test": "127.0.0.1"})
	if err != nil {
		e.t.Fatal(err)
	}
	e.srv.SetSnapshot(&Snapshot{Routes: table, Resolve: ov, Clients: cs, Limits: lim})
}

// refusalOf decodes a docs/refusals.md body.
func refusalOf(t *testing.T, body []byte) refusalBody {
	t.Helper()
	var b refusalBody
	if err := json.Unmarshal(body, &b); err != nil {
		t.Fatalf("refusal body %q: %v", body, err)
	}
	return b
}

// assertLogsClean fails if a log line or a metric holds a secret.
func (e *env) assertLogsClean(t *testing.T) {
	t.Helper()
	for _, le := range e.logs.All() {
		testclient.AssertNoSecrets(t, "log line "+le.Message, fmt.Sprintf("%s %v", le.Message, le.ContextMap()))
	}
	mfs, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				testclient.AssertNoSecrets(t, "metric "+mf.GetName(), lp.GetValue())
			}
		}
	}
}

// TestProxyAuthForms: every request form checks identity and permission
// after routing and before the gate, with the docs/refusals.md responses.
func TestProxyAuthForms(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: real listeners")
	}
	e := newEnv(t)
	e.setAccess(testClients(t, access.ProxyAuth{Required: true}), access.Limits{})
	plain := fmt.Sprintf("plain.partner.example:%d", e.plain.port)
	slow := fmt.Sprintf("slow.partner.example:%d", e.slow.port)
	partner := fmt.Sprintf("%s:%d", partnerHost, e.good.port)
	get := func(target, auth string) string {
		h := ""
		if auth != "" {
			h = "Proxy-Authorization: " + auth + "\r\n"
		}
		return "GET " + target + " HTTP/1.1\r\nHost: ignored.example\r\n" + h + "Connection: close\r\n\r\n"
	}
	connect := func(target, auth string) string {
		h := ""
		if auth != "" {
			h = "Proxy-Authorization: " + auth + "\r\n"
		}
		return "CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n" + h + "\r\n"
	}
	cases := []struct {
		name   string
		req    string
		status int
		code   string // error code of a refusal
		cred   string // named_credential of a refusal
		client string // client field of the summary line of a success
	}{
		{"absolute no auth", get("http://"+plain+"/base/x", ""), 407, "proxy_auth_required", "Plain", ""},
		{"absolute wrong password", get("http://"+plain+"/base/x", testclient.BasicAuth(testclient.PlainUser, "nope")), 407, "proxy_auth_required", "Plain", ""},
		{"absolute wrong bcrypt password", get("http://"+plain+"/base/x", testclient.BasicAuth(testclient.HashedUser, "nope")), 407, "proxy_auth_required", "Plain", ""},
		{"absolute unknown user", get("http://"+plain+"/base/x", testclient.BasicAuth("nobody", testclient.PlainPass)), 407, "proxy_auth_required", "Plain", ""},
		{"absolute not base64", get("http://"+plain+"/base/x", "Basic !!!"), 407, "proxy_auth_required", "Plain", ""},
		{"absolute no colon", get("http://"+plain+"/base/x", "Basic "+base64.StdEncoding.EncodeToString([]byte(testclient.PlainUser))), 407, "proxy_auth_required", "Plain", ""},
		{"absolute unknown scheme", get("http://"+plain+"/base/x", "Digest username=\"app1\""), 407, "proxy_auth_required", "Plain", ""},
		{"absolute two fields", "GET http://" + plain + "/base/x HTTP/1.1\r\nHost: x\r\nProxy-Authorization: " + testclient.BasicAuth(testclient.PlainUser, testclient.PlainPass) +
			"\r\nProxy-Authorization: " + testclient.BasicAuth(testclient.PlainUser, testclient.PlainPass) + "\r\nConnection: close\r\n\r\n", 407, "proxy_auth_required", "Plain", ""},
		{"absolute wrong token", get("http://"+plain+"/base/x", "Bearer tok-app3-wrong"), 407, "proxy_auth_required", "Plain", ""},
		{"absolute plaintext password", get("http://"+plain+"/base/x", testclient.BasicAuth(testclient.PlainUser, testclient.PlainPass)), 200, "", "", "plainpw"},
		{"absolute bcrypt password", get("http://"+plain+"/base/x", testclient.BasicAuth(testclient.HashedUser, testclient.HashedPass)), 200, "", "", "hashed"},
		{"absolute bcrypt password again (cached)", get("http://"+plain+"/base/y", testclient.BasicAuth(testclient.HashedUser, testclient.HashedPass)), 200, "", "", "hashed"},
		{"absolute lower-case scheme", get("http://"+plain+"/base/x", "basic "+base64.StdEncoding.EncodeToString([]byte(testclient.PlainUser+":"+testclient.PlainPass))), 200, "", "", "plainpw"},
		{"absolute bearer", get("http://"+plain+"/base/x", "Bearer "+testclient.BearerToken), 200, "", "", "bearer"},
		{"absolute not permitted", get("http://"+slow+"/x", testclient.BasicAuth(testclient.HashedUser, testclient.HashedPass)), 403, "not_permitted", "Slow", ""},
		{"absolute bearer permitted slow", get("http://"+slow+"/x", "Bearer "+testclient.BearerToken), 200, "", "", "bearer"},
		{"absolute unknown destination before auth", get("http://unknown.example/x", ""), 403, "unknown_destination", "", ""},

		{"callout no auth", get("/callout/Plain/x", ""), 407, "proxy_auth_required", "Plain", ""},
		{"callout wrong", get("/callout/Plain/x", testclient.BasicAuth(testclient.HashedUser, testclient.PlainPass)), 407, "proxy_auth_required", "Plain", ""},
		{"callout permitted", get("/callout/Plain/x", testclient.BasicAuth(testclient.HashedUser, testclient.HashedPass)), 200, "", "", "hashed"},
		{"callout not permitted", get("/callout/Partner/x", "Bearer "+testclient.BearerToken), 403, "not_permitted", "Partner", ""},

		{"connect no auth", connect(partner, ""), 407, "proxy_auth_required", "Partner", ""},
		{"connect wrong", connect(partner, testclient.BasicAuth(testclient.PlainUser, testclient.HashedPass)), 407, "proxy_auth_required", "Partner", ""},
		{"connect not permitted", connect(partner, testclient.BasicAuth(testclient.HashedUser, testclient.HashedPass)), 403, "not_permitted", "Partner", ""},
		{"connect permitted", connect(partner, testclient.BasicAuth(testclient.PlainUser, testclient.PlainPass)), 200, "", "", "plainpw"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e.logs.TakeAll()
			res, body := e.roundTrip(tc.req)
			if res.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, tc.status, body)
			}
			testclient.AssertNoSecrets(t, "response body", string(body))
			testclient.AssertNoSecrets(t, "response header", fmt.Sprint(res.Header))
			if tc.code == "" {
				if !strings.HasPrefix(tc.req, "CONNECT") {
					if s := decodeSeen(t, string(body)); s.Header.Get("Proxy-Authorization") != "" {
						t.Errorf("Proxy-Authorization reached the endpoint: %v", s.Header)
					}
				}
				eventually(t, "the summary line", func() bool { return e.logs.FilterMessage("request").Len() > 0 })
				if got := e.logs.FilterMessage("request").All()[0].ContextMap()[FieldClient]; got != tc.client {
					t.Errorf("summary client = %v, want %q", got, tc.client)
				}
				return
			}
			b := refusalOf(t, body)
			if b.Error != tc.code || b.NamedCredential != tc.cred {
				t.Errorf("body %+v, want error %s for %q", b, tc.code, tc.cred)
			}
			if ps := res.Header.Get("Proxy-Status"); !strings.Contains(ps, "error=http_request_denied") {
				t.Errorf("Proxy-Status %q", ps)
			}
			pa := res.Header.Values("Proxy-Authenticate")
			if tc.status == 407 {
				if len(pa) != 2 || !strings.HasPrefix(pa[0], `Basic realm="callgate"`) || pa[1] != `Bearer realm="callgate"` {
					t.Errorf("Proxy-Authenticate %q", pa)
				}
			} else if len(pa) != 0 {
				t.Errorf("Proxy-Authenticate %q on a %d", pa, tc.status)
			}
			if tc.code == "not_permitted" && !strings.Contains(b.Message, tc.cred) {
				t.Errorf("message %q does not name the credential", b.Message)
			}
			if strings.HasPrefix(tc.req, "CONNECT") && !res.Close {
				t.Error("a refused CONNECT must close the connection")
			}
		})
	}
	for _, c := range []struct{ cred, reason string }{{"Plain", "proxy_auth_required"}, {"Slow", "not_permitted"}, {"Partner", "not_permitted"}} {
		if counterValue(t, e.reg, "callgate_refusals_total", map[string]string{"named_credential": c.cred, "reason": c.reason}) == 0 {
			t.Errorf("refusals_total{%s,%s} not counted", c.cred, c.reason)
		}
	}
	e.assertLogsClean(t)
}

// TestProxyAuthGoClient: Go's http.Client with user info in the proxy URL,
// for absolute-form requests and CONNECT tunnels.
func TestProxyAuthGoClient(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: real listeners")
	}
	e := newEnv(t)
	e.setAccess(testClients(t, access.ProxyAuth{Required: true}), access.Limits{})
	client := func(user *url.Userinfo) *http.Client {
		pu := &url.URL{Scheme: "http", Host: e.addr, User: user}
		tr := &http.Transport{Proxy: http.ProxyURL(pu), TLSClientConfig: &tls.Config{RootCAs: e.ca.Pool()}}
		t.Cleanup(tr.CloseIdleConnections)
		return &http.Client{Transport: tr, Timeout: 10 * time.Second}
	}
	plainURL := fmt.Sprintf("http://plain.partner.example:%d/base/x", e.plain.port)
	partnerURL := fmt.Sprintf("https://%s:%d/v1/x", partnerHost, e.good.port)
	cases := []struct {
		name   string
		user   *url.Userinfo
		url    string
		status int    // 0: the request fails (a refused CONNECT)
		errHas string // for a failure
	}{
		{"absolute plaintext", url.UserPassword(testclient.PlainUser, testclient.PlainPass), plainURL, 200, ""},
		{"absolute bcrypt", url.UserPassword(testclient.HashedUser, testclient.HashedPass), plainURL, 200, ""},
		{"absolute wrong", url.UserPassword(testclient.HashedUser, "wrong"), plainURL, 407, ""},
		{"absolute none", nil, plainURL, 407, ""},
		{"connect plaintext", url.UserPassword(testclient.PlainUser, testclient.PlainPass), partnerURL, 200, ""},
		{"connect wrong", url.UserPassword(testclient.PlainUser, "wrong"), partnerURL, 0, "Proxy Authentication Required"},
		{"connect not permitted", url.UserPassword(testclient.HashedUser, testclient.HashedPass), partnerURL, 0, "Forbidden"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := client(tc.user).Get(tc.url)
			if tc.status == 0 {
				if err == nil {
					res.Body.Close()
					t.Fatalf("status %d, want a failed CONNECT", res.StatusCode)
				}
				if !strings.Contains(err.Error(), tc.errHas) {
					t.Errorf("error %v, want %q", err, tc.errHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, tc.status, body)
			}
			if tc.status == 407 && !strings.HasPrefix(res.Header.Get("Proxy-Authenticate"), `Basic realm="callgate"`) {
				t.Errorf("Proxy-Authenticate %q", res.Header.Get("Proxy-Authenticate"))
			}
			if tc.status == 200 && decodeSeen(t, string(body)).Header.Get("Proxy-Authorization") != "" {
				t.Error("Proxy-Authorization reached the endpoint")
			}
		})
	}
	e.assertLogsClean(t)
}

// TestProxyAuthCurl: the real curl, with user info in -x, --proxy-user and
// a bearer token in --proxy-header.
func TestProxyAuthCurl(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: real listeners and curl")
	}
	e := newEnv(t)
	e.setAccess(testClients(t, access.ProxyAuth{Required: true}), access.Limits{})
	plainURL := fmt.Sprintf("http://plain.partner.example:%d/base/x", e.plain.port)
	partnerURL := fmt.Sprintf("https://%s:%d/v1/x", partnerHost, e.good.port)
	withUser := fmt.Sprintf("http://%s:%s@%s", testclient.PlainUser, testclient.PlainPass, e.addr)
	bare := "http://" + e.addr
	cases := []struct {
		name string
		args []string
		code int    // curl exit code
		out  string // the -w output
	}{
		{"absolute user info", []string{"-x", withUser, "-o", "/dev/null", "-w", "%{http_code}", plainURL}, 0, "200"},
		{"absolute proxy-user bcrypt", []string{"-x", bare, "--proxy-user", testclient.HashedUser + ":" + testclient.HashedPass, "-o", "/dev/null", "-w", "%{http_code}", plainURL}, 0, "200"},
		{"absolute proxy-user wrong", []string{"-x", bare, "--proxy-user", testclient.HashedUser + ":x", "-o", "/dev/null", "-w", "%{http_code}", plainURL}, 0, "407"},
		{"absolute none", []string{"-x", bare, "-o", "/dev/null", "-w", "%{http_code}", plainURL}, 0, "407"},
		{"absolute bearer", []string{"-x", bare, "--proxy-header", "Proxy-Authorization: Bearer " + testclient.BearerToken, "-o", "/dev/null", "-w", "%{http_code}", plainURL}, 0, "200"},
		{"connect user info", []string{"-x", withUser, "--cacert", e.caFile, "-o", "/dev/null", "-w", "%{http_code}", partnerURL}, 0, "200"},
		{"connect proxy-user not permitted", []string{"-x", bare, "--proxy-user", testclient.HashedUser + ":" + testclient.HashedPass, "--cacert", e.caFile, "-o", "/dev/null", "-w", "%{http_connect}", partnerURL}, 56, "403"},
		{"connect none", []string{"-x", bare, "--cacert", e.caFile, "-o", "/dev/null", "-w", "%{http_connect}", partnerURL}, 56, "407"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, code := curl(t, tc.args...)
			if code != tc.code || out != tc.out {
				t.Errorf("curl exit %d, output %q; want exit %d, %q", code, out, tc.code, tc.out)
			}
		})
	}
	e.assertLogsClean(t)
}

// TestClientCIDR: clients recognised by source address; the longest
// prefix wins; Proxy-Authorization, when sent, decides instead.
func TestClientCIDR(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: real listeners")
	}
	e := newEnv(t)
	plain := fmt.Sprintf("http://plain.partner.example:%d/base/x", e.plain.port)
	slow := fmt.Sprintf("http://slow.partner.example:%d/x", e.slow.port)
	get := func(target, auth string) (int, refusalBody, string) {
		t.Helper()
		e.logs.TakeAll()
		h := ""
		if auth != "" {
			h = "Proxy-Authorization: " + auth + "\r\n"
		}
		res, body := e.roundTrip("GET " + target + " HTTP/1.1\r\nHost: x\r\n" + h + "Connection: close\r\n\r\n")
		if res.StatusCode != 200 {
			return res.StatusCode, refusalOf(t, body), ""
		}
		eventually(t, "the summary line", func() bool { return e.logs.FilterMessage("request").Len() > 0 })
		c, _ := e.logs.FilterMessage("request").All()[0].ContextMap()[FieldClient].(string)
		return 200, refusalBody{}, c
	}
	pfx := netip.MustParsePrefix

	t.Run("matching cidr", func(t *testing.T) {
		e.setAccess(testClients(t, access.ProxyAuth{},
			access.Client{Name: "loopback", CIDRs: []netip.Prefix{pfx("127.0.0.0/8")}, Permit: []string{"Slow"}},
			access.Client{Name: "local", CIDRs: []netip.Prefix{pfx("127.0.0.1/32")}, Permit: []string{"Plain"}},
			access.Client{Name: "far", CIDRs: []netip.Prefix{pfx("10.0.0.0/8")}, Permit: []string{"Plain", "Slow"}},
		), access.Limits{})
		if st, _, c := get(plain, ""); st != 200 || c != "local" {
			t.Errorf("plain: %d as %q, want 200 as local (the /32 beats the /8)", st, c)
		}
		if st, b, _ := get(slow, ""); st != 403 || b.Error != "not_permitted" || !strings.Contains(b.Message, "local") {
			t.Errorf("slow: %d %+v, want 403 not_permitted for client local", st, b)
		}
		// Credentials, when sent, decide: right ones name their client,
		// wrong ones are refused even from a known address.
		if st, _, c := get(slow, "Bearer "+testclient.BearerToken); st != 200 || c != "bearer" {
			t.Errorf("slow with token: %d as %q", st, c)
		}
		if st, b, _ := get(plain, testclient.BasicAuth(testclient.PlainUser, "wrong")); st != 407 || b.Error != "proxy_auth_required" {
			t.Errorf("wrong password from a known address: %d %+v", st, b)
		}
	})
	t.Run("no matching cidr", func(t *testing.T) {
		e.setAccess(testClients(t, access.ProxyAuth{},
			access.Client{Name: "far", CIDRs: []netip.Prefix{pfx("10.0.0.0/8"), pfx("::ffff:10.0.0.0/104")}, Permit: []string{"Plain"}},
		), access.Limits{})
		if st, b, _ := get(plain, ""); st != 403 || b.Error != "not_permitted" || b.NamedCredential != "Plain" {
			t.Errorf("not required: %d %+v, want 403 not_permitted", st, b)
		}
		e.setAccess(testClients(t, access.ProxyAuth{Required: true},
			access.Client{Name: "far", CIDRs: []netip.Prefix{pfx("10.0.0.0/8")}, Permit: []string{"Plain"}},
		), access.Limits{})
		if st, b, _ := get(plain, ""); st != 407 || b.Error != "proxy_auth_required" {
			t.Errorf("required: %d %+v, want 407", st, b)
		}
	})
}

// TestClientReload: permissions and passwords change with the snapshot,
// and a cached bcrypt verification does not outlive its hash.
func TestClientReload(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: real listeners")
	}
	e := newEnv(t)
	plain := fmt.Sprintf("http://plain.partner.example:%d/base/x", e.plain.port)
	get := func(auth string) int {
		t.Helper()
		res, _ := e.roundTrip("GET " + plain + " HTTP/1.1\r\nHost: x\r\nProxy-Authorization: " + auth + "\r\nConnection: close\r\n\r\n")
		return res.StatusCode
	}
	e.setAccess(testClients(t, access.ProxyAuth{Required: true}), access.Limits{})
	if st := get(testclient.BasicAuth(testclient.HashedUser, testclient.HashedPass)); st != 200 {
		t.Fatalf("before: %d", st)
	}
	// The same password under a new hash (a re-hash) still works; the old
	// password under a hash of another one does not, although the old
	// verification is cached.
	other, err := bcrypt.GenerateFromPassword([]byte("pw-app2-rotated"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := access.NewClients([]access.Client{{Name: "hashed", Username: testclient.HashedUser, PasswordHash: other, Permit: []string{"Plain"}}}, access.ProxyAuth{Required: true})
	if err != nil {
		t.Fatal(err)
	}
	e.setAccess(cs, access.Limits{})
	if st := get(testclient.BasicAuth(testclient.HashedUser, testclient.HashedPass)); st != 407 {
		t.Errorf("old password after rotation: %d, want 407", st)
	}
	if st := get(testclient.BasicAuth(testclient.HashedUser, "pw-app2-rotated")); st != 200 {
		t.Errorf("new password: %d, want 200", st)
	}
	// Permission withdrawn.
	cs, err = access.NewClients([]access.Client{{Name: "hashed", Username: testclient.HashedUser, PasswordHash: other, Permit: []string{"Slow"}}}, access.ProxyAuth{Required: true})
	if err != nil {
		t.Fatal(err)
	}
	e.setAccess(cs, access.Limits{})
	if st := get(testclient.BasicAuth(testclient.HashedUser, "pw-app2-rotated")); st != 403 {
		t.Errorf("after the permit was removed: %d, want 403", st)
	}
	// No client list: everyone may use everything again.
	e.setAccess(nil, access.Limits{})
	if st := get(testclient.BasicAuth("anyone", "anything")); st != 200 {
		t.Errorf("without clients: %d, want 200", st)
	}
}

// TestAccessAllocations: identity by address, permission and limit
// counting allocate nothing on the hot path.
func TestAccessAllocations(t *testing.T) {
	s, _ := routeTestServer(t)
	table := s.Snapshot().Routes
	cs, err := access.NewClients([]access.Client{{Name: "local", CIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, Permit: []string{"Orders"}}}, access.ProxyAuth{})
	if err != nil {
		t.Fatal(err)
	}
	for name, snap := range map[string]*Snapshot{
		"none":          {Routes: table},
		"cidr":          {Routes: table, Clients: cs},
		"cidr+limits":   {Routes: table, Clients: cs, Limits: access.Limits{MaxTunnels: 10, MaxRequests: 10, MaxTunnelsPerCredential: 5, MaxRequestsPerCredential: 5}},
		"limits, no id": {Routes: table, Limits: access.Limits{MaxRequests: 10}},
	} {
		s.SetSnapshot(snap)
		st := s.state.Load()
		d := table.ByName("Orders")
		r := &http.Request{RemoteAddr: "127.0.0.1:40000", Header: http.Header{}}
		allocs := testing.AllocsPerRun(200, func() {
			sum := summary{form: formCallout}
			if f := s.access(r, st, d, &sum); f != nil {
				t.Fatalf("%s: refused: %s", name, f.message)
			}
			sum.held.Release()
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per access", name, allocs)
		}
	}
	if n, _ := s.lim.Open(); n != 0 {
		t.Errorf("%d requests still counted after release", n)
	}
}
