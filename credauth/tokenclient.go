package credauth

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"

	"github.com/callgate/callgate/internal/safeurl"
)

// tokenClient is the client for OAuth 2.0 token requests when
// Options.HTTPClient is nil.
func tokenClient(opts Options) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	// Never a proxy from the environment (HTTPS_PROXY, set for some other
	// tool): callgate is the egress gateway, so where its own requests go
	// must be what its config says, and the token request carries the
	// client secret.
	t.Proxy = nil
	t.TLSClientConfig = &tls.Config{RootCAs: opts.tokenRoots, MinVersion: tls.VersionTLS12}
	if opts.tokenDial != nil {
		t.DialContext = opts.tokenDial
	}
	// Set, it opens every https connection, and token_url is https.
	t.DialTLSContext = opts.TokenDialTLS
	return &http.Client{Timeout: tokenTimeout, Transport: t, CheckRedirect: refuseRedirect}
}

// refuseRedirect keeps the token request on the path token_url names: a
// 307 or 308 would resend the form, client secret and all, wherever it
// points, plain http included.
func refuseRedirect(req *http.Request, _ []*http.Request) error {
	return fmt.Errorf("the token endpoint redirected to %s; token requests go to token_url only", safeurl.Redact(req.URL.String()))
}

// tokenTestHooks are Options fields for this package's tests only.
type tokenTestHooks struct {
	tokenRoots *x509.CertPool                                                    // nil: system roots
	tokenDial  func(ctx context.Context, network, addr string) (net.Conn, error) // nil: net.Dialer
}
