package credauth

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"go.uber.org/zap"
)

// Kind names reported by Injector.Kind, as in the config's auth block.
const (
	KindNone         = "none"
	KindBasic        = "basic"
	KindBearer       = "bearer"
	KindHeaders      = "headers"
	KindOAuth2       = "oauth2_client_credentials"
	KindAWSSigV4     = "aws_sigv4"
	defaultMaxSigned = 10 << 20
)

// Options are the dependencies of an Injector. The zero value works.
type Options struct {
	// HTTPClient makes OAuth 2.0 token requests, as it is. Nil means a
	// client with a 30s timeout that opens connections with TokenDialTLS,
	// never through a proxy named by the environment.
	HTTPClient *http.Client
	// TokenDialTLS opens the connection of an OAuth 2.0 token request: a
	// connection to addr, the token URL's host:port, with the TLS
	// handshake done and the certificate verified for that host. Its
	// error fails the token request. cmd/callgate sets it so that a token
	// host which is a named credential's host is reached through that
	// credential's connection. Nil dials addr directly and verifies
	// against the system roots. Unused when HTTPClient is set.
	TokenDialTLS func(ctx context.Context, network, addr string) (net.Conn, error)
	// AWSConfig loads the AWS configuration for aws_sigv4: its Credentials
	// sign (or, with RoleARN, assume the role through STS, honouring
	// BaseEndpoint). Nil means config.LoadDefaultConfig (the SDK's default
	// credential chain). Called once, in New, only for aws_sigv4.
	AWSConfig func(ctx context.Context) (aws.Config, error)
	// MaxSignedBody bounds how much of a request body aws_sigv4 buffers to
	// hash it; a larger body is refused with ErrBodyTooLarge. Zero means
	// 10 MiB.
	MaxSignedBody int64
	// Logger receives rotation and token events, never secrets. Nil means
	// no logging.
	Logger *zap.Logger
	// Now is the clock for OAuth 2.0 token expiry and the SigV4 signing
	// time. Nil means time.Now.
	Now func() time.Time
	// LookupEnv reads environment secrets. Nil means os.LookupEnv.
	LookupEnv func(string) (string, bool)

	noWatch bool // tests: exercise the stat fallback alone
	tokenTestHooks
}

// applier is one kind of authentication.
type applier interface {
	apply(r *http.Request) error
}

// loader loads one secret of the spec; what names it in errors.
type loader func(s Secret, what string) (source, error)

// Injector injects one named credential's authentication. It is safe for
// concurrent use; Close it when the config that made it is replaced.
type Injector struct {
	name string
	kind string
	pass bool
	// headers are the field names Inject sets, for explaining a decision
	// without a value.
	headers []string
	a       applier // nil for KindNone
	// loaded reports the secret state for the admin API; nil means "all
	// secrets were loaded at New" (file secrets keep their last good value).
	loaded func() bool
	watch  *watcher
	closed atomic.Bool
}

// closer is implemented by appliers that run goroutines (token fetches).
type closer interface {
	close()
}

// New builds the injector for the named credential name. A missing or
// unreadable secret, an unset environment variable or an inconsistent spec
// is an error naming the credential and the file or variable; the error
// never contains a secret value.
func New(name string, spec Spec, opts Options) (*Injector, error) {
	inj, err := build(name, spec, opts)
	if err != nil {
		return nil, fmt.Errorf("named credential %q: auth: %w", name, err)
	}
	return inj, nil
}

