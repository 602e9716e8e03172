package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/callgate/callgate/internal/certgen"
	"github.com/callgate/callgate/internal/testwait"
)

// The auth end-to-end fixture: an in-process callgate (simulated AWS, no
// warm-up) with one named credential per kind of authentication, all on
// the connection "orders", whose endpoint leads to one loopback HTTPS
// upstream. The upstream tells the credentials apart by Host and verifies
// each credential's authentication itself. The OAuth 2.0 token endpoint
// runs on loopback too, as https://idp.partner.test: that host is the
// named credential IdP, on its own connection "idp", so token requests
// take that connection (the name resolves nowhere else).

const (
	authUser      = "svc-callgate"
	authDomain    = "partner.test"
	authIdPHost   = "idp." + authDomain
	authBearerEnv = "CALLGATE_AUTH_E2E_BEARER"
	authAWSKeyID  = "AKIDCALLGATEE2ETEST"
	authRegion    = "us-east-1"
	// authClientAuthz is what a client sends as its own Authorization:
	// it must reach the upstream only where the credential passes it.
	authClientAuthz = "Bearer client-own-token"
	authProxyAuthz  = "Basic Y2xpZW50OnByb3h5LXBhc3N3b3Jk"
	// authTokenDelay holds the burst client's token response, so that
	// concurrent callouts really wait on one request in flight.
	authTokenDelay = 300 * time.Millisecond
	authWaitMax    = 10 * time.Second
)

// authMarker is a unique secret value: a leak test finds it by "MARKER-".
func authMarker(kind string) string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "MARKER-" + kind + "-" + hex.EncodeToString(b)
}

// authSecrets are the secret values of one fixture, each a marker.
type authSecrets struct {
	basic, bearer, apiKey, literal, oauth, failing, awsSecret string
}

func (s authSecrets) all() []string {
	return []string{s.basic, s.bearer, s.apiKey, s.literal, s.oauth, s.failing, s.awsSecret}
}

// authEnv is one running fixture.
type authEnv struct {
	t       *testing.T
	dir     string
	cfgPath string
	cfg     string // the config file's content
	sec     authSecrets
	files   struct{ basic, apiKey, oauth, failing string }
	up      *authUpstream
	tokens  *authTokenServer
	s       *server
	reg     *prometheus.Registry
	logs    *observer.ObservedLogs
	client  *http.Client

	// Expected current values, changed by rotation tests before the file.
	mu         sync.Mutex
	wantBasic  string
	wantAPIKey string
}

func (e *authEnv) expect() (basic, apiKey string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.wantBasic, e.wantAPIKey
}

