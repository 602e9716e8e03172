// Package proxy is callgate's data plane: the proxy listener's three
// request forms (README, the request forms) — CONNECT tunnels, absolute-form HTTP and the
// /callout/{Name}/ form — behind the Ready-and-warm gate, dialing only the
// endpoint DNS names that connstate reports.
//
// The request forms and their rules are one pipeline (pipeline.go), an
// http.Handler; the wire engines that read client requests and send
// upstream ones meet it at net/http's seams (engine.go). CONNECT tunnels
// are hijacked and handed to internal/tunnel. The hot path loads the
// routing snapshot and asks the Gate with atomic loads only.
package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/callgate/callgate/access"
	"github.com/callgate/callgate/connstate"
	"github.com/callgate/callgate/routing"
)

// Gate answers whether an outbound connection may carry traffic now.
// connstate.Manager implements it. Admit is called on every request: it
// must not block, lock or allocate.
type Gate interface {
	Admit(connection string) connstate.Admission
}

// Dialer opens the TCP connection to an endpoint. address is always
// "endpointDNS:port" (or "IP:port" after a Snapshot.Resolve override),
// never anything a client supplied. *net.Dialer implements it.
type Dialer interface {
	DialContext(ctx context.Context, network, address string) (net.Conn, error)
}

// Timeouts bound every wait of the data plane; a zero field takes the
// default shown.
type Timeouts struct {
	// HeaderRead bounds reading a request's headers, and a tunnel's
	// ClientHello after the 200 (default 10s).
	HeaderRead time.Duration
	// Dial bounds the TCP connect to the endpoint (default 10s).
	Dial time.Duration
	// TLSHandshake bounds the TLS handshake callgate originates on the
	// callout form (default 10s).
	TLSHandshake time.Duration
	// ResponseHeader bounds the wait for the upstream's response headers
	// after the request was sent (default 30s).
	ResponseHeader time.Duration
	// IdleTunnel closes a tunnel, or aborts a request, when no byte moved
	// in either direction for this long (default 5m).
	IdleTunnel time.Duration
	// IdleConn closes keep-alive connections, client side and pooled
	// upstream side, idle for this long (default 90s).
	IdleConn time.Duration
}

// Defaults of Timeouts and Options.MaxHeaderBytes.
const (
	DefaultHeaderRead     = 10 * time.Second
	DefaultDial           = 10 * time.Second
	DefaultTLSHandshake   = 10 * time.Second
	DefaultResponseHeader = 30 * time.Second
	DefaultIdleTunnel     = 5 * time.Minute
	DefaultIdleConn       = 90 * time.Second
	DefaultMaxHeaderBytes = 64 << 10
	// DefaultMaxResponseHeaderBytes is Options.MaxResponseHeaderBytes'
	// default.
	DefaultMaxResponseHeaderBytes = 64 << 10
)

// netHTTPHeaderSlack is what net/http's server reads past MaxHeaderBytes
// before it answers 431: its limit is MaxHeaderBytes + 4096.
const netHTTPHeaderSlack = 4096

// Engine names the code that speaks HTTP/1.1 on the wire, on both sides of
// the proxy; the request forms and their rules are the same on each.
type Engine uint8

const (
	// EngineFast serves bodiless keep-alive requests and sends bodiless
	// plain-http requests with package h1; everything else goes to
	// net/http, as with EngineStdlib. It is the default.
	EngineFast Engine = iota
	// EngineStdlib uses net/http's Server for every client request and an
	// http.Transport for every upstream request.
	EngineStdlib
)

// String is the engine's name in the config (engine: fast | stdlib).
func (e Engine) String() string {
	if e == EngineStdlib {
		return "stdlib"
	}
	return "fast"
}

func (t Timeouts) withDefaults() Timeouts {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&t.HeaderRead, DefaultHeaderRead)
	def(&t.Dial, DefaultDial)
	def(&t.TLSHandshake, DefaultTLSHandshake)
	def(&t.ResponseHeader, DefaultResponseHeader)
	def(&t.IdleTunnel, DefaultIdleTunnel)
	def(&t.IdleConn, DefaultIdleConn)
	return t
}

