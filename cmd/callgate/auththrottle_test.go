package main

import (
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
)

// TestAuthThrottleFromConfig: proxy_auth.throttle from the config file
// reaches the proxy, a reload changes it live, and the failures are
// exported on the registry.
func TestAuthThrottleFromConfig(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: in-process callgate")
	}
	const pass = "pw-shop-throttle-8b2f"
	upstream := startUpstream(t).addr
	_, port, _ := strings.Cut(upstream, ":")
	dir := t.TempDir()
	render := func(burst string) string {
		return opsConfig(upstream, "throttle", `proxy_auth:
  required: true
  throttle:
    per_source: {failures_per_second: 0.001, burst: `+burst+`}
clients:
  - name: shop
    basic: {username: shop, password_file: `+filepath.Join(dir, "pw")+`}
    permit: [Orders]
`)
	}
	writeFile(t, filepath.Join(dir, "pw"), pass+"\n")
	path := filepath.Join(dir, "callgate.yaml")
	writeFile(t, path, render("2"))
	s, reg := opsStart(t, path, zap.NewNop(), false)
	status := func(password string) (int, http.Header) {
		t.Helper()
		tr := &http.Transport{Proxy: http.ProxyURL(&url.URL{Scheme: "http", Host: s.ProxyAddr(), User: url.UserPassword("shop", password)})}
		defer tr.CloseIdleConnections()
		res, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get("http://orders.internal:" + port + "/x")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode, res.Header
	}
	for i := 0; i < 2; i++ {
		if st, _ := status("wrong"); st != 407 {
			t.Fatalf("failure %d: %d, want 407", i, st)
		}
	}
	if st, h := status(pass); st != 429 || h.Get("Retry-After") == "" {
		t.Errorf("right password after the burst: %d (Retry-After %q), want 429 with Retry-After", st, h.Get("Retry-After"))
	}
	// A reload with another burst starts the buckets over.
	writeFile(t, path, render("3"))
	if err := s.app.reloader.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	if st, _ := status(pass); st != 200 {
		t.Errorf("after the reload: %d, want 200", st)
	}
	for reason, want := range map[string]float64{"wrong_credentials": 2, "throttled": 1, "malformed": 0, "busy": 0} {
		if got := metricSum(t, reg, "callgate_proxy_auth_failures_total", map[string]string{"reason": reason}); got != want {
			t.Errorf("callgate_proxy_auth_failures_total{reason=%q} = %v, want %v", reason, got, want)
		}
	}
}