// authSetup starts the fixture. Environment secrets and the AWS default
// chain's variables are set with t.Setenv, so callers cannot be parallel.
func authSetup(t *testing.T) *authEnv {
	t.Helper()
	if testing.Short() {
		t.Skip("integration: in-process callgate, loopback upstream and token endpoint")
	}
	e := &authEnv{t: t, dir: t.TempDir()}
	e.sec = authSecrets{
		basic: authMarker("basic"), bearer: authMarker("bearer"), apiKey: authMarker("apikey"),
		literal: authMarker("literal"), oauth: authMarker("oauth"), failing: authMarker("oauthfail"),
		awsSecret: authMarker("aws"),
	}
	e.wantBasic, e.wantAPIKey = e.sec.basic, e.sec.apiKey

	secrets := filepath.Join(e.dir, "secrets")
	if err := os.Mkdir(secrets, 0o700); err != nil {
		t.Fatal(err)
	}
	e.files.basic = filepath.Join(secrets, "basic-password")
	e.files.apiKey = filepath.Join(secrets, "api-key")
	e.files.oauth = filepath.Join(secrets, "client-secret")
	e.files.failing = filepath.Join(secrets, "failing-secret")
	writeFile(t, e.files.basic, e.sec.basic+"\n")
	writeFile(t, e.files.apiKey, e.sec.apiKey)
	writeFile(t, e.files.oauth, e.sec.oauth+"\n")
	writeFile(t, e.files.failing, e.sec.failing)

	// Environment secrets, and an AWS default chain that can only find the
	// static test keys (never a developer's profile or an instance role).
	t.Setenv(authBearerEnv, e.sec.bearer)
	t.Setenv("AWS_ACCESS_KEY_ID", authAWSKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", e.sec.awsSecret)
	for _, k := range []string{"AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ROLE_ARN",
		"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"} {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(e.dir, "no-aws-config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(e.dir, "no-aws-credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")

	ca, err := certgen.NewCA("callgate auth e2e CA")
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(e.dir, "ca.pem")
	if err := os.WriteFile(caFile, ca.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	client, err := ca.Client("callgate-client")
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile, err := client.WriteFiles(e.dir, "client-")
	if err != nil {
		t.Fatal(err)
	}

	e.tokens = authStartTokenServer(t, ca, map[string]authClient{
		"long":    {secret: e.sec.oauth, expiresIn: 3600},
		"short":   {secret: e.sec.oauth, expiresIn: 2},
		"burst":   {secret: e.sec.oauth, expiresIn: 3600, delay: authTokenDelay},
		"failing": {secret: "not-the-configured-secret", expiresIn: 3600},
	})
	e.up = authStartUpstream(t, ca, e.verifiers())
	e.cfg = authConfig(e.up.port, e.tokens.port, caFile, certFile, keyFile, e.sec.literal, e.files)
	e.cfgPath = filepath.Join(e.dir, "callgate.yaml")
	writeFile(t, e.cfgPath, e.cfg)

	core, logs := observer.New(zapcore.DebugLevel)
	e.logs = logs
	e.s, e.reg = opsStart(t, e.cfgPath, zap.New(core), false)
	testwait.UntilExplained(t, authWaitMax, "the idp connection admits traffic", func() (bool, string) {
		return e.s.app.manager.Admit("idp").Allowed(), "not yet"
	})
	// Shutdown (a t.Cleanup of opsStart) runs before the fixture's
	// servers close: cleanups run last-registered first.
	e.client = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 32}}
	t.Cleanup(e.client.CloseIdleConnections)
	return e
}

// authConfig renders the fixture's config. Every https credential trusts
// the test CA; only MTLS presents a client certificate.
func authConfig(port, tokenPort, caFile, certFile, keyFile, literal string, files struct{ basic, apiKey, oauth, failing string }) string {
	tokenURL := "https://" + authIdPHost + ":" + tokenPort + "/oauth2/token"
	var b strings.Builder
	fmt.Fprintf(&b, `listen: {proxy: 127.0.0.1:0, admin: 127.0.0.1:0}
warmup: 0s
sync: {interval: 1s}
aws:
  mode: simulated
  simulated:
    delays: {allocating: 0s, pending_acceptance: 0s, pending: 0s, deleting: 0s}
    services:
      com.amazonaws.vpce.us-east-1.vpce-svc-0aaaaaaaaaaaaaaa1: 127.0.0.1:%s
      com.amazonaws.vpce.us-east-1.vpce-svc-0aaaaaaaaaaaaaaa2: 127.0.0.1:%s
outbound_connections:
  - name: orders
    description: auth end-to-end
    service_name: com.amazonaws.vpce.us-east-1.vpce-svc-0aaaaaaaaaaaaaaa1
    provision: true
  - name: idp
    description: the OAuth 2.0 token endpoint
    service_name: com.amazonaws.vpce.us-east-1.vpce-svc-0aaaaaaaaaaaaaaa2
    provision: true
named_credentials:
  - name: IdP
    url: https://%s:%s
    outbound_network_connection: idp
    tls: {ca_file: %q}
`, port, tokenPort, authIdPHost, tokenPort, caFile)
	cred := func(name, host, tlsBlock, auth string) {
		fmt.Fprintf(&b, "  - name: %s\n    url: https://%s.%s:%s/api\n    outbound_network_connection: orders\n    tls: {ca_file: %q%s}\n",
			name, host, authDomain, port, caFile, tlsBlock)
		if auth != "" {
			fmt.Fprintf(&b, "    auth:\n%s", auth)
		}
	}
	oauth := func(client, secretFile, extra string) string {
		return fmt.Sprintf("      oauth2_client_credentials:\n        token_url: %s\n        client_id: %s\n        client_secret_file: %q\n%s",
			tokenURL, client, secretFile, extra)
	}
	cred("Basic", "basic", "", fmt.Sprintf("      basic: {username: %s, password_file: %q}\n", authUser, files.basic))
	cred("Bearer", "bearer", "", fmt.Sprintf("      bearer: {token_env: %s}\n", authBearerEnv))
	cred("Headers", "headers", "", fmt.Sprintf("      headers:\n        - {name: X-Api-Key, value_file: %q}\n        - {name: X-Tenant, value: %q}\n",
		files.apiKey, literal))
	cred("OAuth", "oauth", "", oauth("long", files.oauth, "        scopes: [orders.read]\n        audience: https://api.partner.test\n"))
	cred("OAuthShort", "oauth-short", "", oauth("short", files.oauth, ""))
	cred("OAuthBurst", "oauth-burst", "", oauth("burst", files.oauth, ""))
	cred("OAuthFail", "oauth-fail", "", oauth("failing", files.failing, ""))
	cred("SigV4", "sigv4", "", fmt.Sprintf("      aws_sigv4: {service: execute-api, region: %s}\n", authRegion))
	cred("SigV4Unsigned", "sigv4-unsigned", "", fmt.Sprintf("      aws_sigv4: {service: s3, region: %s, unsigned_payload: true}\n", authRegion))
	cred("MTLS", "mtls", fmt.Sprintf(", client_cert_file: %q, client_key_file: %q", certFile, keyFile), "")
	cred("NoMTLS", "nomtls", "", "")
	cred("Passthrough", "passthrough", "", fmt.Sprintf("      pass_client_authorization: true\n      headers:\n        - {name: X-Api-Key, value_file: %q}\n", files.apiKey))
	cred("NoAuth", "noauth", "", "")
	return b.String()
}

// verifiers checks each credential's authentication on the upstream, by
// host label. An error never quotes the secret.
func (e *authEnv) verifiers() map[string]func(*http.Request, []byte) error {
	bearer := func(want func() string) func(*http.Request, []byte) error {
		return func(r *http.Request, _ []byte) error {
			if r.Header.Get("Authorization") != "Bearer "+want() {
				return errors.New("wrong bearer token")
			}
			return nil
		}
	}
	oauth := func(client string) func(*http.Request, []byte) error {
		return func(r *http.Request, _ []byte) error {
			tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok {
				return errors.New("no bearer token")
			}
			return e.tokens.valid(tok, client)
		}
	}
	creds := aws.Credentials{AccessKeyID: authAWSKeyID, SecretAccessKey: e.sec.awsSecret}
	return map[string]func(*http.Request, []byte) error{
		"basic": func(r *http.Request, _ []byte) error {
			u, p, ok := r.BasicAuth()
			want, _ := e.expect()
			if !ok || u != authUser || p != want {
				return errors.New("wrong basic credentials")
			}
			return nil
		},
		"bearer": bearer(func() string { return e.sec.bearer }),
		"headers": func(r *http.Request, _ []byte) error {
			_, key := e.expect()
			if r.Header.Get("X-Api-Key") != key || len(r.Header.Values("X-Api-Key")) != 1 {
				return errors.New("wrong X-Api-Key")
			}
			if r.Header.Get("X-Tenant") != e.sec.literal {
				return errors.New("wrong X-Tenant")
			}
			return nil
		},
		"oauth":          oauth("long"),
		"oauth-short":    oauth("short"),
		"oauth-burst":    oauth("burst"),
		"oauth-fail":     oauth("failing"),
		"sigv4":          func(r *http.Request, body []byte) error { return authVerifySigV4(r, body, creds, "execute-api", false) },
		"sigv4-unsigned": func(r *http.Request, body []byte) error { return authVerifySigV4(r, body, creds, "s3", true) },
		"mtls": func(r *http.Request, _ []byte) error {
			if len(r.TLS.PeerCertificates) == 0 || r.TLS.PeerCertificates[0].Subject.CommonName != "callgate-client" {
				return errors.New("no client certificate")
			}
			return nil
		},
		"nomtls": func(*http.Request, []byte) error { return nil }, // the handshake already refused it
		"passthrough": func(r *http.Request, _ []byte) error {
			if _, key := e.expect(); r.Header.Get("X-Api-Key") != key {
				return errors.New("wrong X-Api-Key")
			}
			return nil
		},
		"noauth": func(*http.Request, []byte) error { return nil },
	}
}

// authVerifySigV4 recomputes the request's SigV4 signature with the same
// signer and the known test credentials, over the headers the request says
// it signed and the body as received, and compares the Authorization.
func authVerifySigV4(r *http.Request, body []byte, creds aws.Credentials, service string, unsigned bool) error {
	authz := r.Header.Get("Authorization")
	_, signedList, ok := strings.Cut(authz, "SignedHeaders=")
	if !strings.HasPrefix(authz, "AWS4-HMAC-SHA256 Credential="+creds.AccessKeyID+"/") || !ok {
		return errors.New("not a SigV4 Authorization with the test access key")
	}
	signedList, _, _ = strings.Cut(signedList, ",")
	signed := strings.Split(signedList, ";")
	at, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		return fmt.Errorf("X-Amz-Date: %w", err)
	}
	hash := r.Header.Get("X-Amz-Content-Sha256")
	sum := sha256.Sum256(body)
	switch {
	case unsigned && hash != "UNSIGNED-PAYLOAD":
		return fmt.Errorf("payload hash %q, want UNSIGNED-PAYLOAD", hash)
	case !unsigned && hash != hex.EncodeToString(sum[:]):
		return fmt.Errorf("payload hash %q is not the SHA-256 of the %d-byte body", hash, len(body))
	}
	u, err := url.Parse("https://" + r.Host + r.RequestURI)
	if err != nil {
		return err
	}
	re := &http.Request{Method: r.Method, URL: u, Host: r.Host, Header: http.Header{}, ContentLength: r.ContentLength}
	for _, h := range signed {
		switch h {
		case "host", "content-length": // from Host and ContentLength, as the signer reads them
		default:
			vv := r.Header.Values(h)
			if len(vv) == 0 {
				return fmt.Errorf("signed header %q is missing", h)
			}
			re.Header[http.CanonicalHeaderKey(h)] = vv
		}
	}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, re, hash, service, authRegion, at); err != nil {
		return err
	}
	if got := re.Header.Get("Authorization"); got != authz {
		return fmt.Errorf("signature mismatch:\n got  %s\n want %s", authz, got)
	}
	return nil
}

