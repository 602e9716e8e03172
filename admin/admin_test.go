package admin_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/callgate/callgate/admin"
	"github.com/callgate/callgate/connstate"
	"github.com/callgate/callgate/connstate/simulated"
	"github.com/callgate/callgate/internal/testhttp"
)

// newAPI serves the admin API over a real loopback listener, backed by a
// real Manager on the simulated backend with manual acceptance.
func newAPI(t *testing.T, token string) (*httptest.Server, *connstate.Manager) {
	return newAPIWith(t, token, false)
}

func newAPIWith(t *testing.T, token string, protectReads bool) (*httptest.Server, *connstate.Manager) {
	t.Helper()
	tokenFile := ""
	if token != "" {
		tokenFile = filepath.Join(t.TempDir(), "admin-token")
		if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	srv, m, _ := startAPI(t, func(o *admin.Options) {
		o.TokenFile = func() string { return tokenFile }
		o.ProtectReads = func() bool { return protectReads }
	})
	return srv, m
}

// startAPI is newAPIWith with the Options in the test's hands: tweak
// changes them before the handler is built.
func startAPI(t *testing.T, tweak func(*admin.Options)) (*httptest.Server, *connstate.Manager, *prometheus.Registry) {
	t.Helper()
	sim := simulated.New(simulated.Options{
		Acceptance: "manual",
		Services:   map[string]string{"com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0": "127.0.0.1:1"},
		Region:     "us-east-1",
	})
	m := connstate.NewManager(sim, connstate.Options{FastInterval: 20 * time.Millisecond, SyncInterval: time.Second})
	if err := m.Apply([]connstate.Connection{{
		Name: "partner_orders", Type: "AwsPrivateLink", Region: "us-east-1",
		ServiceName: "com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0",
	}}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = m.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	reg := prometheus.NewRegistry()
	opts := admin.Options{
		Connections: m,
		Simulator:   sim,
		Gatherer:    reg,
		Reload:      func(context.Context) error { return nil },
		Credentials: func() []admin.CredentialView {
			return []admin.CredentialView{{Name: "PartnerOrders", Host: "api.partner.example", Port: 8443, Connection: "partner_orders"}}
		},
	}
	srv := httptest.NewUnstartedServer(nil)
	opts.Addr = srv.Listener.Addr()
	if tweak != nil {
		tweak(&opts)
	}
	srv.Config.Handler = admin.New(opts)
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, m, reg
}

func call(t *testing.T, method, url, token string) (int, map[string]any, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return testhttp.JSON(t, req)
}

func waitStatus(t *testing.T, m *connstate.Manager, want connstate.Status) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		v, _ := m.Get("partner_orders")
		if v.Status == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("status %s, want %s", v.Status, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestConnectionsAndActions(t *testing.T) {
	srv, m := newAPI(t, "")
	code, _, body := call(t, "GET", srv.URL+"/v1/connections", "")
	if code != 200 || !strings.Contains(body, `"status": "Unprovisioned"`) {
		t.Fatalf("list: %d %s", code, body)
	}
	if code, _, _ := call(t, "GET", srv.URL+"/v1/connections/nope", ""); code != 404 {
		t.Fatalf("unknown connection: %d, want 404", code)
	}
	// Unprovisioned allows provision but not sync or teardown.
	for _, action := range []string{"sync", "teardown"} {
		code, m, _ := call(t, "POST", srv.URL+"/v1/connections/partner_orders/"+action, "")
		if code != 409 || m["status"] != "Unprovisioned" || !strings.Contains(m["message"].(string), "edit, provision, delete") {
			t.Fatalf("%s while Unprovisioned: %d %v", action, code, m)
		}
	}
	if code, body, _ := call(t, "POST", srv.URL+"/v1/connections/partner_orders/provision", ""); code != 200 {
		t.Fatalf("provision: %d %v", code, body)
	}
	waitStatus(t, m, connstate.PendingAcceptance)
	code, body2, _ := call(t, "POST", srv.URL+"/v1/connections/partner_orders/provision", "")
	if code != 409 || body2["status"] != "PendingAcceptance" || !strings.Contains(body2["message"].(string), "edit, sync, teardown") {
		t.Fatalf("provision twice: %d %v", code, body2)
	}
	if code, _, _ := call(t, "POST", srv.URL+"/v1/connections/partner_orders/explode", ""); code != 404 {
		t.Fatalf("unknown action: %d", code)
	}
	// The simulated service owner accepts; the connection comes up.
	if code, b, _ := call(t, "POST", srv.URL+"/v1/simulated/partner_orders/accept", ""); code != 200 {
		t.Fatalf("accept: %d %v", code, b)
	}
	waitStatus(t, m, connstate.Ready)
	code, one, _ := call(t, "GET", srv.URL+"/v1/connections/partner_orders", "")
	if code != 200 || one["ready_since"] == nil || one["endpoint_dns"] == "" || one["vpc_endpoint_id"] == "" {
		t.Fatalf("get: %d %v", code, one)
	}
	if code, _, _ := call(t, "POST", srv.URL+"/v1/connections/partner_orders/sync", ""); code != 200 {
		t.Fatalf("sync: %d", code)
	}
	if code, _, _ := call(t, "POST", srv.URL+"/v1/simulated/partner_orders/delete-remotely", ""); code != 200 {
		t.Fatalf("delete-remotely: %d", code)
	}
	waitStatus(t, m, connstate.DeletedRemotely)
	if code, _, _ := call(t, "POST", srv.URL+"/v1/connections/partner_orders/teardown", ""); code != 200 {
		t.Fatalf("teardown: %d", code)
	}
	waitStatus(t, m, connstate.Unprovisioned)
}

func TestTokenProtectsPOSTOnly(t *testing.T) {
	srv, _ := newAPI(t, "s3cret-token")
	if code, _, _ := call(t, "POST", srv.URL+"/v1/connections/partner_orders/provision", ""); code != 401 {
		t.Fatalf("no token: %d, want 401", code)
	}
	if code, _, _ := call(t, "POST", srv.URL+"/-/reload", "wrong"); code != 401 {
		t.Fatalf("wrong token: %d, want 401", code)
	}
	if code, _, _ := call(t, "POST", srv.URL+"/-/reload", "s3cret-token"); code != 200 {
		t.Fatalf("right token: %d, want 200", code)
	}
	for _, path := range []string{"/healthz", "/metrics", "/v1/connections", "/v1/named-credentials"} {
		if code, _, _ := call(t, "GET", srv.URL+path, ""); code != 200 {
			t.Fatalf("GET %s without token: %d", path, code)
		}
	}
	_, _, body := call(t, "POST", srv.URL+"/v1/connections/partner_orders/provision", "")
	if strings.Contains(body, "s3cret-token") {
		t.Fatal("the token leaked into a response")
	}
}

func TestReadyz(t *testing.T) {
	srv, m := newAPI(t, "")
	deadline := time.Now().Add(10 * time.Second)
	for !m.Ready() {
		if time.Now().After(deadline) {
			t.Fatal("first sync never finished")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if code, _, _ := call(t, "GET", srv.URL+"/readyz", ""); code != 200 {
		t.Fatalf("readyz after first sync: %d", code)
	}
	if code, b, _ := call(t, "GET", srv.URL+"/v1/named-credentials", ""); code != 200 {
		t.Fatalf("named credentials: %d %v", code, b)
	}
}

func TestProtectReads(t *testing.T) {
	srv, _ := newAPIWith(t, "s3cret-token", true)
	for _, path := range []string{"/v1/connections", "/v1/connections/partner_orders", "/v1/named-credentials"} {
		if code, _, _ := call(t, "GET", srv.URL+path, ""); code != 401 {
			t.Errorf("GET %s without token: %d, want 401", path, code)
		}
		if code, _, _ := call(t, "GET", srv.URL+path, "s3cret-token"); code != 200 {
			t.Errorf("GET %s with token: %d, want 200", path, code)
		}
	}
	for _, path := range []string{"/healthz", "/metrics", "/readyz"} {
		if code, _, _ := call(t, "GET", srv.URL+path, ""); code == 401 {
			t.Errorf("GET %s needs a token; probes and scrapers cannot send one", path)
		}
	}
}
