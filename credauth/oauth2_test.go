package credauth_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/callgate/callgate/credauth"
	"github.com/callgate/callgate/internal/certgen"
)

// tokenHost is the name tokenEndpoint's certificate holds besides
// 127.0.0.1: tests that need a token host that is not loopback (an
// environment proxy skips loopback) dial it to the endpoint themselves.
const tokenHost = "idp.test"

// tokenEndpoint is a loopback OAuth 2.0 token endpoint for the client
// credentials grant, over TLS with a certificate from its own CA.
type tokenEndpoint struct {
	srv       *httptest.Server
	ca        *certgen.CA
	requests  atomic.Int64
	expiresIn atomic.Int64
	fail      atomic.Bool
	gate      chan struct{} // when non-nil, each request waits for it to close
	arrived   chan struct{} // receives once per request, if non-nil

	mu       sync.Mutex
	lastForm url.Values
	lastID   string
	lastPW   string
}

func newTokenEndpoint(t *testing.T) *tokenEndpoint {
	t.Helper()
	ca, err := certgen.NewCA("credauth token endpoint CA")
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Server("127.0.0.1", tokenHost)
	if err != nil {
		t.Fatal(err)
	}
	e := &tokenEndpoint{ca: ca}
	e.expiresIn.Store(3600)
	e.srv = httptest.NewUnstartedServer(http.HandlerFunc(e.serve))
	e.srv.TLS = &tls.Config{Certificates: []tls.Certificate{leaf.TLS}}
	e.srv.StartTLS() // srv.Client() trusts the leaf
	t.Cleanup(e.srv.Close)
	return e
}

