package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/callgate/callgate/admin"
	"github.com/callgate/callgate/connstate"
	"github.com/callgate/callgate/internal/certgen"
	"github.com/callgate/callgate/internal/testwait"
	"github.com/callgate/callgate/proxy"
)

// probeCreds are the named credentials of the test, each on its own
// outbound connection and upstream.
var probeCreds = []string{"Good", "Mismatch", "Expired", "Unknown"}

// probeConfig has an outbound connection for every one of probeCreds and
// a named credential for each of names.
func probeConfig(caFile string, ups map[string]*certgen.HandshakeServer, names []string) string {
	var services, conns, creds strings.Builder
	for i, name := range probeCreds {
		lower := strings.ToLower(name)
		svc := fmt.Sprintf("com.amazonaws.vpce.us-east-1.vpce-svc-0aaaaaaaaaaaaaa%02d", i+1)
		fmt.Fprintf(&services, "      %s: %s\n", svc, ups[name].Addr)
		fmt.Fprintf(&conns, "  - name: c_%s\n    service_name: %s\n    provision: true\n", lower, svc)
	}
	for _, name := range names {
		lower := strings.ToLower(name)
		fmt.Fprintf(&creds, "  - name: %s\n    url: https://%s.partner.example/v1\n    outbound_network_connection: c_%s\n    tls: {ca_file: %s}\n",
			name, lower, lower, caFile)
	}
	return `listen: {proxy: 127.0.0.1:0, admin: 127.0.0.1:0}
warmup: 0s
sync: {interval: 1s}
probe: {interval: 200ms, concurrency: 2}
aws:
  mode: simulated
  simulated:
    delays: {allocating: 0s, pending_acceptance: 0s, pending: 0s, deleting: 0s}
    services:
` + services.String() + "outbound_connections:\n" + conns.String() + "named_credentials:\n" + creds.String()
}

func probeGauge(t *testing.T, reg prometheus.Gatherer, name, cred string) (float64, bool) {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if labelsMatch(m, map[string]string{"named_credential": cred}) {
				return m.GetGauge().GetValue(), true
			}
		}
	}
	return 0, false
}

func probeViews(t *testing.T, s *server) map[string]admin.CredentialView {
	t.Helper()
	code, body := e2eGet("http://" + s.AdminAddr() + "/v1/named-credentials")
	if code != 200 {
		t.Fatalf("GET /v1/named-credentials: %d %s", code, body)
	}
	var views []admin.CredentialView
	if err := json.Unmarshal([]byte(body), &views); err != nil {
		t.Fatal(err)
	}
	out := map[string]admin.CredentialView{}
	for _, v := range views {
		out[v.Name] = v
	}
	return out
}

func probeExplainStep(t *testing.T, s *server, target string) string {
	t.Helper()
	code, body := e2eGet("http://" + s.AdminAddr() + "/v1/explain?url=" + url.QueryEscape(target))
	if code != 200 {
		t.Fatalf("GET /v1/explain: %d %s", code, body)
	}
	var x proxy.Explanation
	if err := json.Unmarshal([]byte(body), &x); err != nil {
		t.Fatal(err)
	}
	for _, st := range x.Steps {
		if st.Step == "probe" {
			if st.Result != "info" {
				t.Errorf("probe step result %q, want info", st.Result)
			}
			return st.Detail
		}
	}
	t.Fatalf("explain %s has no probe step: %+v", target, x.Steps)
	return ""
}

