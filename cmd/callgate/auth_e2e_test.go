package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zaptest/observer"

	"github.com/callgate/callgate/admin"
	"github.com/callgate/callgate/internal/testwait"
)

// End-to-end tests of issue 7: named credentials that carry the
// credential. Each runs an in-process callgate (authSetup) whose named
// credentials lead to a loopback HTTPS upstream that verifies every kind
// of authentication itself.

// authClientHeaders is what a client adds that must not reach an
// endpoint: its own Authorization (unless passed through), proxy
// credentials, and a hop-by-hop field named by Connection.
func authClientHeaders() http.Header {
	return http.Header{
		"Authorization":       {authClientAuthz},
		"Proxy-Authorization": {authProxyAuthz},
		"Connection":          {"X-Hop-Field"},
		"X-Hop-Field":         {"hop"},
		"X-Client-Trace":      {"trace-1"},
	}
}

// assertNoClientLeftovers checks what the upstream saw for label: no
// Proxy-* or hop field, and the client's Authorization only if passed.
func assertNoClientLeftovers(t *testing.T, seen authSeen, clientAuthzPasses bool) {
	t.Helper()
	for k := range seen.header {
		if strings.HasPrefix(k, "Proxy-") {
			t.Errorf("%s: %s reached the upstream", seen.label, k)
		}
	}
	if seen.header.Get("X-Hop-Field") != "" {
		t.Errorf("%s: the hop-by-hop X-Hop-Field reached the upstream", seen.label)
	}
	if seen.header.Get("X-Client-Trace") != "trace-1" {
		t.Errorf("%s: an end-to-end client header was dropped: %v", seen.label, seen.header)
	}
	got := seen.header.Values("Authorization")
	passed := len(got) == 1 && got[0] == authClientAuthz
	switch {
	case clientAuthzPasses && !passed:
		t.Errorf("%s: Authorization %q, want the client's own passed through", seen.label, got)
	case !clientAuthzPasses:
		for _, v := range got {
			if v == authClientAuthz {
				t.Errorf("%s: the client's own Authorization reached the upstream: %q", seen.label, got)
			}
		}
	}
}

// TestAuthStaticKinds: basic (password file), bearer (environment
// variable, through the real curl) and headers (a file and a literal),
// each verified by the upstream; the client's own Authorization and
// Proxy-Authorization never reach it.
func TestAuthStaticKinds(t *testing.T) {
	e := authSetup(t)

	t.Run("basic", func(t *testing.T) {
		resp, body := e.callout(http.MethodGet, "Basic", "orders/1?x=1", authClientHeaders(), nil)
		e.mustVerify(resp, body, "basic")
		seen, _ := e.up.last("basic")
		if seen.uri != "/api/orders/1?x=1" {
			t.Errorf("upstream request target %q, want the base path + path + query", seen.uri)
		}
		if got := seen.header.Values("Authorization"); len(got) != 1 || got[0] != "Basic "+authBasicToken(e.sec.basic) {
			t.Errorf("Authorization %q, want one Basic credential", got)
		}
		assertNoClientLeftovers(t, seen, false)
	})

	t.Run("bearer via curl", func(t *testing.T) {
		e2eNeedCurl(t)
		out, err := e2eCurl(t, "-H", "Authorization: "+authClientAuthz, "-H", "Proxy-Authorization: "+authProxyAuthz,
			"-H", "X-Client-Trace: trace-1", "-w", "\n%{http_code}",
			"http://"+e.s.ProxyAddr()+"/callout/Bearer/orders/2")
		if err != nil {
			t.Fatal(err)
		}
		if want := "verified bearer GET /api/orders/2 0\n200"; out != want {
			seen, _ := e.up.last("bearer")
			t.Fatalf("curl output %q, want %q (upstream: %q)", out, want, seen.rejected)
		}
		seen, _ := e.up.last("bearer")
		assertNoClientLeftovers(t, seen, false)
	})

	t.Run("headers", func(t *testing.T) {
		hdr := authClientHeaders()
		hdr["X-Api-Key"] = []string{"client-forged-key"} // the credential's value replaces it
		resp, body := e.callout(http.MethodPost, "Headers", "orders", hdr, strings.NewReader(`{"n":1}`))
		e.mustVerify(resp, body, "headers")
		seen, _ := e.up.last("headers")
		if string(seen.body) != `{"n":1}` {
			t.Errorf("body %q", seen.body)
		}
		// A headers credential that does not set Authorization still
		// removes the client's (it did not ask to pass it through).
		if got := seen.header.Values("Authorization"); len(got) != 0 {
			t.Errorf("Authorization %q reached the upstream", got)
		}
		assertNoClientLeftovers(t, seen, false)
	})
}

