package main

import (
	"context"
	"crypto/tls"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/callgate/callgate/admin"
	"github.com/callgate/callgate/connstate"
	"github.com/callgate/callgate/proxy"
	"github.com/callgate/callgate/routing"
)

// certChecker verifies, in the background, that each https named
// credential's endpoint presents a certificate for the credential's host,
// so operators see a mismatch in GET /v1/named-credentials before a call
// fails on it.
type certChecker struct {
	proxy *proxy.Server
	gate  interface {
		Admit(string) connstate.Admission
	}
	log *zap.Logger

	mu      sync.Mutex
	results map[string]certResult // by named credential name
}

type certResult struct {
	host string // the host checked; a changed URL invalidates the result
	err  error
	at   time.Time
}

func newCertChecker(p *proxy.Server, gate interface {
	Admit(string) connstate.Admission
}, log *zap.Logger) *certChecker {
	return &certChecker{proxy: p, gate: gate, log: log, results: make(map[string]certResult)}
}

func (c *certChecker) run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(checkEvery(interval))
	defer t.Stop()
	for {
		c.checkAll(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func checkEvery(interval time.Duration) time.Duration {
	if interval < 5*time.Second {
		return 5 * time.Second
	}
	return interval
}

func (c *certChecker) checkAll(ctx context.Context) {
	snap := c.proxy.Snapshot()
	if snap == nil {
		return
	}
	for _, d := range snap.Routes.Destinations() {
		if d.Scheme != routing.HTTPS || !c.gate.Admit(d.Connection).Allowed() {
			continue
		}
		err := c.check(ctx, d)
		c.mu.Lock()
		c.results[d.Name] = certResult{host: d.Host, err: err, at: time.Now()}
		c.mu.Unlock()
	}
}

func (c *certChecker) check(ctx context.Context, d *routing.Destination) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := c.proxy.DialEndpoint(ctx, d)
	if err != nil {
		return err
	}
	defer conn.Close()
	tc := tls.Client(conn, d.TLS)
	return tc.HandshakeContext(ctx)
}

// fill writes the last result for d into v.
func (c *certChecker) fill(d *routing.Destination, v *admin.CredentialView) {
	if d.Scheme != routing.HTTPS {
		v.CertificateCheck = "not_applicable"
		return
	}
	c.mu.Lock()
	r, ok := c.results[d.Name]
	c.mu.Unlock()
	switch {
	case !ok || r.host != d.Host:
		v.CertificateCheck = "not_checked"
	case r.err != nil:
		v.CertificateCheck = "failed"
		v.CertificateError = r.err.Error()
		v.CheckedAt = r.at.UTC().Format(time.RFC3339)
	default:
		v.CertificateCheck = "ok"
		v.CheckedAt = r.at.UTC().Format(time.RFC3339)
	}
}
