package main

import (
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"go.uber.org/zap"

	"github.com/callgate/callgate/connstate"
	"github.com/callgate/callgate/internal/testwait"
)

// TestStatusOutputs runs `callgate status` against a callgate with a Ready
// connection and one whose endpoint cannot be created (a long last error):
// the default table fits 100 columns, -o wide has every field in full,
// -o json is the admin API's list.
func TestStatusOutputs(t *testing.T) {
	upstream := startUpstream(t).addr
	_, port, _ := net.SplitHostPort(upstream)
	const broken = "partner_invoices_eu_central"
	cfg := fmt.Sprintf(`listen: {proxy: 127.0.0.1:0, admin: 127.0.0.1:0}
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
    service_name: com.amazonaws.vpce.us-east-1.vpce-svc-0aaaaaaaaaaaaaaa1
    provision: true
  - name: %s
    service_name: com.amazonaws.vpce.eu-central-1.vpce-svc-0bbbbbbbbbbbbbbb2
    region: eu-central-1
    provision: true
named_credentials:
  - name: Orders
    url: http://orders.internal:%s
    outbound_network_connection: orders
`, upstream, broken, port)
	s, _ := opsStart(t, tempConfig(t, cfg), zap.NewNop(), false)
	var failed connstate.View
	testwait.Until(t, 10*time.Second, "the broken connection's last error", func() bool {
		failed, _ = s.app.manager.Get(broken)
		return failed.LastError != ""
	})
	ready, _ := s.app.manager.Get("orders")
	admin := "http://" + s.AdminAddr()

	out, errOut, code := cliRun(t, nil, "status", "--admin", admin)
	if code != 0 {
		t.Fatalf("status: exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	for _, l := range lines {
		if n := utf8.RuneCountInString(l); n > 100 {
			t.Errorf("a line of %d columns, want at most 100:\n%s", n, l)
		}
	}
	if len(lines) < 4 {
		t.Fatalf("status printed %d lines, want a header, 2 rows and the error:\n%s", len(lines), out)
	}
	if f := strings.Fields(lines[0]); strings.Join(f, " ") != "NAME STATUS ENDPOINT WARM LAST SYNC" {
		t.Errorf("header %q", lines[0])
	}
	if f := strings.Fields(lines[1]); len(f) < 4 || f[0] != "orders" || f[1] != "Ready" || f[2] != ready.VpcEndpointID || f[3] != "yes" {
		t.Errorf("orders row %q, want orders Ready %s yes …", lines[1], ready.VpcEndpointID)
	}
	if !strings.HasPrefix(lines[2], broken+" ") {
		t.Errorf("third line %q, want the %s row", lines[2], broken)
	}
	// The error follows its row, wrapped, whole.
	var wrapped []string
	for _, l := range lines[3:] {
		if !strings.HasPrefix(l, "    ") {
			t.Errorf("a line after the last row that is not its indented error: %q", l)
		}
		wrapped = append(wrapped, strings.TrimSpace(l))
	}
	if got := strings.Join(wrapped, " "); got != "last error: "+failed.LastError {
		t.Errorf("the error lines say %q, want %q", got, "last error: "+failed.LastError)
	}

	out, errOut, code = cliRun(t, nil, "status", "--admin", admin, "-o", "wide")
	if code != 0 {
		t.Fatalf("status -o wide: exit %d: %s", code, errOut)
	}
	for _, want := range []string{"ENDPOINT DNS", "READY SINCE", ready.EndpointDNS, ready.LastSync.UTC().Format(time.RFC3339)[:13], "eu-central-1", failed.LastError} {
		if !strings.Contains(out, want) {
			t.Errorf("status -o wide lacks %q:\n%s", want, out)
		}
	}

	out, errOut, code = cliRun(t, nil, "status", "--admin", admin, "-o", "json")
	if code != 0 {
		t.Fatalf("status -o json: exit %d: %s", code, errOut)
	}
	var views []connstate.View
	if err := json.Unmarshal([]byte(out), &views); err != nil {
		t.Fatalf("status -o json: %v:\n%s", err, out)
	}
	if len(views) != 2 || views[0].Name != "orders" || views[1].Name != broken || views[1].LastError != failed.LastError {
		t.Errorf("status -o json: %+v", views)
	}

	if _, errOut, code = cliRun(t, nil, "status", "--admin", admin, "-o", "yaml"); code != 2 || !strings.Contains(errOut, `-o "yaml": want table, wide or json`) {
		t.Errorf("status -o yaml: exit %d, stderr %q; want 2 naming the formats", code, errOut)
	}
}
