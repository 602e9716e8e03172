package proxy

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/callgate/callgate/connstate"
	"github.com/callgate/callgate/internal/certgen"
	"github.com/callgate/callgate/internal/testwait"
	"github.com/callgate/callgate/routing"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// fakeGate is a Gate the test drives: statuses, endpoints and a clock for
// the warm-up arithmetic.
type fakeGate struct {
	mu    sync.Mutex
	conns map[string]*fakeConn
	now   atomic.Int64 // unix nanoseconds of the fake clock
}

type fakeConn struct {
	status     connstate.Status
	endpoint   string
	readySince time.Time
	warmup     time.Duration
	revoked    chan struct{}
}

func newFakeGate() *fakeGate {
	g := &fakeGate{conns: make(map[string]*fakeConn)}
	g.now.Store(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	return g
}

func (g *fakeGate) clock() time.Time { return time.Unix(0, g.now.Load()) }

func (g *fakeGate) advance(d time.Duration) { g.now.Add(int64(d)) }

// set moves a connection to status; leaving Ready closes its episode.
func (g *fakeGate) set(name string, s connstate.Status, endpoint string, warmup time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	c := g.conns[name]
	if c == nil {
		c = &fakeConn{}
		g.conns[name] = c
	}
	if c.status == connstate.Ready && s != connstate.Ready && c.revoked != nil {
		close(c.revoked)
		c.revoked = nil
	}
	if s == connstate.Ready && c.revoked == nil {
		c.revoked = make(chan struct{})
		c.readySince = g.clock()
	}
	c.status, c.endpoint, c.warmup = s, endpoint, warmup
}

func (g *fakeGate) Admit(name string) connstate.Admission {
	g.mu.Lock()
	defer g.mu.Unlock()
	c := g.conns[name]
	if c == nil {
		return connstate.Admission{}
	}
	a := connstate.Admission{Known: true, Status: c.status}
	if c.status == connstate.Ready {
		a.Endpoint = c.endpoint
		a.Revoked = c.revoked
		a.WarmupLeft = connstate.WarmupLeft(c.readySince, c.warmup, g.clock())
	}
	return a
}

// testDialer refuses anything but loopback, and fakes the failures the
// tests need without touching a real resolver.
type testDialer struct {
	d     net.Dialer
	dials atomic.Int64
	last  atomic.Pointer[string]
}

func (t *testDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	t.dials.Add(1)
	t.last.Store(&addr)
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	switch {
	case strings.HasSuffix(host, ".nxdomain.test"):
		return nil, &net.OpError{Op: "dial", Net: network, Err: &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}}
	case host == "blackhole.test":
		<-ctx.Done()
		return nil, &net.OpError{Op: "dial", Net: network, Err: ctx.Err()}
	case host != "127.0.0.1":
		return nil, fmt.Errorf("test dialer: refusing non-loopback %q", addr)
	}
	return t.d.DialContext(ctx, network, addr)
}

// seen is what the echo upstream reports about the request it got.
type seen struct {
	Method     string      `json:"method"`
	Path       string      `json:"path"`
	RawPath    string      `json:"raw_path"`
	RequestURI string      `json:"request_uri"`
	Query      string      `json:"query"`
	Host       string      `json:"host"`
	Header     http.Header `json:"header"`
	BodyLen    int64       `json:"body_len"`
	SNI        string      `json:"sni"`
}

// upstream is a real HTTP(S) server on loopback that echoes what it saw
// and counts the connections it accepted.
type upstream struct {
	srv     *http.Server
	ln      net.Listener
	port    uint16
	conns   atomic.Int64
	release chan struct{} // /slow waits on it
	once    sync.Once
	// upload and download synchronise the streaming tests.
	upload   chan int64
	download chan struct{}
	// flooded receives how /flood ended: the bytes it wrote before a
	// write failed or the request was cancelled.
	flooded chan int64
}