// authSeen is one request the upstream received.
type authSeen struct {
	label    string // host label, e.g. "basic"
	method   string
	uri      string
	header   http.Header
	body     []byte
	rejected string // why verification failed; "" when it passed
}

// authUpstream is the loopback HTTPS origin behind every credential.
type authUpstream struct {
	port   string
	verify map[string]func(*http.Request, []byte) error

	mu   sync.Mutex
	seen []authSeen
}

func authStartUpstream(t *testing.T, ca *certgen.CA, verify map[string]func(*http.Request, []byte) error) *authUpstream {
	t.Helper()
	hosts := make([]string, 0, len(verify))
	for label := range verify {
		hosts = append(hosts, label+"."+authDomain)
	}
	leaf, err := ca.Server(hosts...)
	if err != nil {
		t.Fatal(err)
	}
	base := &tls.Config{Certificates: []tls.Certificate{leaf.TLS}, MinVersion: tls.VersionTLS12}
	mtls := base.Clone()
	mtls.ClientAuth, mtls.ClientCAs = tls.RequireAndVerifyClientCert, ca.Pool()
	u := &authUpstream{verify: verify}
	// Both mTLS credentials lead here; only one presents a certificate.
	// The refused mTLS handshakes are expected; upQuiet keeps them off stderr.
	u.port = startUpstream(t, upHandler(u.serve), upQuiet(), upTLS(&tls.Config{
		GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
			if h.ServerName == "mtls."+authDomain || h.ServerName == "nomtls."+authDomain {
				return mtls, nil
			}
			return base, nil
		}})).port
	return u
}

