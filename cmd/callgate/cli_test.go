package main

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/callgate/callgate/internal/testwait"
)

// TestCLIAgainstRunningServer drives status, sync and teardown through the
// admin API of an in-process callgate, with flags before and after NAME.
func TestCLIAgainstRunningServer(t *testing.T) {
	upstream := startUpstream(t).addr
	s, _ := opsStart(t, tempConfig(t, opsConfig(upstream, "cli", "")), zap.NewNop(), false)
	admin := "http://" + s.AdminAddr()

	var out, errOut bytes.Buffer
	if code := run([]string{"status", "--admin", admin}, &out, &errOut); code != 0 {
		t.Fatalf("status: %d %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "NAME") || !strings.Contains(out.String(), "orders") || !strings.Contains(out.String(), "Ready") {
		t.Fatalf("status table:\n%s", out.String())
	}
	out.Reset()
	if code := run([]string{"sync", "orders", "--admin", admin}, &out, &errOut); code != 0 {
		t.Fatalf("sync NAME --admin: %d %s", code, errOut.String())
	}
	out.Reset()
	errOut.Reset()
	if code := run([]string{"provision", "--admin", admin, "orders"}, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "edit, sync, teardown") {
		t.Fatalf("provision while Ready: exit %d, stderr %q", code, errOut.String())
	}
	if code := run([]string{"teardown", "--admin", admin, "orders"}, &out, &errOut); code != 0 {
		t.Fatalf("teardown: %d %s", code, errOut.String())
	}
	testwait.UntilExplained(t, 10*time.Second, "Unprovisioned after teardown", func() (bool, string) {
		v, _ := s.app.manager.Get("orders")
		return v.Status.String() == "Unprovisioned", "status " + v.Status.String()
	})
	if code := run([]string{"teardown"}, &out, &errOut); code != 2 {
		t.Fatalf("teardown without NAME: exit %d, want 2", code)
	}
	// The proxy refuses the connection's traffic now.
	client := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(mustURL(t, "http://"+s.ProxyAddr()))}}
	_, port := mustSplit(t, upstream)
	resp, err := client.Get("http://orders.internal:" + port + "/x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 {
		t.Fatalf("after teardown: %d, want 503", resp.StatusCode)
	}
}
