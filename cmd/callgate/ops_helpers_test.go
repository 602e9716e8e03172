package main

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/zap"

	"github.com/callgate/callgate/internal/testwait"
)

// opsConfig renders a simulated-mode config whose one http named credential
// leads to upstream. extra is appended verbatim (more credentials).
func opsConfig(upstream, description, extra string) string {
	_, port, _ := net.SplitHostPort(upstream)
	return fmt.Sprintf(`listen: {proxy: 127.0.0.1:0, admin: 127.0.0.1:0}
warmup: 0s
sync: {interval: 1s}
aws:
  mode: simulated
  simulated:
    delays: {allocating: 0s, pending_acceptance: 0s, pending: 0s, deleting: 0s}
    services:
      com.amazonaws.vpce.us-east-1.vpce-svc-0aaaaaaaaaaaaaaa1: %s
outbound_connections:
  - name: orders
    description: %q
    service_name: com.amazonaws.vpce.us-east-1.vpce-svc-0aaaaaaaaaaaaaaa1
    provision: true
named_credentials:
  - name: Orders
    url: http://orders.internal:%s
    outbound_network_connection: orders
%s`, upstream, description, port, extra)
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// opsStart starts an in-process callgate on cfg and waits until its
// connection carries traffic.
func opsStart(t *testing.T, cfgPath string, log *zap.Logger, watch bool) (*server, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	s, err := startServer(context.Background(), cfgPath, log, serverOptions{watch: watch, reg: reg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	testwait.UntilExplained(t, 10*time.Second, "connection orders to become usable", func() (bool, string) {
		v, _ := s.app.manager.Get("orders")
		return s.app.manager.Admit("orders").Allowed(), fmt.Sprintf("%+v", v)
	})
	return s, reg
}

// metricSum adds up every series of a metric family whose labels include
// all of want.
func metricSum(t *testing.T, reg prometheus.Gatherer, name string, want map[string]string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if !labelsMatch(m, want) {
				continue
			}
			switch {
			case m.Counter != nil:
				sum += m.Counter.GetValue()
			case m.Gauge != nil:
				sum += m.Gauge.GetValue()
			case m.Histogram != nil:
				sum += float64(m.Histogram.GetSampleCount())
			}
		}
	}
	return sum
}

func labelsMatch(m *dto.Metric, want map[string]string) bool {
	for k, v := range want {
		found := false
		for _, l := range m.GetLabel() {
			if l.GetName() == k && l.GetValue() == v {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func tempConfig(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "callgate.yaml")
	writeFile(t, path, content)
	return path
}

func mustURL(t *testing.T, s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