func (u *authUpstream) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 32<<20))
	label, _, _ := strings.Cut(r.Host, ".")
	s := authSeen{label: label, method: r.Method, uri: r.RequestURI, header: r.Header.Clone(), body: body}
	verify := u.verify[label]
	for k := range r.Header {
		if strings.HasPrefix(k, "Proxy-") {
			s.rejected = "a Proxy-* header reached the upstream: " + k
		}
	}
	switch {
	case s.rejected != "":
	case err != nil:
		s.rejected = "reading the body: " + err.Error()
	case r.Host != label+"."+authDomain+":"+u.port:
		s.rejected = "unexpected Host " + r.Host
	case verify == nil:
		s.rejected = "unknown host"
	default:
		if err := verify(r, body); err != nil {
			s.rejected = err.Error()
		}
	}
	u.mu.Lock()
	u.seen = append(u.seen, s)
	u.mu.Unlock()
	if s.rejected != "" {
		http.Error(w, "upstream rejected: "+s.rejected, http.StatusUnauthorized)
		return
	}
	fmt.Fprintf(w, "verified %s %s %s %d", label, r.Method, r.URL.Path, len(body))
}

// last is the latest request for label; ok is false when there was none.
func (u *authUpstream) last(label string) (authSeen, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for i := len(u.seen) - 1; i >= 0; i-- {
		if u.seen[i].label == label {
			return u.seen[i], true
		}
	}
	return authSeen{}, false
}

