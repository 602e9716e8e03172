package credauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/callgate/callgate/internal/safeurl"
)

const (
	defaultEarlyExpiry = 30 * time.Second
	tokenTimeout       = 30 * time.Second
	// failureBackoff: after a failed token request, requests in this window
	// get the same error (or the still-usable token) instead of a new
	// request each, so a down endpoint is not hammered at request rate.
	failureBackoff = time.Second
)

// oauth2Auth is the client credentials grant (RFC 6749 §4.4). The request to
// the token endpoint is clientcredentials.Config.Token; the caching is ours
// rather than oauth2.ReuseTokenSource because ReuseTokenSource holds a mutex
// across the fetch (a waiting request could not honour its own context),
// fetches with the context captured when the source was made, takes a lock
// on every read, and reads the wall clock (Options.Now could not drive
// expiry in tests). Here a valid token is one atomic load; an expired one
// starts exactly one fetch that every concurrent request waits on, each
// until its own context ends.
type oauth2Auth struct {
	spec      OAuth2Spec
	secret    source
	client    *http.Client
	ownClient bool // made here, so close closes its idle connections
	now       func() time.Time
	early     time.Duration
	log       *zap.Logger
	ctx       context.Context // cancelled by close: ends fetches
	cancel    context.CancelFunc

	tok    atomic.Pointer[cachedToken]
	failed atomic.Pointer[tokenFailure] // the last failed request; nil after a success

	mu     sync.Mutex // guards flight, closed and wg.Add
	flight *tokenFlight
	closed bool
	wg     sync.WaitGroup

	// conf is reused while the client secret is unchanged, so the auth
	// style (header or body) it auto-detects is learnt once. Only the
	// single fetch goroutine touches it.
	conf       *clientcredentials.Config
	confSecret string
}

type cachedToken struct {
	tok       *oauth2.Token
	refreshAt time.Time // fetch a new one from here on
	expireAt  time.Time // unusable from here on; zero: never expires
}

func (c *cachedToken) fresh(now time.Time) bool { return now.Before(c.refreshAt) }
func (c *cachedToken) usable(now time.Time) bool {
	return c.expireAt.IsZero() || now.Before(c.expireAt)
}

type tokenFailure struct {
	at  time.Time
	err error
}

type tokenFlight struct {
	done chan struct{}
	tok  *cachedToken
	err  error
}

func newOAuth2(s *OAuth2Spec, load loader, opts Options, log *zap.Logger) (*oauth2Auth, error) {
	if err := checkTokenURL(s.TokenURL); err != nil {
		return nil, err
	}
	if s.ClientID == "" {
		return nil, fmt.Errorf("%w: oauth2_client_credentials: client_id is required", ErrInvalidSpec)
	}
	if s.EarlyExpiry < 0 {
		return nil, fmt.Errorf("%w: oauth2_client_credentials: early expiry must not be negative", ErrInvalidSpec)
	}
	secret, err := load(s.ClientSecret, "oauth2 client secret")
	if err != nil {
		return nil, err
	}
	o := &oauth2Auth{spec: *s, secret: secret, client: opts.HTTPClient, now: opts.Now, early: s.EarlyExpiry, log: log}
	if o.client == nil {
		o.client, o.ownClient = tokenClient(opts), true
	}
	if o.early == 0 {
		o.early = defaultEarlyExpiry
	}
	o.ctx, o.cancel = context.WithCancel(context.Background())
	return o, nil
}

func (o *oauth2Auth) apply(r *http.Request) error {
	ct, err := o.token(r.Context())
	if err != nil {
		return err
	}
	ct.tok.SetAuthHeader(r)
	return nil
}

func (o *oauth2Auth) token(ctx context.Context) (*cachedToken, error) {
	now := o.now()
	ct := o.tok.Load()
	if ct != nil && ct.fresh(now) {
		return ct, nil
	}
	if f := o.failed.Load(); f != nil && now.Sub(f.at) < failureBackoff {
		if ct != nil && ct.usable(now) {
			return ct, nil
		}
		return nil, f.err
	}
	o.mu.Lock()
	// Re-check: a fetch may have finished between the load and the lock.
	if ct := o.tok.Load(); ct != nil && ct.fresh(o.now()) {
		o.mu.Unlock()
		return ct, nil
	}
	if o.closed {
		o.mu.Unlock()
		return nil, ErrClosed
	}
	f := o.flight
	if f == nil {
		f = &tokenFlight{done: make(chan struct{})}
		o.flight = f
		o.wg.Add(1)
		go o.fetch(f)
	}
	o.mu.Unlock()

	select {
	case <-f.done:
		if f.err == nil {
			return f.tok, nil
		}
		// A refresh ahead of expiry failed: the current token still works.
		if ct := o.tok.Load(); ct != nil && ct.usable(o.now()) {
			return ct, nil
		}
		return nil, f.err
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for an oauth2 token: %w", ctx.Err())
	}
}

