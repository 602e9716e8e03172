// Package probe dials each https named credential's endpoint in the
// background, as the data plane would, and completes a TLS handshake with
// the credential's host as server name and its tls.ca_file, so operators
// learn that a partner's certificate expired, names another host or comes
// from an unknown authority before a call fails on it. It sends no HTTP
// request, probes only connections that carry traffic (Ready and warm),
// and keeps the last result of each named credential for the metrics,
// GET /v1/named-credentials and explain.
package probe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/callgate/callgate/connstate"
	"github.com/callgate/callgate/routing"
)

// The reasons of a failed probe, as /v1/named-credentials and explain
// report them.
const (
	ReasonHostMismatch     = "host_mismatch"     // the certificate does not name the credential's host
	ReasonExpired          = "expired"           // the certificate (or one of its chain) is expired or not yet valid
	ReasonUnknownAuthority = "unknown_authority" // no chain to a trusted root (tls.ca_file or the system's)
	ReasonHandshake        = "handshake"         // any other TLS failure
	ReasonDial             = "dial"              // no TCP connection to the endpoint
)

// Defaults for Settings fields left zero.
const (
	DefaultInterval    = 5 * time.Minute
	DefaultConcurrency = 4
	DefaultTimeout     = 10 * time.Second
)

// jitter is the fraction of the interval each credential's next probe is
// moved by at random, either way, so replicas and credentials spread out.
const jitter = 0.1

// Settings are read at every round, so a reload that changes them takes
// effect at the next one.
type Settings struct {
	Interval    time.Duration // between two probes of one named credential
	Concurrency int           // probes in flight at once
	Timeout     time.Duration // one probe: dial and handshake
}

// Gate says whether a connection carries traffic (connstate.Manager).
type Gate interface {
	Admit(connection string) connstate.Admission
}

// Options wire a Prober.
type Options struct {
	Gate Gate
	// Dial opens a connection to d's endpoint the way the data plane does
	// (proxy.Server.DialEndpoint).
	Dial func(ctx context.Context, d *routing.Destination) (net.Conn, error)
	// Routes returns the routing table serving now; nil routes nothing.
	Routes   func() *routing.Table
	Settings func() Settings
	Metrics  *Metrics
	Logger   *zap.Logger
}

// Result is the last probe of one named credential.
type Result struct {
	Host       string        // the host verified (the credential's)
	HostPort   string        // the credential's host:port, to notice a changed URL
	Connection string        // the outbound connection it went through
	At         time.Time     // when the probe started
	Duration   time.Duration // dial and handshake
	Err        error         // nil when the certificate verified
	Reason     string        // one of the Reason constants when Err is set
	// CertSeen: the endpoint presented a certificate, so NotAfter and
	// CertValid mean something (false after a dial failure).
	CertSeen  bool
	CertValid bool      // the chain verified and names Host
	NotAfter  time.Time // earliest NotAfter of the certificates presented
}

// OK reports whether the probe succeeded.
func (r Result) OK() bool { return r.Err == nil }

// Prober probes named credentials' endpoints; see the package comment.
type Prober struct {
	opts Options
	log  *zap.Logger

	rounds atomic.Int64

	mu      sync.Mutex
	results map[string]Result    // by named credential name
	next    map[string]time.Time // when each is next due
}

// New returns a Prober; Run starts it.
func New(opts Options) *Prober {
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	p := &Prober{opts: opts, log: opts.Logger, results: make(map[string]Result), next: make(map[string]time.Time)}
	opts.Metrics.bind(p)
	return p
}

func (p *Prober) settings() Settings {
	var s Settings
	if p.opts.Settings != nil {
		s = p.opts.Settings()
	}
	if s.Interval <= 0 {
		s.Interval = DefaultInterval
	}
	if s.Concurrency <= 0 {
		s.Concurrency = DefaultConcurrency
	}
	if s.Timeout <= 0 {
		s.Timeout = DefaultTimeout
	}
	return s
}

// Run probes until ctx ends: it wakes often enough to probe a credential
// soon after its connection becomes usable, and probes each one again
// about every Interval (± 10%).
func (p *Prober) Run(ctx context.Context) {
	for {
		p.Round(ctx)
		select {
		case <-ctx.Done():
			return
		case <-time.After(tick(p.settings().Interval)):
		}
	}
}

// tick is how often Run looks for due credentials.
func tick(interval time.Duration) time.Duration {
	return min(max(interval/4, 10*time.Millisecond), time.Second)
}

// Round probes every https named credential that is due and whose
// connection carries traffic, at most Concurrency at once, and returns
// when they are done.
func (p *Prober) Round(ctx context.Context) {
	defer p.rounds.Add(1)
	t := p.table()
	if t == nil {
		return
	}
	s := p.settings()
	now := time.Now()
	var due []*routing.Destination
	p.mu.Lock()
	for _, d := range t.Destinations() {
		if d.Scheme != routing.HTTPS {
			continue
		}
		if r, ok := p.results[d.Name]; ok && r.HostPort == d.HostPort && now.Before(p.next[d.Name]) {
			continue
		}
		due = append(due, d)
	}
	p.mu.Unlock()
	sem := make(chan struct{}, s.Concurrency)
	var wg sync.WaitGroup
	for _, d := range due {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			// Ask the gate now, not when the round began: a connection
			// that left Ready meanwhile is not probed.
			if !p.opts.Gate.Admit(d.Connection).Allowed() {
				return
			}
			r := p.probe(ctx, d, s.Timeout)
			if ctx.Err() != nil {
				return // shutting down: the cut probe says nothing of the endpoint
			}
			if !r.OK() && !p.opts.Gate.Admit(d.Connection).Allowed() {
				return // the connection left Ready during the probe: its failure says nothing of the endpoint
			}
			p.record(d, r, s.Interval)
		}()
	}
	wg.Wait()
}