func build(name string, spec Spec, opts Options) (*Injector, error) {
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	log := opts.Logger.Named("credauth").With(zap.String("named_credential", name))
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.LookupEnv == nil {
		opts.LookupEnv = os.LookupEnv
	}
	if opts.MaxSignedBody <= 0 {
		opts.MaxSignedBody = defaultMaxSigned
	}

	var files []*fileSource
	load := func(s Secret, what string) (source, error) {
		src, err := newSource(s, log, opts.LookupEnv)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		if f, ok := src.(*fileSource); ok {
			files = append(files, f)
		}
		return src, nil
	}

	n := 0
	for _, set := range []bool{spec.Basic != nil, spec.Bearer != nil, len(spec.Headers) > 0, spec.OAuth2 != nil, spec.SigV4 != nil} {
		if set {
			n++
		}
	}
	if n > 1 {
		return nil, fmt.Errorf("%w: more than one kind of authentication is set; choose one", ErrInvalidSpec)
	}

	inj := &Injector{name: name, kind: KindNone, pass: spec.PassClientAuthorization}
	var err error
	setsAuthz := true
	switch {
	case spec.Basic != nil:
		inj.kind, inj.headers = KindBasic, []string{"Authorization"}
		inj.a, err = newBasic(spec.Basic, load)
	case spec.Bearer != nil:
		inj.kind, inj.headers = KindBearer, []string{"Authorization"}
		inj.a, err = newBearer(spec.Bearer, load)
	case len(spec.Headers) > 0:
		inj.kind = KindHeaders
		for _, h := range spec.Headers {
			inj.headers = append(inj.headers, http.CanonicalHeaderKey(h.Name))
		}
		var h *headerAuth
		if h, err = newHeaders(spec.Headers, load); err == nil {
			inj.a, setsAuthz = h, h.setsAuthorization()
		}
	case spec.OAuth2 != nil:
		inj.kind, inj.headers = KindOAuth2, []string{"Authorization"}
		var o *oauth2Auth
		if o, err = newOAuth2(spec.OAuth2, load, opts, log); err == nil {
			inj.a = o
		}
	case spec.SigV4 != nil:
		inj.kind = KindAWSSigV4
		inj.headers = []string{"Authorization", "X-Amz-Date", "X-Amz-Content-Sha256", "X-Amz-Security-Token"}
		var s *sigv4Auth
		if s, err = newSigV4(name, spec.SigV4, opts); err == nil {
			inj.a, inj.loaded = s, s.loaded.Load
		}
	default:
		setsAuthz = false
	}
	if err == nil && spec.PassClientAuthorization && setsAuthz {
		err = fmt.Errorf("%w: pass_client_authorization cannot be used with %s, which sets Authorization itself",
			ErrInvalidSpec, inj.kind)
	}
	if err != nil {
		if c, ok := inj.a.(closer); ok {
			c.close()
		}
		return nil, err
	}
	if !opts.noWatch {
		inj.watch = startWatcher(files, log)
	}
	log.Debug("named credential auth ready", zap.String("kind", inj.kind), zap.Int("secret_files", len(files)))
	return inj, nil
}

// Inject removes the client's Authorization (unless the spec passes it
// through) and any Proxy-Authorization, which is for callgate and never the
// endpoint, then applies the authentication. Call it last, after the
// outbound request's URL, Host and headers are final: aws_sigv4 signs them,
// and may replace r.Body with a buffered copy. It honours r.Context() while
// it waits for a token or credentials. A nil Injector injects nothing.
func (i *Injector) Inject(r *http.Request) error {
	if i == nil {
		return nil
	}
	if !i.pass {
		r.Header.Del("Authorization")
	}
	r.Header.Del("Proxy-Authorization")
	if i.a == nil {
		return nil
	}
	if i.closed.Load() {
		return fmt.Errorf("named credential %q: %w", i.name, ErrClosed)
	}
	if err := i.a.apply(r); err != nil {
		return fmt.Errorf("named credential %q: %s: %w", i.name, i.kind, err)
	}
	return nil
}

// Name is the named credential's name.
func (i *Injector) Name() string {
	if i == nil {
		return ""
	}
	return i.name
}

// Kind is the authentication kind: one of the Kind* constants. A nil
// Injector is KindNone.
func (i *Injector) Kind() string {
	if i == nil {
		return KindNone
	}
	return i.kind
}

// HeaderNames are the fields Inject sets (canonical names, never values);
// nil for KindNone.
func (i *Injector) HeaderNames() []string {
	if i == nil {
		return nil
	}
	return i.headers
}

// SecretLoaded reports whether the secrets the credential needs are
// available, never what they are. For file and environment secrets it is
// true once New succeeds (a failed re-read keeps the last good value and is
// logged). For aws_sigv4 it is whether the SDK returned credentials at the
// last attempt, so false until the first signed request. KindNone and
// literal headers, which need no secret, are true.
func (i *Injector) SecretLoaded() bool {
	if i == nil {
		return true
	}
	if i.loaded != nil {
		return i.loaded()
	}
	return true
}

// Close stops watching secret files and cancels token requests in flight,
// and waits for them. Inject fails with ErrClosed afterwards. It is safe to
// call more than once and on nil.
func (i *Injector) Close() error {
	if i == nil {
		return nil
	}
	if !i.closed.CompareAndSwap(false, true) {
		return nil
	}
	i.watch.close()
	if c, ok := i.a.(closer); ok {
		c.close()
	}
	return nil
}

// String names the credential and kind; never a secret.
func (i *Injector) String() string {
	return fmt.Sprintf("credauth.Injector{name: %q, kind: %s}", i.Name(), i.Kind())
}

// Format prints String for every verb, so %+v and %#v cannot reach the
// fields.
func (i *Injector) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(i.String())) }
