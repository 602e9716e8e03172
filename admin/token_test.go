package admin_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/callgate/callgate/admin"
)

// TestTokenFileWithoutTokenFailsClosed empties, blanks and removes the
// token file behind a real listener: the protected routes (POST, and GET
// /v1/ under protect_reads) refuse everyone with 503, the old token too;
// probes stay open; the gauge a scrape reads follows the file; a new
// token works at once.
func TestTokenFileWithoutTokenFailsClosed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "admin-token")
	if err := os.WriteFile(path, []byte("old-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv, _, _ := startAPI(t, func(o *admin.Options) {
		o.TokenFile = func() string { return path }
		o.ProtectReads = func() bool { return true }
		reg := prometheus.NewRegistry()
		o.Gatherer, o.Metrics = reg, admin.NewMetrics(reg)
	})
	gauge := func() string {
		t.Helper()
		_, _, body := call(t, "GET", srv.URL+"/metrics", "")
		for _, line := range strings.Split(body, "\n") {
			if strings.HasPrefix(line, "callgate_admin_token_valid ") {
				return strings.TrimPrefix(line, "callgate_admin_token_valid ")
			}
		}
		t.Fatalf("no callgate_admin_token_valid in /metrics:\n%s", body)
		return ""
	}
	if g := gauge(); g != "1" {
		t.Fatalf("gauge with a token: %s, want 1", g)
	}
	refused := func(what, wantMsg string) {
		t.Helper()
		for _, token := range []string{"", "old-token", "wrong"} {
			for _, rt := range [][2]string{
				{"POST", "/v1/connections/partner_orders/teardown"},
				{"POST", "/v1/connections/partner_orders/provision"},
				{"POST", "/-/reload"},
				{"POST", "/v1/simulated/partner_orders/accept"},
				{"GET", "/v1/connections"},
			} {
				code, m, body := call(t, rt[0], srv.URL+rt[1], token)
				if code != 503 || m["error"] != "admin_token_unavailable" || !strings.Contains(body, wantMsg) {
					t.Fatalf("%s: %s %s with token %q: %d %s", what, rt[0], rt[1], token, code, body)
				}
				if strings.Contains(body, path) {
					t.Fatalf("%s: the answer names the token file's path: %s", what, body)
				}
			}
		}
		if code, _, _ := call(t, "GET", srv.URL+"/healthz", ""); code != 200 {
			t.Fatalf("%s: GET /healthz: %d; probes need no token", what, code)
		}
		// /readyz may still wait for the first sync (503), never for a token.
		if code, m, _ := call(t, "GET", srv.URL+"/readyz", ""); code == 401 || m["error"] != nil {
			t.Fatalf("%s: GET /readyz: %d %v; probes need no token", what, code, m)
		}
		if g := gauge(); g != "0" {
			t.Fatalf("%s: gauge %s, want 0", what, g)
		}
	}

	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	refused("empty", "empty or whitespace-only")
	if err := os.WriteFile(path, []byte("  \n\t \r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	refused("whitespace-only", "empty or whitespace-only")
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	refused("missing", "cannot be read")
	if err := os.WriteFile(path, []byte(strings.Repeat("x", 64<<10+1)), 0o600); err != nil {
		t.Fatal(err)
	}
	refused("over 64 KiB", "cannot be read")

	if err := os.WriteFile(path, []byte(" new-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := call(t, "POST", srv.URL+"/-/reload", "old-token"); code != 401 {
		t.Fatalf("old token after rotation: %d, want 401", code)
	}
	if code, _, body := call(t, "POST", srv.URL+"/-/reload", "new-token"); code != 200 {
		t.Fatalf("new token (trimmed): %d %s", code, body)
	}
	if code, _, _ := call(t, "GET", srv.URL+"/v1/connections", "new-token"); code != 200 {
		t.Fatalf("GET with the new token: %d", code)
	}
	if g := gauge(); g != "1" {
		t.Fatalf("gauge after rotation: %s, want 1", g)
	}
}

// TestNoTokenFileLeavesRoutesOpen keeps the documented default: with no
// admin.token_file the POST routes need no token, and the gauge says 1
// (nothing is refused).
func TestNoTokenFileLeavesRoutesOpen(t *testing.T) {
	srv, _, _ := startAPI(t, func(o *admin.Options) {
		o.TokenFile = func() string { return "" }
		reg := prometheus.NewRegistry()
		o.Gatherer, o.Metrics = reg, admin.NewMetrics(reg)
	})
	if code, _, body := call(t, "POST", srv.URL+"/-/reload", ""); code != 200 {
		t.Fatalf("reload without a token file: %d %s", code, body)
	}
	if _, _, body := call(t, "GET", srv.URL+"/metrics", ""); !strings.Contains(body, "\ncallgate_admin_token_valid 1\n") {
		t.Fatalf("gauge without a token file:\n%s", body)
	}
}
