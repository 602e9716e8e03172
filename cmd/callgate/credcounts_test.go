package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/callgate/callgate/admin"
	"github.com/callgate/callgate/connstate"
)

// TestNamedCredentialsAdmissionAndCounts: GET /v1/named-credentials says
// whether the gate admits each credential's traffic now, with the refusal
// code when it does not, and counts its requests and refusals from the
// proxy's metrics.
func TestNamedCredentialsAdmissionAndCounts(t *testing.T) {
	upstream := startUpstream(t).addr
	cfg := opsConfig(upstream, "counts", `  - name: Idle
    url: http://idle.internal
    outbound_network_connection: idle
`)
	cfg = strings.Replace(cfg, "named_credentials:", `  - name: idle
    service_name: com.amazonaws.vpce.us-east-1.vpce-svc-0aaaaaaaaaaaaaaa1
named_credentials:`, 1)
	s, _ := opsStart(t, tempConfig(t, cfg), zap.NewNop(), false)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	for _, name := range []string{"Orders", "Orders", "Idle"} {
		resp, err := client.Get("http://" + s.ProxyAddr() + "/callout/" + name + "/x")
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	resp, err := http.Get("http://" + s.AdminAddr() + "/v1/named-credentials")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var views []admin.CredentialView
	if err := json.NewDecoder(resp.Body).Decode(&views); err != nil {
		t.Fatal(err)
	}
	got := map[string]admin.CredentialView{}
	for _, v := range views {
		got[v.Name] = v
	}
	if v := got["Orders"]; !v.Admitted || v.NotAdmitted != "" || v.Requests != 2 || v.Refusals != 0 {
		t.Errorf("Orders: %+v, want admitted, 2 requests, no refusal", v)
	}
	if v := got["Idle"]; v.Admitted || v.NotAdmitted != "connection_not_ready" || v.NotAdmittedReason != "idle is Unprovisioned" ||
		v.Requests != 1 || v.Refusals != 1 {
		t.Errorf("Idle: %+v, want not admitted (connection_not_ready), 1 request refused", v)
	}
}

func TestFillAdmissionWarmingUp(t *testing.T) {
	var v admin.CredentialView
	v.Connection = "orders"
	fillAdmission(&v, connstate.Admission{Known: true, Status: connstate.Ready, Endpoint: "vpce.example", WarmupLeft: 191500 * time.Millisecond})
	if v.Admitted || v.NotAdmitted != "warming_up" || v.NotAdmittedReason != "orders is warming up, 3m12s left" {
		t.Errorf("%+v", v)
	}
}