// TestEndpointProbe: real TLS upstreams on 127.0.0.1 with a good
// certificate, one for another host, an expired one and one from an
// unknown CA are probed through the data plane's dial; each gives the
// right metric values, /v1/named-credentials reason and explain step. The
// probe stops when the connection leaves Ready, and a reload that removes
// a named credential removes its series.
func TestEndpointProbe(t *testing.T) {
	ca, err := certgen.NewCA("partner CA")
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := certgen.NewCA("unknown CA")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, ca.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	expiredAt := time.Now().Add(-2 * time.Hour).Truncate(time.Second)
	leaf := func(l *certgen.Leaf, err error) *certgen.Leaf {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	ups := map[string]*certgen.HandshakeServer{
		"Good":     certgen.StartHandshakeServer(t, leaf(ca.Server("good.partner.example"))),
		"Mismatch": certgen.StartHandshakeServer(t, leaf(ca.Server("elsewhere.partner.example"))),
		"Expired":  certgen.StartHandshakeServer(t, leaf(ca.ServerValid(time.Now().Add(-48*time.Hour), expiredAt, "expired.partner.example"))),
		"Unknown":  certgen.StartHandshakeServer(t, leaf(stranger.Server("unknown.partner.example"))),
	}

	cfgPath := filepath.Join(dir, "callgate.yaml")
	writeFile(t, cfgPath, probeConfig(caFile, ups, probeCreds))
	reg := prometheus.NewRegistry()
	s, err := startServer(context.Background(), cfgPath, zap.NewNop(), serverOptions{reg: reg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })

	testwait.Until(t, 20*time.Second, "a probe of every named credential", func() bool {
		for _, name := range probeCreds {
			if _, ok := probeGauge(t, reg, "callgate_upstream_probe_success", name); !ok {
				return false
			}
		}
		return true
	})

	views := probeViews(t, s)
	for _, tc := range []struct {
		name, reason, check string
		valid               float64
	}{
		{"Good", "", "ok", 1},
		{"Mismatch", "host_mismatch", "failed", 0},
		{"Expired", "expired", "failed", 0},
		{"Unknown", "unknown_authority", "failed", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			success, _ := probeGauge(t, reg, "callgate_upstream_probe_success", tc.name)
			valid, hasValid := probeGauge(t, reg, "callgate_upstream_cert_valid", tc.name)
			expiry, hasExpiry := probeGauge(t, reg, "callgate_upstream_cert_expiry_timestamp_seconds", tc.name)
			_, hasDuration := probeGauge(t, reg, "callgate_upstream_probe_duration_seconds", tc.name)
			if success != tc.valid || !hasValid || valid != tc.valid || !hasExpiry || !hasDuration {
				t.Errorf("probe_success %v, cert_valid %v (%v), expiry present %v, duration present %v; want success and valid %v",
					success, valid, hasValid, hasExpiry, hasDuration, tc.valid)
			}
			switch tc.name {
			case "Expired":
				if expiry != float64(expiredAt.Unix()) {
					t.Errorf("expiry %v, want %v", expiry, expiredAt.Unix())
				}
			default:
				if expiry <= float64(time.Now().Unix()) {
					t.Errorf("expiry %v is not in the future", expiry)
				}
			}

			v := views[tc.name]
			if v.CertificateCheck != tc.check || v.CertificateReason != tc.reason || v.CheckedAt == "" || v.CertificateExpiresAt == "" {
				t.Errorf("view: check %q reason %q checked_at %q expires_at %q; want %q, %q", v.CertificateCheck, v.CertificateReason,
					v.CheckedAt, v.CertificateExpiresAt, tc.check, tc.reason)
			}
			if (tc.reason == "") != (v.CertificateError == "") {
				t.Errorf("certificate_error %q for reason %q", v.CertificateError, tc.reason)
			}

			detail := probeExplainStep(t, s, "/callout/"+tc.name+"/orders")
			want := "failed (" + tc.reason + ")"
			if tc.reason == "" {
				want = "certificate valid for good.partner.example until "
			}
			if !strings.HasPrefix(detail, "last probe ") || !strings.Contains(detail, want) {
				t.Errorf("explain probe step %q, want it to contain %q", detail, want)
			}
		})
	}
	// The CONNECT form finds the same credential by host.
	if d := probeExplainStep(t, s, "https://expired.partner.example/v1/x"); !strings.Contains(d, "failed (expired)") {
		t.Errorf("explain over CONNECT: probe step %q", d)
	}

	// The probe stops when the connection leaves Ready.
	if err := s.app.manager.Do(context.Background(), "c_good", connstate.ActionTeardown); err != nil {
		t.Fatal(err)
	}
	testwait.Until(t, 10*time.Second, "c_good to leave Ready", func() bool { return !s.app.manager.Admit("c_good").Allowed() })
	stopped := ups["Good"].Accepted.Load()
	others := ups["Mismatch"].Accepted.Load()
	testwait.Until(t, 20*time.Second, "three more probes of Mismatch", func() bool { return ups["Mismatch"].Accepted.Load() >= others+3 })
	if n := ups["Good"].Accepted.Load(); n > stopped+1 { // one probe may have been in flight
		t.Errorf("Good's endpoint was dialled %d times after its connection left Ready", n-stopped)
	}

	// A reload that removes Unknown removes its series.
	writeFile(t, cfgPath, probeConfig(caFile, ups, probeCreds[:3]))
	if err := s.app.reloader.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"callgate_upstream_probe_success", "callgate_upstream_cert_valid",
		"callgate_upstream_cert_expiry_timestamp_seconds", "callgate_upstream_probe_duration_seconds"} {
		if _, ok := probeGauge(t, reg, m, "Unknown"); ok {
			t.Errorf("%s{named_credential=Unknown} is still exported after the reload removed it", m)
		}
	}
	if _, ok := probeGauge(t, reg, "callgate_upstream_probe_success", "Mismatch"); !ok {
		t.Error("the reload dropped Mismatch's series too")
	}
}