// TestAuthClientAuthorization: pass_client_authorization keeps the
// client's Authorization beside the injected headers; a credential without
// an auth block injects nothing and forwards the client's request as is;
// Proxy-* and hop-by-hop fields never reach any endpoint.
func TestAuthClientAuthorization(t *testing.T) {
	e := authSetup(t)
	cases := []struct {
		name, label string
		passes      bool
	}{
		{"Passthrough", "passthrough", true},
		{"NoAuth", "noauth", true},
		{"Bearer", "bearer", false},
		{"SigV4", "sigv4", false},
		{"OAuth", "oauth", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := e.callout(http.MethodGet, tc.name, "me", authClientHeaders(), nil)
			e.mustVerify(resp, body, tc.label)
			seen, _ := e.up.last(tc.label)
			assertNoClientLeftovers(t, seen, tc.passes)
		})
	}
}

// TestAuthOAuth2ClientCredentials: the token is fetched once and reused,
// refreshed before it expires, fetched once for 20 concurrent callouts,
// and a failing token endpoint is a 502 that names no secret.
func TestAuthOAuth2ClientCredentials(t *testing.T) {
	e := authSetup(t)

	t.Run("reused across requests", func(t *testing.T) {
		for i := range 5 {
			resp, body := e.callout(http.MethodGet, "OAuth", fmt.Sprintf("orders/%d", i), authClientHeaders(), nil)
			e.mustVerify(resp, body, "oauth")
		}
		if n := e.tokens.count("long"); n != 1 {
			t.Errorf("%d token requests for 5 callouts, want 1", n)
		}
		e.tokens.mu.Lock()
		form := e.tokens.last["long"]
		e.tokens.mu.Unlock()
		if form.Get("scope") != "orders.read" || form.Get("audience") != "https://api.partner.test" {
			t.Errorf("token request form %v: want scope orders.read and the audience", form)
		}
		seen, _ := e.up.last("oauth")
		assertNoClientLeftovers(t, seen, false)
	})

	t.Run("refreshed after expiry", func(t *testing.T) {
		// expires_in 2s: the token is reused at first, then replaced
		// before the upstream would find it expired (it refuses those).
		resp, body := e.callout(http.MethodGet, "OAuthShort", "a", nil, nil)
		e.mustVerify(resp, body, "oauth-short")
		first, _ := e.up.last("oauth-short")
		resp, body = e.callout(http.MethodGet, "OAuthShort", "b", nil, nil)
		e.mustVerify(resp, body, "oauth-short")
		second, _ := e.up.last("oauth-short")
		if a, b := first.header.Get("Authorization"), second.header.Get("Authorization"); a != b {
			t.Errorf("a fresh token was not reused")
		}
		if n := e.tokens.count("short"); n != 1 {
			t.Fatalf("%d token requests before expiry, want 1", n)
		}
		testwait.UntilExplained(t, authWaitMax, "a refreshed token", func() (bool, string) {
			resp, body := e.callout(http.MethodGet, "OAuthShort", "c", nil, nil)
			e.mustVerify(resp, body, "oauth-short")
			last, _ := e.up.last("oauth-short")
			return last.header.Get("Authorization") != first.header.Get("Authorization"), "still the first token"
		})
		if n := e.tokens.count("short"); n != 2 {
			t.Errorf("%d token requests after one refresh, want 2", n)
		}
	})

	t.Run("one token request under concurrency", func(t *testing.T) {
		const n = 20
		var wg sync.WaitGroup
		errs := make(chan string, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("http://%s/callout/OAuthBurst/c/%d", e.s.ProxyAddr(), i), nil)
				resp, err := e.client.Do(req)
				if err != nil {
					errs <- err.Error()
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					errs <- fmt.Sprintf("%s %s", resp.Status, b)
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if got := e.up.count("oauth-burst"); got != n {
			t.Errorf("the upstream saw %d callouts, want %d", got, n)
		}
		if got := e.tokens.count("burst"); got != 1 {
			t.Errorf("%d token requests for %d concurrent callouts, want 1", got, n)
		}
	})

	t.Run("token endpoint fails", func(t *testing.T) {
		resp, body := e.callout(http.MethodGet, "OAuthFail", "x", nil, nil)
		r := e2eRefused(t, resp, body, http.StatusBadGateway, "credential_unavailable", "destination_unavailable")
		if r.NamedCredential != "OAuthFail" || r.Connection != "orders" {
			t.Errorf("refusal %+v: want the named credential and its connection", r)
		}
		if e.tokens.count("failing") == 0 {
			t.Error("the token endpoint was never asked")
		}
		if n := e.up.count("oauth-fail"); n != 0 {
			t.Errorf("the upstream was called %d times without a token", n)
		}
		if strings.Contains(body+resp.Header.Get("Proxy-Status"), "MARKER-") {
			t.Errorf("the refusal carries a secret: %s", body)
		}
	})
}

// authUnsizedReader hides its length, so the client sends it chunked.
type authUnsizedReader struct{ r io.Reader }

func (u authUnsizedReader) Read(p []byte) (int, error) { return u.r.Read(p) }

// TestAuthSigV4: requests signed with the SDK's v4 signer from the
// default credential chain (static test keys in the environment), verified
// on the upstream by recomputing the signature; bodies hashed whether sent
// with a length or chunked; unsigned_payload; a body too large to sign is a
// 413 and a broken body a 400.
func TestAuthSigV4(t *testing.T) {
	e := authSetup(t)
	payload := bytes.Repeat([]byte(`{"order":"42","lines":[1,2,3]}`), 100)

	t.Run("GET", func(t *testing.T) {
		resp, body := e.callout(http.MethodGet, "SigV4", "orders/42?expand=lines&a=b%20c", authClientHeaders(), nil)
		e.mustVerify(resp, body, "sigv4")
		seen, _ := e.up.last("sigv4")
		assertNoClientLeftovers(t, seen, false)
	})
	t.Run("POST with a length", func(t *testing.T) {
		resp, body := e.callout(http.MethodPost, "SigV4", "orders", http.Header{"Content-Type": {"application/json"}}, bytes.NewReader(payload))
		e.mustVerify(resp, body, "sigv4")
		if seen, _ := e.up.last("sigv4"); !bytes.Equal(seen.body, payload) {
			t.Errorf("the upstream got %d bytes, want the %d sent", len(seen.body), len(payload))
		}
	})
	t.Run("POST chunked", func(t *testing.T) {
		resp, body := e.callout(http.MethodPost, "SigV4", "orders", nil, authUnsizedReader{bytes.NewReader(payload)})
		e.mustVerify(resp, body, "sigv4")
		if seen, _ := e.up.last("sigv4"); !bytes.Equal(seen.body, payload) {
			t.Errorf("the upstream got %d bytes, want the %d sent", len(seen.body), len(payload))
		}
	})
	t.Run("unsigned payload streams", func(t *testing.T) {
		resp, body := e.callout(http.MethodPut, "SigV4Unsigned", "bucket/key", nil, authUnsizedReader{bytes.NewReader(payload)})
		e.mustVerify(resp, body, "sigv4-unsigned")
		if seen, _ := e.up.last("sigv4-unsigned"); !bytes.Equal(seen.body, payload) {
			t.Errorf("the upstream got %d bytes, want the %d sent", len(seen.body), len(payload))
		}
	})

	before := e.up.count("sigv4")
	t.Run("body too large to sign", func(t *testing.T) {
		big := bytes.Repeat([]byte{'x'}, 10<<20+1) // credauth's default limit is 10 MiB
		resp, body := e.callout(http.MethodPost, "SigV4", "upload", nil, bytes.NewReader(big))
		r := e2eRefused(t, resp, body, http.StatusRequestEntityTooLarge, "request_too_large", "http_request_error")
		if r.NamedCredential != "SigV4" {
			t.Errorf("refusal %+v", r)
		}
		resp, body = e.callout(http.MethodPost, "SigV4", "upload", nil, authUnsizedReader{bytes.NewReader(big)})
		e2eRefused(t, resp, body, http.StatusRequestEntityTooLarge, "request_too_large", "http_request_error")
	})
	t.Run("body cut short", func(t *testing.T) {
		c, err := net.Dial("tcp", e.s.ProxyAddr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(authWaitMax))
		fmt.Fprintf(c, "POST /callout/SigV4/orders HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789")
		_ = c.(*net.TCPConn).CloseWrite()
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		e2eRefused(t, resp, string(b), http.StatusBadRequest, "bad_request", "http_request_error")
	})
	if n := e.up.count("sigv4"); n != before {
		t.Errorf("refused bodies reached the upstream (%d requests)", n-before)
	}
}

// TestAuthMTLS: the upstream requires a client certificate from the test
// CA; the credential with tls.client_cert_file/client_key_file gets
// through, the one without is refused.
func TestAuthMTLS(t *testing.T) {
	e := authSetup(t)
	resp, body := e.callout(http.MethodGet, "MTLS", "orders", nil, nil)
	e.mustVerify(resp, body, "mtls")

	resp, body = e.callout(http.MethodGet, "NoMTLS", "orders", nil, nil)
	if resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("without a client certificate: %s %s, want 502", resp.Status, body)
	}
	// The endpoint's "certificate required" alert: RFC 9209 tls_alert_received.
	r := e2eRefused(t, resp, body, http.StatusBadGateway, "upstream_unreachable", "tls_alert_received")
	if r.NamedCredential != "NoMTLS" {
		t.Errorf("refusal %+v", r)
	}
	if n := e.up.count("nomtls"); n != 0 {
		t.Errorf("a request without a client certificate reached the handler %d times", n)
	}
}