// fetch runs detached from any one request: a client that gives up must not
// fail the token for the others waiting on it.
func (o *oauth2Auth) fetch(f *tokenFlight) {
	defer o.wg.Done()
	ct, err := o.request()
	o.mu.Lock()
	if err == nil {
		o.tok.Store(ct)
		o.failed.Store(nil)
	} else {
		o.failed.Store(&tokenFailure{at: o.now(), err: err})
	}
	o.flight = nil
	f.tok, f.err = ct, err
	o.mu.Unlock()
	close(f.done)
}

func (o *oauth2Auth) request() (*cachedToken, error) {
	secret := o.secret.value().Reveal()
	if o.conf == nil || o.confSecret != secret {
		o.conf = &clientcredentials.Config{
			ClientID:     o.spec.ClientID,
			ClientSecret: secret,
			TokenURL:     o.spec.TokenURL,
			Scopes:       o.spec.Scopes,
		}
		if o.spec.Audience != "" {
			o.conf.EndpointParams = url.Values{"audience": {o.spec.Audience}}
		}
		o.confSecret = secret
	}
	ctx, cancel := context.WithTimeout(o.ctx, tokenTimeout)
	defer cancel()
	ctx = context.WithValue(ctx, oauth2.HTTPClient, o.client)
	start := o.now()
	tok, err := o.conf.Token(ctx)
	if err != nil {
		err = tokenError(err)
		o.log.Warn("oauth2 token request failed", zap.String("token_url", safeurl.Redact(o.spec.TokenURL)), zap.Error(err))
		return nil, err
	}
	ct := &cachedToken{tok: tok}
	if tok.Expiry.IsZero() {
		// No expires_in: the token is good until the endpoint says
		// otherwise; refresh hourly anyway so a revoked token heals.
		ct.refreshAt = start.Add(time.Hour)
	} else {
		// The library stamps Expiry with the wall clock; carry the
		// remaining lifetime over to our clock.
		life := time.Until(tok.Expiry)
		early := min(o.early, life/2) // a short-lived token must still be reused
		ct.expireAt = start.Add(life)
		ct.refreshAt = ct.expireAt.Add(-early)
	}
	o.log.Debug("oauth2 token fetched", zap.Time("refresh_at", ct.refreshAt), zap.Time("expires_at", ct.expireAt))
	return ct, nil
}

// checkTokenURL accepts an absolute https URL without userinfo, as the
// config does: the request carries the client secret, and its answer a
// bearer token. Errors quote the URL redacted.
func checkTokenURL(raw string) error {
	u, err := safeurl.Parse(raw)
	switch {
	case err != nil:
		return fmt.Errorf("%w: oauth2_client_credentials: token_url: %v", ErrInvalidSpec, err)
	case u.User != nil:
		return fmt.Errorf("%w: oauth2_client_credentials: token_url %q must not contain userinfo; the client secret has its own source",
			ErrInvalidSpec, safeurl.Redact(raw))
	case u.Scheme != "https" || u.Host == "":
		return fmt.Errorf("%w: oauth2_client_credentials: token_url %q must be an absolute https URL", ErrInvalidSpec, safeurl.Redact(raw))
	}
	return nil
}

// tokenError describes a failed token request without the endpoint's
// response body, which may echo what was sent (the client secret), or a
// URL's userinfo.
func tokenError(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		msg := "token endpoint answered"
		if re.Response != nil {
			msg += " " + re.Response.Status
		}
		if re.ErrorCode != "" {
			msg += fmt.Sprintf(" (error %q)", re.ErrorCode)
		}
		return fmt.Errorf("%w: %s", ErrTokenFetch, msg)
	}
	// net/http strips the password of the request URL it quotes, but not
	// of a redirect's Location. The error is this request's own.
	var ue *url.Error
	if errors.As(err, &ue) {
		ue.URL = safeurl.Redact(ue.URL)
	}
	return fmt.Errorf("%w: %w", ErrTokenFetch, err)
}

func (o *oauth2Auth) close() {
	o.mu.Lock()
	o.closed = true
	o.mu.Unlock()
	o.cancel()
	o.wg.Wait()
	if o.ownClient {
		o.client.CloseIdleConnections()
	}
}