// TestEndpointProbeWaitsForWarmup: a connection that is Ready but still
// warming up is not probed however many rounds pass (the data plane's own
// dial would allow it: only the probe's gate check keeps it out); once a
// reload turns the warm-up off it is probed.
func TestEndpointProbeWaitsForWarmup(t *testing.T) {
	ca, err := certgen.NewCA("partner CA")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, ca.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Server("good.partner.example")
	if err != nil {
		t.Fatal(err)
	}
	good := certgen.StartHandshakeServer(t, leaf)
	ups := map[string]*certgen.HandshakeServer{}
	for _, name := range probeCreds {
		ups[name] = good
	}
	cfg := probeConfig(caFile, ups, []string{"Good"})
	cfgPath := filepath.Join(dir, "callgate.yaml")
	writeFile(t, cfgPath, strings.Replace(cfg, "warmup: 0s", "warmup: 1h", 1))
	reg := prometheus.NewRegistry()
	s, err := startServer(context.Background(), cfgPath, zap.NewNop(), serverOptions{reg: reg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	testwait.Until(t, 20*time.Second, "c_good to be Ready and warming", func() bool {
		a := s.app.manager.Admit("c_good")
		return a.Status == connstate.Ready && a.WarmupLeft > 0
	})
	r0 := s.app.probe.Rounds()
	testwait.Until(t, 20*time.Second, "three probe rounds", func() bool { return s.app.probe.Rounds() >= r0+3 })
	if n := good.Accepted.Load(); n != 0 {
		t.Fatalf("the endpoint was dialled %d times while its connection was warming up", n)
	}
	if d := probeExplainStep(t, s, "/callout/Good/x"); !strings.HasPrefix(d, "not probed yet") {
		t.Errorf("explain before any probe: %q", d)
	}
	if v := probeViews(t, s)["Good"]; v.CertificateCheck != "not_checked" {
		t.Errorf("certificate_check %q before any probe, want not_checked", v.CertificateCheck)
	}
	writeFile(t, cfgPath, cfg)
	if err := s.app.reloader.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	testwait.Until(t, 20*time.Second, "a probe once warm", func() bool {
		v, ok := probeGauge(t, reg, "callgate_upstream_probe_success", "Good")
		return ok && v == 1
	})
}