// TestAuthSecretRotation: a secret file replaced by rename is used by the
// next callouts, without a reload.
func TestAuthSecretRotation(t *testing.T) {
	e := authSetup(t)
	for _, tc := range []struct {
		name, label, file string
		set               func(v string)
	}{
		{"Basic", "basic", e.files.basic, func(v string) { e.mu.Lock(); e.wantBasic = v; e.mu.Unlock() }},
		{"Headers", "headers", e.files.apiKey, func(v string) { e.mu.Lock(); e.wantAPIKey = v; e.mu.Unlock() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := e.callout(http.MethodGet, tc.name, "before", nil, nil)
			e.mustVerify(resp, body, tc.label)
			rotated := authMarker(tc.label + "-rotated")
			tc.set(rotated) // the upstream now accepts only the new value
			writeFile(t, tc.file, rotated+"\n")
			testwait.UntilExplained(t, authWaitMax, "the rotated secret in use", func() (bool, string) {
				resp, body := e.callout(http.MethodGet, tc.name, "after", nil, nil)
				return resp.StatusCode == http.StatusOK, resp.Status + " " + body
			})
			// And it stays in use.
			resp, body = e.callout(http.MethodGet, tc.name, "again", nil, nil)
			e.mustVerify(resp, body, tc.label)
		})
	}
	// Passthrough reads the same file: it rotated too.
	resp, body := e.callout(http.MethodGet, "Passthrough", "x", nil, nil)
	e.mustVerify(resp, body, "passthrough")
	if e.logs.FilterMessage("secret file reloaded").Len() == 0 {
		t.Error("no rotation was logged")
	}
}