// Options configure a Server.
type Options struct {
	// Gate decides whether a connection may carry traffic; required.
	Gate Gate
	// Dial opens endpoint connections; nil means a net.Dialer.
	Dial Dialer
	// Timeouts; zero fields take their defaults.
	Timeouts Timeouts
	// MaxHeaderBytes caps a request's request line and header block
	// together, in bytes; zero means 64 KiB. Values up to 4096 are
	// enforced exactly on the lane only (net/http cannot read less).
	MaxHeaderBytes int
	// MaxResponseHeaderBytes caps an endpoint's response header block (with
	// any 1xx responses before it), as http.Transport counts it; zero
	// means 64 KiB. A larger one is answered 502 upstream_header_too_large.
	MaxResponseHeaderBytes int
	// Engine chooses the wire code; the zero value is EngineFast.
	Engine Engine
	// Logger receives one summary line per request or tunnel; the caller
	// names it (e.g. log.Named("proxy")). Nil logs nothing.
	Logger *zap.Logger
	// Metrics receives the request metrics; nil keeps unregistered ones.
	Metrics *Metrics
	// SelfNames are the proxy listener's own names besides its address,
	// "host" or "host:port", normalised as routing.NormalizeHost does: an
	// absolute-form /callout/ request to one of them is the callout form.
	SelfNames []string
}

// Server serves the proxy listener. Its methods are safe for concurrent
// use. The zero value is not usable; use New.
type Server struct {
	gate    Gate
	dialer  Dialer
	t       Timeouts
	log     *zap.Logger
	metrics *Metrics
	hs      *http.Server

	state   atomic.Pointer[state]
	setMu   sync.Mutex   // serialises SetSnapshot (never taken by requests)
	unknown *destMetrics // handles for named_credential=""
	flows   flows
	auth    access.Authenticator // Basic password checks and the failure throttle
	lim     access.Limiter       // concurrency counts and rate buckets

	maxHeaderBytes     int // for the message of net/http's 431 (httperr.go)
	maxRespHeaderBytes int64
	wire               wire // the engine (engine.go)

	self  selfAddr
	lnMu  sync.Mutex
	ports map[uint16]int // the ports Serve listens on, for isSelf
}

// New returns a Server with an empty snapshot (every destination unknown)
// until SetSnapshot.
func New(opts Options) (*Server, error) {
	if opts.Gate == nil {
		return nil, ErrNoGate
	}
	s := &Server{
		gate:    opts.Gate,
		dialer:  opts.Dial,
		t:       opts.Timeouts.withDefaults(),
		log:     opts.Logger,
		metrics: opts.Metrics,
	}
	if s.log == nil {
		s.log = zap.NewNop()
	}
	if s.metrics == nil {
		s.metrics = NewMetrics(nil)
	}
	if s.dialer == nil {
		s.dialer = &net.Dialer{KeepAlive: 30 * time.Second}
	}
	s.unknown = newDestMetrics(s.metrics, "")
	s.flows.init()
	s.state.Store(newState(&Snapshot{}, nil, s.metrics))
	maxHeader := opts.MaxHeaderBytes
	if maxHeader <= 0 {
		maxHeader = DefaultMaxHeaderBytes
	}
	s.maxHeaderBytes = maxHeader
	s.maxRespHeaderBytes = int64(opts.MaxResponseHeaderBytes)
	if s.maxRespHeaderBytes <= 0 {
		s.maxRespHeaderBytes = DefaultMaxResponseHeaderBytes
	}
	s.self = newSelfAddr(opts.SelfNames)
	// net/http's own messages (malformed requests it answers itself, TLS
	// handshake failures) are client-triggered: debug, not noise.
	stdLog, err := zap.NewStdLogAt(s.log, zap.DebugLevel)
	if err != nil {
		return nil, fmt.Errorf("proxy: error log: %w", err)
	}
	s.hs = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: s.t.HeaderRead,
		IdleTimeout:       s.t.IdleConn,
		// net/http reads MaxHeaderBytes plus its slack before it answers
		// 431: asking for the difference makes the documented number the
		// limit.
		MaxHeaderBytes: max(maxHeader-netHTTPHeaderSlack, 1),
		ErrorLog:       stdLog,
		// A non-nil empty map keeps HTTP/2 off even behind a TLS listener
		// offering h2: CONNECT tunnels need HTTP/1.1 hijacking.
		TLSNextProto:                 map[string]func(*http.Server, *tls.Conn, http.Handler){},
		DisableGeneralOptionsHandler: true,
	}
	s.wire = s.newWire(opts.Engine)
	return s, nil
}