func (e *tokenEndpoint) serve(w http.ResponseWriter, r *http.Request) {
	n := e.requests.Add(1)
	if e.arrived != nil {
		e.arrived <- struct{}{}
	}
	if e.gate != nil {
		<-e.gate
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	// RFC 6749 §2.3.1: Basic with form-urlencoded id and secret, or the
	// same in the body.
	id, pw, ok := r.BasicAuth()
	if ok {
		id, _ = url.QueryUnescape(id)
		pw, _ = url.QueryUnescape(pw)
	} else {
		id, pw = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	e.mu.Lock()
	e.lastForm, e.lastID, e.lastPW = r.PostForm, id, pw
	e.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if e.fail.Load() || r.PostForm.Get("grant_type") != "client_credentials" {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = fmt.Fprintf(w, `{"error":"invalid_client","error_description":"rejected secret %s"}`, pw)
		return
	}
	_, _ = fmt.Fprintf(w, `{"access_token":"at-%d-%s","token_type":"bearer","expires_in":%d}`, n, pw, e.expiresIn.Load())
}

func (e *tokenEndpoint) last() (url.Values, string, string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.lastForm, e.lastID, e.lastPW
}

func oauthSpec(tokenURL, secretFile string) credauth.Spec {
	return credauth.Spec{OAuth2: &credauth.OAuth2Spec{
		TokenURL:     tokenURL + "/oauth/token",
		ClientID:     "callgate-client",
		ClientSecret: credauth.Secret{File: secretFile},
		Scopes:       []string{"orders.read", "orders.write"},
		Audience:     "https://api.partner.example",
	}}
}

func TestOAuth2EndToEnd(t *testing.T) {
	te := newTokenEndpoint(t)
	secret := writeSecret(t, t.TempDir(), "client-secret", "cs1")
	clock := newFakeClock()
	inj := newInjector(t, "Partner", oauthSpec(te.srv.URL, secret), credauth.Options{HTTPClient: te.srv.Client(), Now: clock.Now})
	if inj.Kind() != credauth.KindOAuth2 || !inj.SecretLoaded() {
		t.Fatalf("Kind %q SecretLoaded %v", inj.Kind(), inj.SecretLoaded())
	}
	var seen atomic.Value
	api := upstream(t, func(r *http.Request) string {
		seen.Store(r.Header.Get("Authorization"))
		return ""
	})
	send := func() string {
		t.Helper()
		if code, body := call(t, api, inj, http.MethodGet, "/orders", nil); code != http.StatusOK {
			t.Fatalf("upstream answered %d: %s", code, body)
		}
		return seen.Load().(string)
	}

	t.Run("token fetched with scopes and audience", func(t *testing.T) {
		if got := send(); got != "Bearer at-1-cs1" {
			t.Fatalf("Authorization %q", got)
		}
		form, id, pw := te.last()
		if id != "callgate-client" || pw != "cs1" {
			t.Errorf("client auth %q/%q", id, pw)
		}
		if got := form.Get("scope"); got != "orders.read orders.write" {
			t.Errorf("scope %q", got)
		}
		if got := form.Get("audience"); got != "https://api.partner.example" {
			t.Errorf("audience %q", got)
		}
	})
	t.Run("token reused", func(t *testing.T) {
		for i := 0; i < 5; i++ {
			clock.Advance(time.Minute)
			if got := send(); got != "Bearer at-1-cs1" {
				t.Fatalf("request %d: %q", i, got)
			}
		}
		if n := te.requests.Load(); n != 1 {
			t.Fatalf("%d token requests, want 1", n)
		}
	})
	t.Run("refreshed before expiry", func(t *testing.T) {
		// 5m of the 60m have passed; the default early refresh is 30s.
		clock.Advance(54 * time.Minute)
		if got := send(); got != "Bearer at-1-cs1" {
			t.Fatalf("before the refresh window: %q", got)
		}
		clock.Advance(40 * time.Second) // 20s before expiry
		if got := send(); got != "Bearer at-2-cs1" {
			t.Fatalf("in the refresh window: %q", got)
		}
		if n := te.requests.Load(); n != 2 {
			t.Fatalf("%d token requests, want 2", n)
		}
	})
	t.Run("failed refresh keeps the valid token, then fails after expiry", func(t *testing.T) {
		te.fail.Store(true)
		defer te.fail.Store(false)
		clock.Advance(59*time.Minute + 40*time.Second) // in at-2's refresh window
		if got := send(); got != "Bearer at-2-cs1" {
			t.Fatalf("after a failed refresh: %q", got)
		}
		clock.Advance(time.Minute) // at-2 expired
		req, _ := http.NewRequest(http.MethodGet, api.URL, nil)
		err := inj.Inject(req)
		if !errors.Is(err, credauth.ErrTokenFetch) {
			t.Fatalf("Inject with an expired token and a failing endpoint: %v", err)
		}
	})
	t.Run("client secret rotation", func(t *testing.T) {
		writeSecret(t, filepath.Dir(secret), "client-secret", "cs2")
		eventually(t, "a token fetched with the rotated secret", func() bool {
			clock.Advance(2 * time.Hour) // expire the token: every send fetches
			send()
			return te.lastPWIs("cs2")
		})
	})
}

func (e *tokenEndpoint) lastPWIs(v string) bool {
	_, _, pw := e.last()
	return pw == v
}

func TestOAuth2ShortExpiry(t *testing.T) {
	te := newTokenEndpoint(t)
	te.expiresIn.Store(2)
	secret := writeSecret(t, t.TempDir(), "cs", "cs")
	clock := newFakeClock()
	inj := newInjector(t, "Short", oauthSpec(te.srv.URL, secret), credauth.Options{HTTPClient: te.srv.Client(), Now: clock.Now})
	get := func() string {
		req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1/", nil)
		if err := inj.Inject(req); err != nil {
			t.Fatal(err)
		}
		return req.Header.Get("Authorization")
	}
	// A 2s token is still reused (the early refresh is capped at half the
	// lifetime), then replaced once it is due.
	if a, b := get(), get(); a != "Bearer at-1-cs" || b != a {
		t.Fatalf("tokens %q %q", a, b)
	}
	clock.Advance(1500 * time.Millisecond)
	if got := get(); got != "Bearer at-2-cs" {
		t.Fatalf("after 1.5s of a 2s token: %q", got)
	}
}

func TestOAuth2OneTokenRequestUnderConcurrency(t *testing.T) {
	te := newTokenEndpoint(t)
	te.gate = make(chan struct{})
	te.arrived = make(chan struct{}, 100)
	secret := writeSecret(t, t.TempDir(), "cs", "cs")
	inj := newInjector(t, "Busy", oauthSpec(te.srv.URL, secret), credauth.Options{HTTPClient: te.srv.Client()})

	const n = 50
	var started, done sync.WaitGroup
	errs := make(chan error, n)
	auths := make(chan string, n)
	started.Add(n)
	done.Add(n)
	for i := 0; i < n; i++ {
		go func() {
			defer done.Done()
			req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1/", nil)
			started.Done()
			if err := inj.Inject(req); err != nil {
				errs <- err
				return
			}
			auths <- req.Header.Get("Authorization")
		}()
	}
	started.Wait()
	select {
	case <-te.arrived:
	case <-time.After(5 * time.Second):
		t.Fatal("no token request")
	}
	close(te.gate)
	done.Wait()
	close(errs)
	close(auths)
	for err := range errs {
		t.Error(err)
	}
	for a := range auths {
		if a != "Bearer at-1-cs" {
			t.Errorf("Authorization %q", a)
		}
	}
	if got := te.requests.Load(); got != 1 {
		t.Fatalf("%d token requests for %d concurrent Injects, want 1", got, n)
	}
}

// A request whose context ends while the token is being fetched returns at
// once; the fetch goes on for the others.
func TestOAuth2HonoursRequestContext(t *testing.T) {
	te := newTokenEndpoint(t)
	te.gate = make(chan struct{})
	te.arrived = make(chan struct{}, 10)
	secret := writeSecret(t, t.TempDir(), "cs", "cs")
	inj := newInjector(t, "Slow", oauthSpec(te.srv.URL, secret), credauth.Options{HTTPClient: te.srv.Client()})

	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1/", nil)
	errc := make(chan error, 1)
	go func() { errc <- inj.Inject(req) }()
	<-te.arrived
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Inject: %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Inject did not return when its context ended")
	}
	close(te.gate)
	req2, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1/", nil)
	if err := inj.Inject(req2); err != nil || req2.Header.Get("Authorization") != "Bearer at-1-cs" {
		t.Fatalf("second Inject: %v %q", err, req2.Header.Get("Authorization"))
	}
	if got := te.requests.Load(); got != 1 {
		t.Fatalf("%d token requests, want 1", got)
	}
}

// Close cancels a token fetch in flight and waits for it.
func TestOAuth2CloseDuringFetch(t *testing.T) {
	te := newTokenEndpoint(t)
	te.gate = make(chan struct{})
	te.arrived = make(chan struct{}, 10)
	defer close(te.gate)
	secret := writeSecret(t, t.TempDir(), "cs", "cs")
	inj, err := credauth.New("Closing", oauthSpec(te.srv.URL, secret), credauth.Options{HTTPClient: te.srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1/", nil)
		errc <- inj.Inject(req)
	}()
	<-te.arrived
	_ = inj.Close()
	select {
	case err := <-errc:
		if err == nil {
			t.Fatal("Inject succeeded although Close cancelled the fetch")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Inject still waiting after Close")
	}
}

// A failing token endpoint is asked at most once per backoff window, not at
// request rate.
func TestOAuth2FailureBackoff(t *testing.T) {
	te := newTokenEndpoint(t)
	te.fail.Store(true)
	secret := writeSecret(t, t.TempDir(), "cs", "cs")
	clock := newFakeClock()
	inj := newInjector(t, "Down", oauthSpec(te.srv.URL, secret), credauth.Options{HTTPClient: te.srv.Client(), Now: clock.Now})
	inject := func() error {
		req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1/", nil)
		return inj.Inject(req)
	}
	for i := 0; i < 10; i++ {
		if err := inject(); !errors.Is(err, credauth.ErrTokenFetch) {
			t.Fatalf("Inject %d: %v", i, err)
		}
	}
	first := te.requests.Load() // auth-style auto-detection may try twice
	if first == 0 || first > 2 {
		t.Fatalf("%d token requests for the first failure", first)
	}
	te.fail.Store(false)
	clock.Advance(2 * time.Second)
	if err := inject(); err != nil {
		t.Fatalf("after the backoff, with the endpoint back: %v", err)
	}
}