// TestAuthReloadSecretErrors: a reload whose secret file is missing or
// empty fails with an error naming the credential and the file, and the
// running config keeps serving.
func TestAuthReloadSecretErrors(t *testing.T) {
	e := authSetup(t)
	empty := filepath.Join(e.dir, "secrets", "empty-password")
	writeFile(t, empty, "")
	missing := filepath.Join(e.dir, "secrets", "missing-password")
	for _, tc := range []struct{ name, file, want string }{
		{"missing file", missing, "no such file"},
		{"empty file", empty, "empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			failures := metricSum(t, e.reg, "callgate_config_reloads_total", map[string]string{"result": "failure"})
			writeFile(t, e.cfgPath, strings.Replace(e.cfg, fmt.Sprintf("%q", e.files.basic), fmt.Sprintf("%q", tc.file), 1))
			err := e.s.app.reloader.Reload(context.Background())
			if err == nil {
				t.Fatal("the reload was accepted")
			}
			for _, w := range []string{`"Basic"`, tc.file, tc.want} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("reload error %q does not mention %s", err, w)
				}
			}
			// The admin API reports the same error.
			code, body := e.admin(http.MethodPost, "/-/reload")
			if code != http.StatusBadRequest || !strings.Contains(body, "Basic") || !strings.Contains(body, filepath.Base(tc.file)) {
				t.Errorf("POST /-/reload: %d %s", code, body)
			}
			if got := metricSum(t, e.reg, "callgate_config_reloads_total", map[string]string{"result": "failure"}); got != failures+2 {
				t.Errorf("reload failures %v → %v, want +2", failures, got)
			}
			// The old config, and its injector, keep serving.
			resp, body := e.callout(http.MethodGet, "Basic", "still", nil, nil)
			e.mustVerify(resp, body, "basic")
		})
	}
	writeFile(t, e.cfgPath, e.cfg)
	if err := e.s.app.reloader.Reload(context.Background()); err != nil {
		t.Fatalf("reload of the good config: %v", err)
	}
	resp, body := e.callout(http.MethodGet, "Basic", "after", nil, nil)
	e.mustVerify(resp, body, "basic")
}