// SetSnapshot swaps in a new routing snapshot (a reload). Requests and
// tunnels already running keep the snapshot they started with, except that
// flows whose named credential is gone, or now leads elsewhere, are cut.
// A nil snapshot routes nothing.
func (s *Server) SetSnapshot(snap *Snapshot) {
	if snap == nil {
		snap = &Snapshot{}
	}
	s.setMu.Lock()
	defer s.setMu.Unlock()
	prev := s.state.Load()
	s.state.Store(newState(snap, prev, s.metrics))
	prev.retired.Store(true)
	prev.closeIdle()
	s.flows.retire(snap.Routes)
	for _, d := range prev.snap.Routes.Destinations() {
		if snap.Routes.ByName(d.Name) == nil {
			s.metrics.forget(d.Name)
		}
	}
}

// Snapshot returns the snapshot being served (never nil).
func (s *Server) Snapshot() *Snapshot { return s.state.Load().snap }

// Handler returns the proxy as an http.Handler, for a caller that runs its
// own http.Server (it must be HTTP/1.1 for CONNECT to work).
func (s *Server) Handler() http.Handler { return s }

// Shutdown stops accepting, lets in-flight requests finish, then closes
// the open tunnels and waits for them, all within ctx. When ctx ends first
// the remaining requests and tunnels are cut and ctx's error returned.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.wire.shutdown(ctx)
	s.flows.stopAll()
	done := make(chan struct{})
	go func() {
		s.flows.tunnels.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		if err == nil {
			err = ctx.Err()
		}
	}
	s.state.Load().closeIdle()
	if err != nil {
		return fmt.Errorf("proxy: shutdown: %w", err)
	}
	return nil
}

// ServeHTTP dispatches the request forms of README, the request forms.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	st := s.state.Load()
	sum := &summary{start: time.Now(), dm: s.unknown}
	// Deferred: an exchange cut after its response began aborts the
	// handler with a panic (http.ErrAbortHandler), and it still gets its
	// summary line. A CONNECT that became a tunnel hands the line to the
	// tunnel's goroutine.
	handedOff := false
	defer func() {
		if !handedOff {
			sum.finish(s.log)
		}
	}()
	if len(r.TransferEncoding) > 0 && r.Method != http.MethodConnect {
		// net/http reads a chunked body by Transfer-Encoding and drops
		// any Content-Length without saying there was one; RFC 9112 §6.1
		// then asks for a close after the response, so bytes past the
		// body are never read as another request.
		w.Header().Set("Connection", "close")
	}
	p := pass{r: r, st: st, sum: sum}
	p.form, p.callout = s.formOf(r)
	sum.form = p.form
	if p.form == formOther {
		s.refuse(w, sum, badRequest(nil,
			"send CONNECT host:port, an absolute-form http:// URL, or /callout/{NamedCredential}/{path}", nil), false)
		return
	}
	if f := s.run(&p); f != nil {
		// After a refused CONNECT the client may already have sent tunnel
		// bytes, which must not be read as a request.
		s.refuse(w, sum, f, p.form == formConnect)
		return
	}
	switch p.form {
	case formConnect:
		handedOff = s.serveConnect(w, &p)
	case formAbsolute:
		s.serveAbsolute(w, &p)
	case formCallout:
		s.serveCallout(w, &p)
	}
}

// refuse fills the summary from f, counts it and sends it. Counting comes
// first so that a client that has read the refusal finds it in /metrics
// and its limit slots free.
func (s *Server) refuse(w http.ResponseWriter, sum *summary, f *refusal, closeConn bool) {
	sum.outcome = OutcomeRefused
	sum.code = f.code
	sum.status = rows[f.code].status
	if f.cause != nil && sum.err == nil {
		sum.err = f.cause
	}
	sum.countRefusal()
	f.write(w, closeConn)
}

// admit finds d's connection in the gate. It returns the Admission when the
// connection may carry traffic, else the refusal to send.
func (s *Server) admit(d *routing.Destination) (connstate.Admission, *refusal) {
	a := s.gate.Admit(d.Connection)
	if !a.Allowed() {
		return a, gateRefusal(d, a)
	}
	return a, nil
}

// bind points the summary at the named credential d.
func (sum *summary) bind(st *state, d *routing.Destination) {
	sum.dm = st.dest(d).m
	sum.credName = d.Name
	sum.connName = d.Connection
}

// errClientGone reports whether err is the client going away (its request
// context was cancelled) rather than an upstream problem.
func errClientGone(r *http.Request, err error) bool {
	return r.Context().Err() != nil && errors.Is(err, context.Canceled)
}
