package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	"go.uber.org/zap"
)

// TestEveryMetricPassesPromlint lints the whole registry a running
// callgate exports (every package's metrics plus the Go and process
// collectors), after traffic has created the labelled series, and checks
// the documented names are all there (docs/operations.md, Metrics).
func TestEveryMetricPassesPromlint(t *testing.T) {
	upstream := startUpstream(t).addr
	s, reg := opsStart(t, tempConfig(t, opsConfig(upstream, "lint", "")), zap.NewNop(), false)
	_, port := mustSplit(t, upstream)
	client := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(mustURL(t, "http://"+s.ProxyAddr()))}}
	for _, target := range []string{"http://orders.internal:" + port + "/x", "http://unknown.example/"} {
		resp, err := client.Get(target)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	c, br := openTunnel(t, s.ProxyAddr(), "orders.internal:"+port)
	if err := roundTrip(c, br, "/t"); err != nil {
		t.Fatal(err)
	}
	c.Close()

	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	problems, err := promlint.NewWithMetricFamilies(families).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		if strings.HasPrefix(p.Metric, "callgate_") {
			t.Errorf("promlint: %s: %s", p.Metric, p.Text)
		}
	}
	have := map[string]bool{}
	for _, f := range families {
		have[f.GetName()] = true
	}
	for _, name := range []string{
		"callgate_requests_total", "callgate_request_duration_seconds", "callgate_tunnels_active",
		"callgate_tunnel_bytes_total", "callgate_refusals_total", "callgate_connection_status",
		"callgate_connection_warm", "callgate_sync_duration_seconds", "callgate_aws_api_calls_total", "callgate_config_reloads_total",
		"callgate_config_last_reload_success_timestamp_seconds", "callgate_build_info",
		"callgate_admin_token_valid",
		"go_goroutines", "process_open_fds",
	} {
		if !have[name] {
			t.Errorf("metric %s is not exported", name)
		}
	}
}