// TestAuthSecretsNeverLeak runs every kind with unique marker secrets
// through success and failure paths, and asserts that no marker (nor the
// Basic credential's encoding) appears in callgate's logs, its metrics, its
// admin API output, reload errors or refusal bodies. It also checks what
// GET /v1/named-credentials says about each credential.
func TestAuthSecretsNeverLeak(t *testing.T) {
	e := authSetup(t)
	var outputs []string // everything callgate said, besides upstream bodies
	record := func(what string, resp *http.Response, body string) {
		var h strings.Builder
		_ = resp.Header.Write(&h)
		outputs = append(outputs, what+"\n"+h.String()+"\n"+body)
	}
	adminGet := func(path string) string {
		code, body := e.admin(http.MethodGet, path)
		if code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, code, body)
		}
		outputs = append(outputs, "GET "+path+"\n"+body)
		return body
	}
	wantKinds := map[string]string{
		"Basic": "basic", "Bearer": "bearer", "Headers": "headers", "Passthrough": "headers",
		"OAuth": "oauth2_client_credentials", "OAuthShort": "oauth2_client_credentials",
		"OAuthBurst": "oauth2_client_credentials", "OAuthFail": "oauth2_client_credentials",
		"SigV4": "aws_sigv4", "SigV4Unsigned": "aws_sigv4",
		"MTLS": "none", "NoMTLS": "none", "NoAuth": "none", "IdP": "none",
	}
	checkViews := func(sigv4Loaded bool) {
		t.Helper()
		var views []admin.CredentialView
		if err := json.Unmarshal([]byte(adminGet("/v1/named-credentials")), &views); err != nil {
			t.Fatal(err)
		}
		if len(views) != len(wantKinds) {
			t.Errorf("%d named credentials listed, want %d", len(views), len(wantKinds))
		}
		for _, v := range views {
			if v.AuthType != wantKinds[v.Name] {
				t.Errorf("%s: auth_type %q, want %q", v.Name, v.AuthType, wantKinds[v.Name])
			}
			// aws_sigv4 knows it has credentials once the SDK returned
			// them for a request; the others once their secrets loaded.
			want := true
			if v.AuthType == "aws_sigv4" {
				want = sigv4Loaded
			}
			if v.SecretLoaded != want {
				t.Errorf("%s: secret_loaded %v, want %v", v.Name, v.SecretLoaded, want)
			}
		}
	}
	checkViews(false)

	// Success paths for every kind.
	for _, c := range []struct{ name, label, method string }{
		{"Basic", "basic", http.MethodGet}, {"Bearer", "bearer", http.MethodGet},
		{"Headers", "headers", http.MethodGet}, {"Passthrough", "passthrough", http.MethodGet},
		{"OAuth", "oauth", http.MethodGet}, {"OAuthShort", "oauth-short", http.MethodGet},
		{"SigV4", "sigv4", http.MethodPost}, {"SigV4Unsigned", "sigv4-unsigned", http.MethodPut},
		{"MTLS", "mtls", http.MethodGet}, {"NoAuth", "noauth", http.MethodGet},
	} {
		var body io.Reader
		if c.method != http.MethodGet {
			body = strings.NewReader(`{"x":1}`)
		}
		resp, rb := e.callout(c.method, c.name, "ok", authClientHeaders(), body)
		e.mustVerify(resp, rb, c.label)
		record("callout "+c.name, resp, rb)
	}
	// Failure paths: a token endpoint that refuses (and echoes the secret
	// it got), a refused client certificate, a body too large to sign, an
	// unknown credential.
	for _, c := range []struct {
		name   string
		status int
		body   io.Reader
	}{
		{"OAuthFail", http.StatusBadGateway, nil},
		{"OAuthFail", http.StatusBadGateway, nil},
		{"NoMTLS", http.StatusBadGateway, nil},
		{"SigV4", http.StatusRequestEntityTooLarge, bytes.NewReader(make([]byte, 10<<20+1))},
		{"Nobody", http.StatusForbidden, nil},
	} {
		resp, rb := e.callout(http.MethodPost, c.name, "fail", authClientHeaders(), c.body)
		if resp.StatusCode != c.status {
			t.Errorf("%s: %s %s, want %d", c.name, resp.Status, rb, c.status)
		}
		record("callout "+c.name, resp, rb)
	}
	checkViews(true)

	adminGet("/metrics")
	adminGet("/v1/connections")
	adminGet("/v1/connections/orders")
	adminGet("/readyz")

	// Broken reloads: a missing and an empty secret file, and a literal
	// header value (a marker) that cannot be sent.
	emptyFile := filepath.Join(e.dir, "secrets", "empty")
	writeFile(t, emptyFile, "")
	broken := []string{
		strings.Replace(e.cfg, fmt.Sprintf("%q", e.files.apiKey), fmt.Sprintf("%q", filepath.Join(e.dir, "nope")), 1),
		strings.Replace(e.cfg, fmt.Sprintf("%q", e.files.oauth), fmt.Sprintf("%q", emptyFile), 1),
		strings.Replace(e.cfg, fmt.Sprintf("%q", e.sec.literal), fmt.Sprintf(`"%s\u0001"`, e.sec.literal), 1),
	}
	for i, cfg := range broken {
		writeFile(t, e.cfgPath, cfg)
		code, body := e.admin(http.MethodPost, "/-/reload")
		if code != http.StatusBadRequest {
			t.Errorf("broken reload %d: %d %s, want 400", i, code, body)
		}
		outputs = append(outputs, fmt.Sprintf("POST /-/reload (broken %d)\n%s", i, body))
	}
	writeFile(t, e.cfgPath, e.cfg)
	if code, body := e.admin(http.MethodPost, "/-/reload"); code != http.StatusOK {
		t.Errorf("good reload: %d %s", code, body)
	}
	adminGet("/metrics")
	adminGet("/v1/named-credentials")

	// The capture must have seen what it guards: the summaries, the token
	// failure, the reload failures.
	for _, msg := range []string{"oauth2 token request failed", "config reload failed"} {
		if e.logs.FilterMessageSnippet(msg).Len() == 0 {
			t.Errorf("no %q log line was captured", msg)
		}
	}
	logs := authLogText(e.logs)
	if len(logs) < 20 {
		t.Errorf("only %d log entries captured", len(logs))
	}
	outputs = append(outputs, logs...)

	secrets := append(e.sec.all(), "MARKER-", authBasicToken(e.sec.basic))
	secrets = append(secrets, e.tokens.tokens("long")...)
	secrets = append(secrets, e.tokens.tokens("short")...)
	for _, out := range outputs {
		for _, s := range secrets {
			if strings.Contains(out, s) {
				t.Errorf("a secret (%.14s…) leaked in:\n%s", s, out)
			}
		}
	}
	if t.Failed() {
		fmt.Fprintf(os.Stderr, "captured %d outputs\n", len(outputs))
	}
}

// authLogText renders every captured log entry with all its fields.
func authLogText(logs *observer.ObservedLogs) []string {
	var out []string
	for _, en := range logs.All() {
		out = append(out, fmt.Sprintf("log %s %s %q %v %s", en.Level, en.LoggerName, en.Message, en.ContextMap(), en.Stack))
	}
	return out
}
