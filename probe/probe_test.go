package probe

import (
	"context"
	"crypto/tls"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"

	"github.com/callgate/callgate/connstate"
	"github.com/callgate/callgate/internal/certgen"
	"github.com/callgate/callgate/internal/testwait"
	"github.com/callgate/callgate/routing"
)

type fakeGate struct {
	mu      sync.Mutex
	blocked map[string]bool
}

func (g *fakeGate) Admit(name string) connstate.Admission {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.blocked[name] {
		return connstate.Admission{Known: true, Status: connstate.PendingAcceptance}
	}
	return connstate.Admission{Known: true, Status: connstate.Ready, Endpoint: "vpce.example"}
}

func (g *fakeGate) block(name string, b bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.blocked == nil {
		g.blocked = map[string]bool{}
	}
	g.blocked[name] = b
}

// env is a Prober over a set of https named credentials, each with its own
// upstream and outbound connection (named after the credential).
type env struct {
	prober *Prober
	reg    *prometheus.Registry
	gate   *fakeGate
	routes atomic.Pointer[routing.Table]
	addrs  map[string]string // credential → upstream address
}

func newEnv(t *testing.T, ca *certgen.CA, creds map[string]string) *env {
	t.Helper()
	e := &env{reg: prometheus.NewRegistry(), gate: &fakeGate{}, addrs: creds}
	e.setRoutes(t, ca, creds)
	e.prober = New(Options{
		Gate: e.gate,
		Dial: func(ctx context.Context, d *routing.Destination) (net.Conn, error) {
			var dl net.Dialer
			return dl.DialContext(ctx, "tcp", e.addrs[d.Name])
		},
		Routes:   e.routes.Load,
		Settings: func() Settings { return Settings{Interval: time.Hour, Concurrency: 2, Timeout: 5 * time.Second} },
		Metrics:  NewMetrics(e.reg),
	})
	return e
}

func (e *env) setRoutes(t *testing.T, ca *certgen.CA, creds map[string]string) {
	t.Helper()
	var list []routing.Credential
	for name := range creds {
		list = append(list, routing.Credential{
			Name: name, URL: "https://" + strings.ToLower(name) + ".partner.example:8443/v1", Connection: "conn_" + strings.ToLower(name),
			TLS: &tls.Config{RootCAs: ca.Pool(), MinVersion: tls.VersionTLS12},
		})
	}
	table, err := routing.Compile(list)
	if err != nil {
		t.Fatal(err)
	}
	e.routes.Store(table)
}

func (e *env) gauge(name, cred string) (float64, bool) {
	mfs, err := e.reg.Gather()
	if err != nil {
		panic(err)
	}
	for _, f := range mfs {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "named_credential" && l.GetValue() == cred {
					return m.GetGauge().GetValue(), true
				}
			}
		}
	}
	return 0, false
}

// TestProbeClassifiesEachCertificate: a good certificate, one for another
// host, an expired one and one from an unknown CA, and a closed port,
// each give their reason and metric values after one round.
func TestProbeClassifiesEachCertificate(t *testing.T) {
	ca, err := certgen.NewCA("probe test CA")
	if err != nil {
		t.Fatal(err)
	}
	other, err := certgen.NewCA("another CA")
	if err != nil {
		t.Fatal(err)
	}
	expiredAt := time.Now().Add(-time.Hour).Truncate(time.Second)
	leaf := func(l *certgen.Leaf, err error) *certgen.Leaf {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	good := certgen.StartHandshakeServer(t, leaf(ca.Server("good.partner.example")))
	mismatch := certgen.StartHandshakeServer(t, leaf(ca.Server("elsewhere.example")))
	expired := certgen.StartHandshakeServer(t, leaf(ca.ServerValid(time.Now().Add(-48*time.Hour), expiredAt, "expired.partner.example")))
	unknown := certgen.StartHandshakeServer(t, leaf(other.Server("unknown.partner.example")))
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.Addr().String()
	_ = closed.Close()

	e := newEnv(t, ca, map[string]string{
		"Good": good.Addr, "Mismatch": mismatch.Addr, "Expired": expired.Addr, "Unknown": unknown.Addr, "Closed": closedAddr,
	})
	e.prober.Round(context.Background())

	tests := []struct {
		name, reason string
		valid        float64 // -1: no certificate series
	}{
		{"Good", "", 1},
		{"Mismatch", ReasonHostMismatch, 0},
		{"Expired", ReasonExpired, 0},
		{"Unknown", ReasonUnknownAuthority, 0},
		{"Closed", ReasonDial, -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := e.routes.Load().ByName(tc.name)
			r, ok := e.prober.Last(tc.name, d.HostPort)
			if !ok {
				t.Fatal("no result")
			}
			if r.Reason != tc.reason || (tc.reason == "") != r.OK() {
				t.Errorf("reason %q (err %v), want %q", r.Reason, r.Err, tc.reason)
			}
			success, _ := e.gauge("callgate_upstream_probe_success", tc.name)
			if want := map[bool]float64{true: 1, false: 0}[tc.reason == ""]; success != want {
				t.Errorf("probe_success = %v, want %v", success, want)
			}
			if _, ok := e.gauge("callgate_upstream_probe_duration_seconds", tc.name); !ok {
				t.Error("no probe_duration_seconds series")
			}
			valid, hasValid := e.gauge("callgate_upstream_cert_valid", tc.name)
			expiry, hasExpiry := e.gauge("callgate_upstream_cert_expiry_timestamp_seconds", tc.name)
			if tc.valid < 0 {
				if hasValid || hasExpiry {
					t.Errorf("certificate series without a certificate: valid %v, expiry %v", hasValid, hasExpiry)
				}
				return
			}
			if !hasValid || valid != tc.valid {
				t.Errorf("cert_valid = %v (present %v), want %v", valid, hasValid, tc.valid)
			}
			if !hasExpiry || expiry <= 0 {
				t.Errorf("cert_expiry = %v (present %v)", expiry, hasExpiry)
			}
			if tc.name == "Expired" && expiry != float64(expiredAt.Unix()) {
				t.Errorf("expired certificate's expiry = %v, want %v", expiry, expiredAt.Unix())
			}
		})
	}

	problems, err := promlint.NewWithMetricFamilies(mustGather(t, e.reg)).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}