func (p *Prober) table() *routing.Table {
	if p.opts.Routes == nil {
		return nil
	}
	return p.opts.Routes()
}

func (p *Prober) record(d *routing.Destination, r Result, interval time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	// A reload may have removed or changed the credential while it was probed.
	if t := p.table(); t == nil || t.ByName(d.Name) == nil || t.ByName(d.Name).HostPort != d.HostPort {
		return
	}
	prev, had := p.results[d.Name]
	p.results[d.Name] = r
	spread := time.Duration((rand.Float64()*2 - 1) * jitter * float64(interval))
	p.next[d.Name] = r.At.Add(interval + spread)
	if r.OK() != prev.OK() || r.Reason != prev.Reason || !had {
		if r.OK() {
			p.log.Info("endpoint probe succeeded", zap.String("named_credential", d.Name), zap.String("host", d.Host),
				zap.Time("certificate_not_after", r.NotAfter))
		} else {
			p.log.Warn("endpoint probe failed", zap.String("named_credential", d.Name), zap.String("host", d.Host),
				zap.String("reason", r.Reason), zap.Error(r.Err))
		}
	}
}

// probe dials d's endpoint and completes a TLS handshake with d.TLS (the
// credential's host as server name, its CA file and client certificate).
func (p *Prober) probe(ctx context.Context, d *routing.Destination, timeout time.Duration) Result {
	r := Result{Host: d.Host, HostPort: d.HostPort, Connection: d.Connection, At: time.Now()}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	defer func() { r.Duration = time.Since(r.At) }()
	conn, err := p.opts.Dial(ctx, d)
	if err != nil {
		r.Err, r.Reason = err, ReasonDial
		return r
	}
	defer conn.Close()
	cfg := d.TLS
	if cfg == nil {
		cfg = &tls.Config{ServerName: d.Host, MinVersion: tls.VersionTLS12}
	}
	tc := tls.Client(conn, cfg)
	err = tc.HandshakeContext(ctx)
	if err == nil {
		r.CertSeen, r.CertValid = true, true
		r.NotAfter = earliest(tc.ConnectionState().PeerCertificates)
		_ = tc.Close()
		return r
	}
	r.Err, r.Reason = err, Classify(err)
	var verify *tls.CertificateVerificationError
	if errors.As(err, &verify) && len(verify.UnverifiedCertificates) > 0 {
		r.CertSeen = true
		r.NotAfter = earliest(verify.UnverifiedCertificates)
	}
	return r
}

func earliest(certs []*x509.Certificate) time.Time {
	var t time.Time
	for _, c := range certs {
		if t.IsZero() || c.NotAfter.Before(t) {
			t = c.NotAfter
		}
	}
	return t
}

// Classify names the reason of a failed TLS handshake, looking through
// wrapping as the data plane's error classification does: the
// certificate names another host, is expired, has no chain to a trusted
// root, or the handshake failed otherwise.
func Classify(err error) string {
	var (
		hostErr x509.HostnameError
		invalid x509.CertificateInvalidError
		unknown x509.UnknownAuthorityError
	)
	switch {
	case err == nil:
		return ""
	case errors.As(err, &hostErr):
		return ReasonHostMismatch
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		return ReasonExpired
	case errors.As(err, &unknown):
		return ReasonUnknownAuthority
	}
	return ReasonHandshake
}

// Rounds is how many rounds have run (each looks at every named
// credential once), so a caller can wait for the probe to have looked.
func (p *Prober) Rounds() int64 { return p.rounds.Load() }

// Last returns the last probe of the named credential, if it has been
// probed at its current host:port.
func (p *Prober) Last(name, hostPort string) (Result, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	r, ok := p.results[name]
	if !ok || r.HostPort != hostPort {
		return Result{}, false
	}
	return r, true
}

// Retain forgets the results (and so the metric series) of named
// credentials that t no longer holds as https at the same host:port and
// outbound connection. Call it after each reload.
func (p *Prober) Retain(t *routing.Table) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for name, r := range p.results {
		var d *routing.Destination
		if t != nil {
			d = t.ByName(name)
		}
		if d == nil || d.Scheme != routing.HTTPS || d.HostPort != r.HostPort || d.Connection != r.Connection {
			delete(p.results, name)
			delete(p.next, name)
		}
	}
}

// snapshot copies the results for a scrape.
func (p *Prober) snapshot() map[string]Result {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]Result, len(p.results))
	for k, v := range p.results {
		out[k] = v
	}
	return out
}
