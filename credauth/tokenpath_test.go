package credauth_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/callgate/callgate/credauth"
	"github.com/callgate/callgate/internal/certgen"
)

// recordingProxy is a listener named as the environment's proxy: it
// counts connections and closes each at once.
type recordingProxy struct {
	ln    net.Listener
	conns atomic.Int64
	wg    sync.WaitGroup
}

func newRecordingProxy(t *testing.T) *recordingProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &recordingProxy{ln: ln}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.conns.Add(1)
			_ = c.Close()
		}
	}()
	t.Cleanup(func() { _ = ln.Close(); p.wg.Wait() })
	return p
}

// dialTokenHost dials tokenHost:port to 127.0.0.1:port and anything else
// as asked, as a resolver that knows tokenHost would.
func dialTokenHost(ctx context.Context, network, addr string) (net.Conn, error) {
	if host, port, err := net.SplitHostPort(addr); err == nil && host == tokenHost {
		addr = net.JoinHostPort("127.0.0.1", port)
	}
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}

const envProxyChild = "CREDAUTH_TEST_ENV_PROXY_CHILD"

// TestOAuth2TokenIgnoresEnvironmentProxy: with HTTPS_PROXY and HTTP_PROXY
// naming a listener, a token is still fetched, straight from the token
// endpoint, and the listener sees no connection. net/http reads the proxy
// variables once per process, so the fetch runs in a child process (this
// test again) whose environment holds them from its start.
func TestOAuth2TokenIgnoresEnvironmentProxy(t *testing.T) {
	if os.Getenv(envProxyChild) != "" {
		fetchTokenByName(t)
		return
	}
	proxy := newRecordingProxy(t)
	proxyURL := "http://" + proxy.ln.Addr().String()
	for _, k := range []string{"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"} {
		t.Setenv(k, proxyURL)
	}
	t.Setenv("NO_PROXY", "")
	t.Setenv("no_proxy", "")
	t.Setenv(envProxyChild, "1")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestOAuth2TokenIgnoresEnvironmentProxy$", "-test.count=1", "-test.v").CombinedOutput()
	if n := proxy.conns.Load(); n != 0 {
		t.Errorf("the environment's proxy saw %d connections", n)
	}
	if err != nil || !strings.Contains(string(out), "--- PASS") {
		t.Errorf("the token fetch in the child process: %v\n%s", err, out)
	}
}

// fetchTokenByName injects a token fetched from https://idp.test:port
// (not loopback, so an environment proxy would apply to it).
func fetchTokenByName(t *testing.T) {
	te := newTokenEndpoint(t)
	_, port, _ := net.SplitHostPort(te.srv.Listener.Addr().String())
	secret := writeSecret(t, t.TempDir(), "client-secret", "cs1")
	opts := credauth.WithTokenTransport(credauth.Options{}, te.ca.Pool(), dialTokenHost)
	inj := newInjector(t, "Partner", oauthSpec("https://"+net.JoinHostPort(tokenHost, port), secret), opts)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://api.partner.example/orders", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := inj.Inject(req); err != nil {
		t.Fatalf("Inject: %v", err)
	}
	if got := req.Header.Get("Authorization"); got != "Bearer at-1-cs1" || te.requests.Load() != 1 {
		t.Errorf("Authorization %q after %d token requests, want the first token", got, te.requests.Load())
	}
}

// hookDialer is a TokenDialTLS that records the addresses it was asked
// for and, unless refuse is set, dials tokenEndpoint and verifies its
// certificate for the asked host, as the contract says.
type hookDialer struct {
	te     *tokenEndpoint
	refuse error

	mu    sync.Mutex
	addrs []string
}

func (h *hookDialer) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	h.mu.Lock()
	h.addrs = append(h.addrs, addr)
	h.mu.Unlock()
	if h.refuse != nil {
		return nil, h.refuse
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	raw, err := dialTokenHost(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	c := tls.Client(raw, &tls.Config{ServerName: host, RootCAs: h.te.ca.Pool(), MinVersion: tls.VersionTLS12})
	if err := c.HandshakeContext(ctx); err != nil {
		_ = raw.Close()
		return nil, err
	}
	return c, nil
}

func (h *hookDialer) asked() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.addrs...)
}