func (u *authUpstream) count(label string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	n := 0
	for _, s := range u.seen {
		if s.label == label {
			n++
		}
	}
	return n
}

// authClient is one client the token endpoint knows.
type authClient struct {
	secret    string
	expiresIn int // seconds
	delay     time.Duration
}

type authIssued struct {
	client  string
	expires time.Time
}

// authTokenServer is a loopback OAuth 2.0 token endpoint (client
// credentials grant, RFC 6749 §4.4) over TLS, with a certificate for
// authIdPHost only; its upstream records the TLS server names clients ask
// for and the connections open.
type authTokenServer struct {
	*testUpstream
	clients map[string]authClient

	mu       sync.Mutex
	requests map[string]int
	issued   map[string]authIssued
	last     map[string]url.Values // the last form per client
}

func authStartTokenServer(t *testing.T, ca *certgen.CA, clients map[string]authClient) *authTokenServer {
	t.Helper()
	ts := &authTokenServer{clients: clients, requests: map[string]int{}, issued: map[string]authIssued{},
		last: map[string]url.Values{}}
	ts.testUpstream = startUpstream(t, upHandler(ts.serve), upCert(ca, authIdPHost))
	return ts
}

func (ts *authTokenServer) serve(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.Method != http.MethodPost || r.URL.Path != "/oauth2/token" {
		http.Error(w, `{"error":"invalid_request"}`, http.StatusBadRequest)
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	ts.mu.Lock()
	ts.requests[id]++
	ts.last[id] = r.PostForm
	ts.mu.Unlock()
	c, known := ts.clients[id]
	time.Sleep(c.delay)
	w.Header().Set("Content-Type", "application/json")
	if !known || secret != c.secret || r.PostForm.Get("grant_type") != "client_credentials" {
		// Like some real endpoints, echo what was sent: callgate must not
		// pass this body on to its logs or its clients.
		w.WriteHeader(http.StatusUnauthorized)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": "invalid_client",
			"error_description": fmt.Sprintf("client %s sent secret %s", id, secret)})
		return
	}
	tok := authMarker("token-" + id)
	ts.mu.Lock()
	ts.issued[tok] = authIssued{client: id, expires: time.Now().Add(time.Duration(c.expiresIn) * time.Second)}
	ts.mu.Unlock()
	_ = json.NewEncoder(w).Encode(map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": c.expiresIn})
}

// valid reports whether tok was issued to client and has not expired.
func (ts *authTokenServer) valid(tok, client string) error {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	is, ok := ts.issued[tok]
	switch {
	case !ok || is.client != client:
		return errors.New("token was not issued to this client")
	case time.Now().After(is.expires):
		return errors.New("token has expired")
	}
	return nil
}

func (ts *authTokenServer) count(client string) int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.requests[client]
}

func (ts *authTokenServer) tokens(client string) []string {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	var out []string
	for tok, is := range ts.issued {
		if is.client == client {
			out = append(out, tok)
		}
	}
	return out
}

// callout sends method /callout/{name}/{path} with Go's client. hdr may
// be nil; a nil body sends none.
func (e *authEnv) callout(method, name, path string, hdr http.Header, body io.Reader) (*http.Response, string) {
	e.t.Helper()
	req, err := http.NewRequest(method, "http://"+e.s.ProxyAddr()+"/callout/"+name+"/"+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	for k, vv := range hdr {
		req.Header[k] = vv
	}
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatalf("callout %s %s/%s: %v", method, name, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		e.t.Fatalf("callout %s/%s: reading the body: %v", name, path, err)
	}
	return resp, string(b)
}

// mustVerify asserts a callout reached the upstream and passed its check.
func (e *authEnv) mustVerify(resp *http.Response, body, label string) {
	e.t.Helper()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(body, "verified "+label+" ") {
		seen, _ := e.up.last(label)
		e.t.Fatalf("callout to %s: %s %q (upstream: %q)", label, resp.Status, body, seen.rejected)
	}
}

// admin GETs (or POSTs) an admin path and returns the status and body.
func (e *authEnv) admin(method, path string) (int, string) {
	e.t.Helper()
	req, err := http.NewRequest(method, "http://"+e.s.AdminAddr()+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	return resp.StatusCode, string(b)
}

// authBasicToken is the base64 form of the basic credential, which a leak
// would show instead of the password itself.
func authBasicToken(password string) string {
	return base64.StdEncoding.EncodeToString([]byte(authUser + ":" + password))
}