func startUpstream(t testing.TB, leaf *certgen.Leaf) *upstream {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := &upstream{ln: ln, release: make(chan struct{}), upload: make(chan int64, 64), download: make(chan struct{}, 64), flooded: make(chan int64, 1)}
	u.port = uint16(ln.Addr().(*net.TCPAddr).Port)
	u.srv = &http.Server{
		Handler:           http.HandlerFunc(u.serve),
		ReadHeaderTimeout: 5 * time.Second,
		ConnState: func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				u.conns.Add(1)
			}
		},
		ErrorLog: log.New(io.Discard, "", 0),
	}
	if leaf != nil {
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{leaf.TLS}, NextProtos: []string{"http/1.1"}})
	}
	go func() { _ = u.srv.Serve(ln) }()
	t.Cleanup(func() {
		u.once.Do(func() { close(u.release) })
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = u.srv.Shutdown(ctx)
	})
	return u
}

func (u *upstream) serve(w http.ResponseWriter, r *http.Request) {
	// The Plain credential's base path is /base; the callout form adds it.
	switch strings.TrimPrefix(r.URL.Path, "/base") {
	case "/slow":
		select {
		case <-u.release:
		case <-r.Context().Done():
			return
		}
	case "/stall":
		// Headers and a first part, then silence.
		w.Header().Set("Content-Length", "1000")
		_, _ = w.Write([]byte(strings.Repeat("s", 100)))
		w.(http.Flusher).Flush()
		select {
		case <-u.release:
		case <-r.Context().Done():
		}
		return
	case "/duplex":
		// Answer at once, then echo the body as it arrives.
		rc := http.NewResponseController(w)
		_ = rc.EnableFullDuplex()
		w.WriteHeader(http.StatusOK)
		_ = rc.Flush()
		buf := make([]byte, 32<<10)
		for {
			m, err := r.Body.Read(buf)
			if m > 0 {
				_, _ = w.Write(buf[:m])
				_ = rc.Flush()
			}
			if err != nil {
				return
			}
		}
	case "/upload":
		// Report progress as it arrives, so the client can prove the
		// proxy streams instead of buffering the whole body.
		buf := make([]byte, 64<<10)
		var n int64
		for {
			m, err := r.Body.Read(buf)
			n += int64(m)
			if m > 0 {
				select {
				case u.upload <- n:
				default:
				}
			}
			if err != nil {
				break
			}
		}
		fmt.Fprintf(w, "%d", n)
		return
	case "/download":
		// Send a chunk, then wait for the client to confirm it arrived
		// before sending the next.
		w.Header().Set("Content-Type", "application/octet-stream")
		for i := 0; i < 4; i++ {
			_, _ = w.Write([]byte(strings.Repeat("x", 1000) + "\n"))
			w.(http.Flusher).Flush()
			select {
			case <-u.download:
			case <-time.After(5 * time.Second):
				return
			case <-r.Context().Done():
				return
			}
		}
		return
	case "/flood":
		// Up to 1 GiB, as fast as the reader takes it.
		w.Header().Set("Content-Length", strconv.Itoa(1<<30))
		chunk := make([]byte, 64<<10)
		var n int64
		for n < 1<<30 {
			m, err := w.Write(chunk)
			n += int64(m)
			if err != nil || r.Context().Err() != nil {
				break
			}
		}
		select {
		case u.flooded <- n:
		default:
		}
		return
	case "/untyped":
		// A body without Content-Type: the proxy must not add one.
		w.Header()["Content-Type"] = nil
		_, _ = io.WriteString(w, "<html><body>not labelled</body></html>")
		return
	case "/hop":
		w.Header().Set("Connection", "X-Resp-Hop")
		w.Header().Set("X-Resp-Hop", "1")
		w.Header().Set("Proxy-Agent", "upstream")
		w.Header().Set("X-Kept", "1")
	}
	n, _ := io.Copy(io.Discard, r.Body)
	s := seen{Method: r.Method, Path: r.URL.Path, RawPath: r.URL.RawPath, RequestURI: r.RequestURI,
		Query: r.URL.RawQuery, Host: r.Host, Header: r.Header, BodyLen: n}
	if r.TLS != nil {
		s.SNI = r.TLS.ServerName
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(s)
}

// env is a proxy under test with its upstreams, gate and credentials.
type env struct {
	t        testing.TB
	gate     *fakeGate
	dialer   *testDialer
	srv      *Server
	addr     string // proxy listener host:port
	reg      *prometheus.Registry
	metrics  *Metrics
	logs     *observer.ObservedLogs
	ca       *certgen.CA
	caFile   string
	good     *upstream // TLS, cert for api.partner.example
	other    *upstream // TLS, cert for other.example
	plain    *upstream // HTTP
	slow     *upstream // HTTP, /slow waits
	closed   uint16    // a port nobody listens on
	creds    []routing.Credential
	serveErr chan error
}

const (
	partnerHost  = "api.partner.example"
	partnerEP    = "vpce-0123-partner.vpce.test"
	plainEP      = "vpce-0456-plain.vpce.test"
	defaultWarm  = 10 * time.Second
	testIdleConn = 5 * time.Second
)

func newEnv(t testing.TB, tweak ...func(*Options)) *env {
	t.Helper()
	e := &env{t: t, gate: newFakeGate(), dialer: &testDialer{}}
	ca, err := certgen.NewCA("callgate proxy test CA")
	if err != nil {
		t.Fatal(err)
	}
	e.ca = ca
	e.caFile = filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(e.caFile, ca.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	goodLeaf, err := ca.Server(partnerHost)
	if err != nil {
		t.Fatal(err)
	}
	otherLeaf, err := ca.Server("other.example")
	if err != nil {
		t.Fatal(err)
	}
	e.good = startUpstream(t, goodLeaf)
	e.other = startUpstream(t, otherLeaf)
	e.plain = startUpstream(t, nil)
	e.slow = startUpstream(t, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.closed = uint16(ln.Addr().(*net.TCPAddr).Port)
	_ = ln.Close()

	tlsCA := &tls.Config{RootCAs: ca.Pool()}
	e.creds = []routing.Credential{
		{Name: "Partner", URL: fmt.Sprintf("https://%s:%d/v1", partnerHost, e.good.port), Connection: "partner", TLS: tlsCA},
		{Name: "Mismatch", URL: fmt.Sprintf("https://api.mismatch.example:%d/", e.other.port), Connection: "partner", TLS: tlsCA},
		{Name: "Plain", URL: fmt.Sprintf("http://plain.partner.example:%d/base", e.plain.port), Connection: "plain"},
		{Name: "Slow", URL: fmt.Sprintf("http://slow.partner.example:%d", e.slow.port), Connection: "plain"},
		{Name: "Pending", URL: fmt.Sprintf("http://pending.partner.example:%d", e.plain.port), Connection: "pending"},
		{Name: "Warming", URL: fmt.Sprintf("http://warm.partner.example:%d", e.plain.port), Connection: "warming"},
		{Name: "Closed", URL: fmt.Sprintf("http://closed.partner.example:%d", e.closed), Connection: "plain"},
		{Name: "NoDNS", URL: fmt.Sprintf("http://nodns.partner.example:%d", e.plain.port), Connection: "nodns"},
		{Name: "Blackhole", URL: "http://blackhole.partner.example:80", Connection: "blackhole"},
		{Name: "Orphan", URL: "http://orphan.partner.example", Connection: "nosuchconnection"},
	}
	e.gate.set("partner", connstate.Ready, partnerEP, 0)
	e.gate.set("plain", connstate.Ready, plainEP, 0)
	e.gate.set("pending", connstate.PendingAcceptance, "", 0)
	e.gate.set("warming", connstate.Ready, plainEP, defaultWarm)
	e.gate.set("nodns", connstate.Ready, "vpce-0789.nxdomain.test", 0)
	e.gate.set("blackhole", connstate.Ready, "blackhole.test", 0)

	core, logs := observer.New(zap.DebugLevel)
	e.logs = logs
	e.reg = prometheus.NewRegistry()
	e.metrics = NewMetrics(e.reg)
	opts := Options{
		Gate: e.gate,
		Dial: e.dialer,
		Timeouts: Timeouts{
			HeaderRead:     3 * time.Second,
			Dial:           300 * time.Millisecond,
			TLSHandshake:   3 * time.Second,
			ResponseHeader: 500 * time.Millisecond,
			IdleTunnel:     10 * time.Second,
			IdleConn:       testIdleConn,
		},
		Logger:  zap.New(core).Named("proxy"),
		Metrics: e.metrics,
		Engine:  testEngine(),
	}
	for _, f := range tweak {
		f(&opts)
	}
	e.srv, err = New(opts)
	if err != nil {
		t.Fatal(err)
	}
	e.setCreds(e.creds)
	pl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.addr = pl.Addr().String()
	e.serveErr = make(chan error, 1)
	go func() { e.serveErr <- e.srv.Serve(pl) }()
	t.Cleanup(func() { e.shutdown() })
	return e
}

// setCreds compiles creds and swaps them in, as a reload does.
func (e *env) setCreds(creds []routing.Credential) {
	e.t.Helper()
	table, err := routing.Compile(creds)
	if err != nil {
		e.t.Fatal(err)
	}
	ov, err := routing.CompileOverrides(map[string]string{"*.vpce.test": "127.0.0.1"})
	if err != nil {
		e.t.Fatal(err)
	}
	e.srv.SetSnapshot(&Snapshot{Routes: table, Resolve: ov})
}

func (e *env) shutdown() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.srv.Shutdown(ctx); err != nil {
		e.t.Errorf("shutdown: %v", err)
	}
	select {
	case err := <-e.serveErr:
		if !errors.Is(err, http.ErrServerClosed) {
			e.t.Errorf("Serve returned %v, want http.ErrServerClosed", err)
		}
		e.serveErr <- err // let a second shutdown see it too
	case <-time.After(5 * time.Second):
		e.t.Error("Serve did not return after Shutdown")
	}
}

// port returns a credential's port by name.
func (e *env) port(name string) uint16 {
	d := e.srv.Snapshot().Routes.ByName(name)
	if d == nil {
		e.t.Fatalf("no credential %q", name)
	}
	return d.Port
}

// roundTrip sends a raw request to the proxy and reads one response.
func (e *env) roundTrip(raw string) (*http.Response, []byte) {
	e.t.Helper()
	c, err := net.DialTimeout("tcp", e.addr, 2*time.Second)
	if err != nil {
		e.t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		e.t.Fatal(err)
	}
	method := strings.SplitN(raw, " ", 2)[0]
	res, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: method})
	if err != nil {
		e.t.Fatalf("reading response to %q: %v", firstLine(raw), err)
	}
	var body []byte
	if !(method == http.MethodConnect && res.StatusCode == http.StatusOK) {
		body, err = io.ReadAll(res.Body)
		if err != nil {
			e.t.Fatalf("reading body of %q: %v", firstLine(raw), err)
		}
	}
	return res, body
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\r\n")
	return line
}