func mustGather(t *testing.T, reg *prometheus.Registry) []*dto.MetricFamily {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	return mfs
}

// goodEndpoint is an endpoint with a valid certificate for
// good.partner.example, and its CA.
func goodEndpoint(t *testing.T) (*certgen.CA, *certgen.HandshakeServer) {
	t.Helper()
	ca, err := certgen.NewCA("probe test CA")
	if err != nil {
		t.Fatal(err)
	}
	l, err := ca.Server("good.partner.example")
	if err != nil {
		t.Fatal(err)
	}
	return ca, certgen.StartHandshakeServer(t, l)
}

// TestProbeOnlyWhileAllowed: a connection the gate does not admit is never
// dialled; once admitted it is probed at the next round; and Retain drops
// the series of a named credential a reload removed.
func TestProbeOnlyWhileAllowed(t *testing.T) {
	ca, up := goodEndpoint(t)
	e := newEnv(t, ca, map[string]string{"Good": up.Addr})
	e.gate.block("conn_good", true)
	e.prober.Round(context.Background())
	if n := up.Accepted.Load(); n != 0 {
		t.Fatalf("%d connections to an endpoint whose connection is not Ready", n)
	}
	if n := testutil.CollectAndCount(e.reg); n != 0 {
		t.Fatalf("%d series before any probe", n)
	}
	e.gate.block("conn_good", false)
	e.prober.Round(context.Background())
	if n := up.Accepted.Load(); n != 1 {
		t.Fatalf("%d connections after one round, want 1", n)
	}
	// Not due again within the interval.
	e.prober.Round(context.Background())
	if n := up.Accepted.Load(); n != 1 {
		t.Fatalf("%d connections after a second round within the interval, want 1", n)
	}
	if n := testutil.CollectAndCount(e.reg); n != 4 {
		t.Fatalf("%d series, want 4", n)
	}
	e.setRoutes(t, ca, map[string]string{})
	e.prober.Retain(e.routes.Load())
	if n := testutil.CollectAndCount(e.reg); n != 0 {
		t.Fatalf("%d series after the credential was removed, want 0", n)
	}
}

// TestProbeRunRepeatsAndStops: Run probes again about every interval, and
// stops when its context ends.
func TestProbeRunRepeatsAndStops(t *testing.T) {
	ca, up := goodEndpoint(t)
	e := newEnv(t, ca, map[string]string{"Good": up.Addr})
	e.prober.opts.Settings = func() Settings { return Settings{Interval: 100 * time.Millisecond} }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); e.prober.Run(ctx) }()
	testwait.Until(t, 10*time.Second, "three probes", func() bool { return up.Accepted.Load() >= 3 })
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	if s := e.prober.settings(); s.Concurrency != DefaultConcurrency || s.Timeout != DefaultTimeout {
		t.Errorf("zero settings default to %+v", s)
	}
}