// TestOAuth2TokenDialTLS: Options.TokenDialTLS opens the token request's
// connection, asked for the token URL's host:port; when it refuses, the
// token fetch fails with its error and nothing reaches the endpoint.
func TestOAuth2TokenDialTLS(t *testing.T) {
	te := newTokenEndpoint(t)
	_, port, _ := net.SplitHostPort(te.srv.Listener.Addr().String())
	addr := net.JoinHostPort(tokenHost, port)
	secret := writeSecret(t, t.TempDir(), "client-secret", "cs1")
	inject := func(inj *credauth.Injector) (*http.Request, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://api.partner.example/orders", nil)
		if err != nil {
			t.Fatal(err)
		}
		return req, inj.Inject(req)
	}

	t.Run("dials through the hook", func(t *testing.T) {
		h := &hookDialer{te: te}
		inj := newInjector(t, "Partner", oauthSpec("https://"+addr, secret), credauth.Options{TokenDialTLS: h.dial})
		req, err := inject(inj)
		if err != nil {
			t.Fatalf("Inject: %v", err)
		}
		if got := req.Header.Get("Authorization"); got != "Bearer at-1-cs1" {
			t.Errorf("Authorization %q", got)
		}
		if got := h.asked(); len(got) != 1 || got[0] != addr {
			t.Errorf("the hook was asked for %v, want [%s]", got, addr)
		}
	})

	t.Run("a refusal fails the fetch", func(t *testing.T) {
		before := te.requests.Load()
		why := errors.New(`token host idp.test is named credential "IdP": its connection "idp" is not admitting traffic (Pending)`)
		h := &hookDialer{te: te, refuse: why}
		inj := newInjector(t, "Partner", oauthSpec("https://"+addr, secret), credauth.Options{TokenDialTLS: h.dial})
		_, err := inject(inj)
		if !errors.Is(err, credauth.ErrTokenFetch) || !strings.Contains(err.Error(), why.Error()) {
			t.Errorf("Inject: %v, want ErrTokenFetch with the hook's reason", err)
		}
		if len(h.asked()) == 0 {
			t.Error("the hook was never asked")
		}
		if n := te.requests.Load() - before; n != 0 {
			t.Errorf("%d token requests reached the endpoint", n)
		}
	})
}

// TestTokenURLNeverPrintsUserinfo: a token_url with userinfo, or one that
// is wrong in another way besides, is refused without the password in the
// error or the log; a failing fetch logs token_url.
func TestTokenURLNeverPrintsUserinfo(t *testing.T) {
	const pw = "s3cr3tpw"
	core, logs := observer.New(zapcore.DebugLevel)
	secret := writeSecret(t, t.TempDir(), "client-secret", "cs1")
	for _, raw := range []string{
		"https://user:" + pw + "@login.example/token",
		"https://" + pw + "@login.example/token",
		"http://user:" + pw + "@login.example/token",
		"https://user:" + pw + "@login example/token",
		"user:" + pw + "@login.example/token",
	} {
		_, err := credauth.New("Partner", oauthSpec(raw, secret), credauth.Options{Logger: zap.New(core)})
		if !errors.Is(err, credauth.ErrInvalidSpec) || strings.Contains(err.Error(), pw) {
			t.Errorf("New with token_url %q: %v, want ErrInvalidSpec without the password", raw, err)
		}
	}

	te := newTokenEndpoint(t)
	te.fail.Store(true)
	inj := newInjector(t, "Partner", oauthSpec(te.srv.URL, secret), credauth.Options{Logger: zap.New(core), HTTPClient: te.srv.Client()})
	req, _ := http.NewRequest(http.MethodGet, "https://api.partner.example/", nil)
	if err := inj.Inject(req); !errors.Is(err, credauth.ErrTokenFetch) {
		t.Fatalf("Inject: %v, want ErrTokenFetch", err)
	}
	failed := logs.FilterMessage("oauth2 token request failed").All()
	if len(failed) == 0 || failed[0].ContextMap()["token_url"] != te.srv.URL+"/oauth/token" {
		t.Errorf("token failure log %v, want it to name token_url", failed)
	}
	for _, en := range logs.All() {
		if line := fmt.Sprintf("%s %v", en.Message, en.ContextMap()); strings.Contains(line, pw) {
			t.Errorf("a log line holds the password: %s", line)
		}
	}
}

// TestOAuth2TokenRedirectRefused: a token endpoint that redirects (307
// would resend the form, client secret and all) fails the fetch; the
// redirect's target, here plain http, sees nothing.
func TestOAuth2TokenRedirectRefused(t *testing.T) {
	target := newRecordingProxy(t) // counts connections
	ca, err := certgen.NewCA("credauth redirect CA")
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Server("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	redirector := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://user:s3cr3tpw@"+target.ln.Addr().String()+"/token", http.StatusTemporaryRedirect)
	}))
	redirector.TLS = &tls.Config{Certificates: []tls.Certificate{leaf.TLS}}
	redirector.StartTLS()
	t.Cleanup(redirector.Close)

	secret := writeSecret(t, t.TempDir(), "client-secret", "cs1")
	inj := newInjector(t, "Partner", oauthSpec(redirector.URL, secret), credauth.WithTokenTransport(credauth.Options{}, ca.Pool(), nil))
	req, _ := http.NewRequest(http.MethodGet, "https://api.partner.example/", nil)
	err = inj.Inject(req)
	if !errors.Is(err, credauth.ErrTokenFetch) || !strings.Contains(err.Error(), "redirected") || strings.Contains(err.Error(), "s3cr3tpw") {
		t.Errorf("Inject: %v, want ErrTokenFetch naming the redirect, without its password", err)
	}
	if n := target.conns.Load(); n != 0 {
		t.Errorf("the redirect's target saw %d connections", n)
	}
}
