package main

// The tests' one loopback upstream: an HTTP (or HTTPS) origin with the
// behaviour the tests lean on, or a handler of their own, counting the
// requests it answers, the TLS server names it is asked for and the
// connections open on it.

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/callgate/callgate/internal/certgen"
)

const (
	// upResetBody is the Content-Length a /reset… response announces; it
	// sends only upResetSent bytes of it.
	upResetBody = 1000
	upResetSent = 100
)

// testUpstream is a loopback upstream started by startUpstream. Unless a
// test gives its own handler (upHandler), it answers "ok PATH", and
// misbehaves on two paths:
//   - /reset…: headers with Content-Length upResetBody, upResetSent bytes
//     of body, then (once released, or after 500ms) a TCP RST;
//   - /slow…: no answer until the client gives up or the slow time
//     (upSlow, 10s by default) passes, then "ok PATH".
type testUpstream struct {
	addr, port string
	ca         *certgen.CA // upCert: the CA that signed its certificate
	caFile     string      // upCert: PEM of that CA
	// release lets a /reset response go on to its RST; a test that wants
	// the client to have seen the partial body first sends on it.
	release chan struct{}
	slow    time.Duration

	calls atomic.Int64 // HTTP requests answered

	mu    sync.Mutex
	names map[string]int // TLS server names clients asked for
	open  int            // connections open now
}

// upstreamSetup is what the options change.
type upstreamSetup struct {
	handler http.Handler
	tls     *tls.Config
	ca      *certgen.CA
	hosts   []string // upCert
	cert    bool
	slow    time.Duration
	echo    bool
	quiet   bool
}

type upstreamOption func(*upstreamSetup)

// upHandler answers every request with h instead of the origin behaviour.
func upHandler(h http.HandlerFunc) upstreamOption {
	return func(s *upstreamSetup) { s.handler = h }
}

// upCert serves TLS with a certificate for hosts signed by ca; a nil ca is
// a fresh test CA. The CA is the upstream's ca and its PEM its caFile.
func upCert(ca *certgen.CA, hosts ...string) upstreamOption {
	return func(s *upstreamSetup) { s.cert, s.ca, s.hosts = true, ca, hosts }
}

// upTLS serves TLS with cfg (for a choice of certificate or client
// authentication per client); a GetConfigForClient of cfg's still runs.
func upTLS(cfg *tls.Config) upstreamOption {
	return func(s *upstreamSetup) { s.tls = cfg.Clone() }
}

// upSlow is how long a /slow… request waits before its answer.
func upSlow(d time.Duration) upstreamOption {
	return func(s *upstreamSetup) { s.slow = d }
}

// upEcho makes the upstream speak no HTTP: it sends every connection's
// bytes back (after the TLS handshake, with upCert or upTLS).
func upEcho() upstreamOption {
	return func(s *upstreamSetup) { s.echo = true }
}

// upQuiet drops the HTTP server's error log (handshakes a test expects
// to be refused).
func upQuiet() upstreamOption {
	return func(s *upstreamSetup) { s.quiet = true }
}

// startUpstream starts an upstream on 127.0.0.1 and stops it in t.Cleanup.
func startUpstream(t *testing.T, opts ...upstreamOption) *testUpstream {
	t.Helper()
	set := upstreamSetup{slow: 10 * time.Second}
	for _, o := range opts {
		o(&set)
	}
	u := &testUpstream{release: make(chan struct{}, 1), slow: set.slow, names: map[string]int{}}
	if set.cert {
		set.tls = u.certificate(t, set.ca, set.hosts)
	}
	if set.tls != nil {
		inner := set.tls.GetConfigForClient
		set.tls.GetConfigForClient = func(h *tls.ClientHelloInfo) (*tls.Config, error) {
			u.mu.Lock()
			u.names[h.ServerName]++
			u.mu.Unlock()
			if inner != nil {
				return inner(h)
			}
			return nil, nil
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u.addr = ln.Addr().String()
	_, u.port, _ = net.SplitHostPort(u.addr)
	if set.echo {
		u.echo(t, ln, set.tls)
		return u
	}

	handler := set.handler
	if handler == nil {
		handler = http.HandlerFunc(u.origin)
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			u.calls.Add(1)
			handler.ServeHTTP(w, r)
		}),
		TLSConfig:         set.tls,
		ConnState:         u.connState,
		ReadHeaderTimeout: 10 * time.Second,
	}
	if set.quiet {
		srv.ErrorLog = log.New(io.Discard, "", 0)
	}
	go func() {
		serve := func() error { return srv.Serve(ln) }
		if set.tls != nil {
			serve = func() error { return srv.ServeTLS(ln, "", "") }
		}
		if err := serve(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("upstream: %v", err)
		}
	}()
	t.Cleanup(func() { _ = srv.Close() })
	return u
}

// certificate is the TLS config of upCert.
func (u *testUpstream) certificate(t *testing.T, ca *certgen.CA, hosts []string) *tls.Config {
	t.Helper()
	var err error
	if ca == nil {
		if ca, err = certgen.NewCA("callgate test upstream CA"); err != nil {
			t.Fatal(err)
		}
	}
	leaf, err := ca.Server(hosts...)
	if err != nil {
		t.Fatal(err)
	}
	u.ca, u.caFile = ca, filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(u.caFile, ca.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{leaf.TLS}, MinVersion: tls.VersionTLS12}
}

// echo serves upEcho: every connection's bytes back, for at most 30s.
func (u *testUpstream) echo(t *testing.T, ln net.Listener, cfg *tls.Config) {
	if cfg != nil {
		ln = tls.NewListener(ln, cfg)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				u.connState(c, http.StateNew)
				defer u.connState(c, http.StateClosed)
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(30 * time.Second))
				_, _ = io.Copy(c, c)
			})
		}
	})
	t.Cleanup(func() { _ = ln.Close(); wg.Wait() })
}

func (u *testUpstream) connState(_ net.Conn, st http.ConnState) {
	u.mu.Lock()
	defer u.mu.Unlock()
	switch st {
	case http.StateNew:
		u.open++
	case http.StateClosed, http.StateHijacked:
		u.open--
	}
}

// origin is the default behaviour (see testUpstream).
func (u *testUpstream) origin(w http.ResponseWriter, r *http.Request) {
	switch {
	case strings.HasPrefix(r.URL.Path, "/reset"):
		u.reset(w)
		return
	case strings.HasPrefix(r.URL.Path, "/slow"):
		select {
		case <-r.Context().Done(): // the client (callgate) gave up and closed the connection
			return
		case <-time.After(u.slow):
		}
	}
	_, _ = io.WriteString(w, "ok "+r.URL.Path)
}

// reset sends a response cut short by a RST: SO_LINGER 0 makes Close
// send RST instead of FIN.
func (u *testUpstream) reset(w http.ResponseWriter) {
	c, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	defer c.Close()
	fmt.Fprintf(brw, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s",
		upResetBody, strings.Repeat("x", upResetSent))
	if brw.Flush() != nil {
		return
	}
	select {
	case <-u.release:
	case <-time.After(500 * time.Millisecond):
	}
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
}

// drainRelease drops a release token left over from an earlier request.
func (u *testUpstream) drainRelease() {
	select {
	case <-u.release:
	default:
	}
}

// callCount is how many HTTP requests the upstream has answered.
func (u *testUpstream) callCount() int { return int(u.calls.Load()) }

// serverNames returns the TLS server names clients asked for, with how
// often.
func (u *testUpstream) serverNames() map[string]int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return maps.Clone(u.names)
}

// openConns is how many client connections are open now.
func (u *testUpstream) openConns() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.open
}