// counter reads one series of a counter vector (0 if absent).
func counterValue(t *testing.T, g prometheus.Gatherer, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			got := map[string]string{}
			for _, lp := range m.GetLabel() {
				got[lp.GetName()] = lp.GetValue()
			}
			for k, v := range labels {
				if got[k] != v {
					continue next
				}
			}
			switch {
			case m.Counter != nil:
				return m.Counter.GetValue()
			case m.Gauge != nil:
				return m.Gauge.GetValue()
			case m.Histogram != nil:
				return float64(m.Histogram.GetSampleCount())
			}
		}
	}
	return 0
}

// eventually waits up to 5 s for cond to hold.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testwait.Until(t, 5*time.Second, what, cond)
}

// testEngine is the wire engine the suite runs on: EngineFast, or
// EngineStdlib when CALLGATE_TEST_ENGINE=stdlib (make test runs the
// package both ways). Tests of one engine's own behaviour set it
// themselves.
func testEngine() Engine {
	if os.Getenv("CALLGATE_TEST_ENGINE") == "stdlib" {
		return EngineStdlib
	}
	return EngineFast
}

// needFastEngine skips a test of the fast engine's own parts (the lane,
// the fast path) when the suite runs on EngineStdlib, which has neither.
func needFastEngine(t *testing.T) {
	t.Helper()
	if testEngine() != EngineFast {
		t.Skip("tests a part of engine fast, which engine stdlib does not have")
	}
}
