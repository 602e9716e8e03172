package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/callgate/callgate/internal/testhttp"
)

// adminPost sends a bodiless POST to the admin API, as `callgate sync`
// does, with the bearer token when token is not "".
func adminPost(t *testing.T, s *server, path, token string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://"+s.AdminAddr()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	status, m, _ := testhttp.JSON(t, req)
	return status, m
}

// TestAdminTokenFileEmptiedFailsClosed empties, blanks and removes the
// admin token file under a running callgate: every POST is refused while
// the file holds no token (the old token too), the change is logged once,
// the gauge drops to 0, and a new token works as soon as it is written.
func TestAdminTokenFileEmptiedFailsClosed(t *testing.T) {
	dir := t.TempDir()
	tokenPath := filepath.Join(dir, "admin-token")
	if err := os.WriteFile(tokenPath, []byte("old-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	upstream := startUpstream(t).addr
	cfg := opsConfig(upstream, "token", "admin:\n  token_file: "+tokenPath+"\n")
	core, logs := observer.New(zapcore.InfoLevel)
	s, reg := opsStart(t, tempConfig(t, cfg), zap.New(core), false)

	if code, m := adminPost(t, s, "/v1/connections/orders/sync", "old-token"); code != 200 {
		t.Fatalf("sync with the token: %d %v", code, m)
	}
	refused := func(what string) {
		t.Helper()
		for _, token := range []string{"", "old-token"} {
			code, m := adminPost(t, s, "/v1/connections/orders/teardown", token)
			if code != http.StatusServiceUnavailable || m["error"] != "admin_token_unavailable" {
				t.Fatalf("%s: teardown with token %q: %d %v, want 503 admin_token_unavailable", what, token, code, m)
			}
		}
		if v, _ := s.app.manager.Get("orders"); v.Status.String() != "Ready" {
			t.Fatalf("%s: a refused teardown changed the connection: %s", what, v.Status)
		}
		if got := metricSum(t, reg, "callgate_admin_token_valid", nil); got != 0 {
			t.Fatalf("%s: callgate_admin_token_valid = %v, want 0", what, got)
		}
	}

	// A truncate-then-write rotation caught between its two steps.
	if err := os.Truncate(tokenPath, 0); err != nil {
		t.Fatal(err)
	}
	refused("empty file")
	writeFile(t, tokenPath, " \n\t\r\n")
	refused("whitespace-only file")
	if err := os.Remove(tokenPath); err != nil {
		t.Fatal(err)
	}
	refused("missing file")
	if err := os.Mkdir(tokenPath, 0o700); err != nil {
		t.Fatal(err)
	}
	refused("a directory")
	if err := os.Remove(tokenPath); err != nil {
		t.Fatal(err)
	}

	writeFile(t, tokenPath, "\tnew-token \n")
	if code, m := adminPost(t, s, "/v1/connections/orders/teardown", "old-token"); code != http.StatusUnauthorized {
		t.Fatalf("old token after rotation: %d %v, want 401", code, m)
	}
	if code, m := adminPost(t, s, "/v1/connections/orders/teardown", "new-token"); code != 200 {
		t.Fatalf("new token: %d %v, want 200", code, m)
	}
	if got := metricSum(t, reg, "callgate_admin_token_valid", nil); got != 1 {
		t.Fatalf("callgate_admin_token_valid = %v after a new token, want 1", got)
	}

	// One log line per change of the file's state, not one per request:
	// empty, whitespace-only (still empty: no line), missing, directory,
	// then usable again.
	var bad, good int
	for _, e := range logs.All() {
		switch {
		case e.Level >= zapcore.WarnLevel && strings.Contains(e.Message, "admin token file"):
			bad++
		case strings.Contains(e.Message, "admin token file holds a token again"):
			good++
		}
	}
	if bad != 3 || good != 1 {
		for _, e := range logs.All() {
			t.Log(e.Level, e.Message, e.ContextMap())
		}
		t.Fatalf("%d error lines and %d recovery lines about the token file, want 3 and 1", bad, good)
	}
}
