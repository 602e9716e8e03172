package main

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/callgate/callgate/internal/testhttp"
)

// adminRequest is one request to the admin API as a browser or a tool
// would send it: host overrides the Host header, header adds headers, and
// a non-nil body is sent with contentType.
type adminRequest struct {
	method, path string
	host         string
	header       map[string]string
	contentType  string
	body         string
}

// send dials addr (host:port) whatever the Host header says, as a
// DNS-rebound browser or a probe by pod IP does.
func (ar adminRequest) send(t *testing.T, addr string) (int, map[string]any) {
	t.Helper()
	var body io.Reader
	if ar.body != "" || ar.contentType != "" {
		body = strings.NewReader(ar.body)
	}
	req, err := http.NewRequest(ar.method, "http://"+addr+ar.path, body)
	if err != nil {
		t.Fatal(err)
	}
	if ar.host != "" {
		req.Host = ar.host
	}
	if ar.contentType != "" {
		req.Header.Set("Content-Type", ar.contentType)
	}
	for k, v := range ar.header {
		req.Header.Set(k, v)
	}
	status, m, _ := testhttp.JSON(t, req)
	return status, m
}

// runCurl runs the real curl binary and returns the status and body.
func runCurl(t *testing.T, args ...string) (int, string) {
	t.Helper()
	bin, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl is not on PATH")
	}
	out, err := exec.Command(bin, append([]string{"-sS", "-w", "\n%{http_code}"}, args...)...).Output()
	if err != nil {
		t.Fatalf("curl %v: %v", args, err)
	}
	i := bytes.LastIndexByte(out, '\n')
	code, err := strconv.Atoi(string(out[i+1:]))
	if err != nil {
		t.Fatalf("curl %v: no status in %q", args, out)
	}
	return code, string(out[:i])
}

func requireReady(t *testing.T, s *server, after string) {
	t.Helper()
	if v, _ := s.app.manager.Get("orders"); v.Status.String() != "Ready" {
		t.Fatalf("after %s the connection is %s: a refused request changed it", after, v.Status)
	}
}

// TestAdminRefusesForeignHostAndCrossSite replays what a web page can make
// a browser send to a token-less admin API on loopback — a DNS-rebound
// name in Host, a cross-site Origin or Sec-Fetch-Site, a form or text/plain
// body — and checks each is refused without touching the connection, while
// the CLI and a bare curl POST keep working.
func TestAdminRefusesForeignHostAndCrossSite(t *testing.T) {
	upstream := startUpstream(t).addr
	s, _ := opsStart(t, tempConfig(t, opsConfig(upstream, "boundary", "")), zap.NewNop(), false)
	addr := s.AdminAddr()
	teardown := "/v1/connections/orders/teardown"

	for _, tc := range []struct {
		name     string
		req      adminRequest
		code     int
		errField string
	}{
		{"rebound GET", adminRequest{method: "GET", path: "/v1/connections", host: "evil.example:" + portOf(t, addr)}, 421, "forbidden_host"},
		{"rebound GET metrics", adminRequest{method: "GET", path: "/metrics", host: "evil.example"}, 421, "forbidden_host"},
		{"rebound POST", adminRequest{method: "POST", path: teardown, host: "evil.example:" + portOf(t, addr)}, 421, "forbidden_host"},
		{"loopback IP, wrong port", adminRequest{method: "POST", path: teardown, host: "127.0.0.1:1"}, 421, "forbidden_host"},
		{"a non-loopback IP", adminRequest{method: "GET", path: "/healthz", host: "192.0.2.7:" + portOf(t, addr)}, 421, "forbidden_host"},
		{"the reported attack", adminRequest{method: "POST", path: teardown, host: "evil.example",
			header: map[string]string{"Origin": "http://evil.example"}, contentType: "text/plain", body: "x"}, 421, "forbidden_host"},
		{"cross-site Origin", adminRequest{method: "POST", path: teardown,
			header: map[string]string{"Origin": "http://evil.example"}}, 403, "cross_origin_request"},
		{"Origin null", adminRequest{method: "POST", path: teardown,
			header: map[string]string{"Origin": "null"}}, 403, "cross_origin_request"},
		{"same-origin claim with a foreign Origin", adminRequest{method: "POST", path: teardown,
			header: map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": "http://evil.example"}}, 403, "cross_origin_request"},
		{"Sec-Fetch-Site cross-site", adminRequest{method: "POST", path: teardown,
			header: map[string]string{"Sec-Fetch-Site": "cross-site"}}, 403, "cross_origin_request"},
		{"Sec-Fetch-Site same-site", adminRequest{method: "POST", path: teardown,
			header: map[string]string{"Sec-Fetch-Site": "same-site"}}, 403, "cross_origin_request"},
		{"text/plain body", adminRequest{method: "POST", path: teardown, contentType: "text/plain", body: "{}"}, 415, "unsupported_media_type"},
		{"form body", adminRequest{method: "POST", path: teardown, contentType: "application/x-www-form-urlencoded", body: "a=b"}, 415, "unsupported_media_type"},
		{"empty form", adminRequest{method: "POST", path: teardown, contentType: "application/x-www-form-urlencoded"}, 415, "unsupported_media_type"},
		{"multipart body", adminRequest{method: "POST", path: teardown, contentType: "multipart/form-data; boundary=x", body: "--x--\r\n"}, 415, "unsupported_media_type"},
		{"text/plain reload", adminRequest{method: "POST", path: "/-/reload", contentType: "text/plain;charset=UTF-8", body: "x"}, 415, "unsupported_media_type"},
	} {
		code, m := tc.req.send(t, addr)
		if code != tc.code || m["error"] != tc.errField {
			t.Errorf("%s: %d %v, want %d %s", tc.name, code, m, tc.code, tc.errField)
		}
		requireReady(t, s, tc.name)
	}
	code, m := adminRequest{method: "GET", path: "/v1/connections", host: "evil.example"}.send(t, addr)
	if msg, _ := m["message"].(string); code != 421 || !strings.Contains(msg, "admin.hosts") {
		t.Errorf("a refused Host does not say what to configure: %d %v", code, m)
	}

	// What a user and callgate's own tools send is accepted.
	for _, host := range []string{"", "localhost:" + portOf(t, addr), "[::1]:" + portOf(t, addr)} {
		if code, m := (adminRequest{method: "GET", path: "/v1/connections", host: host}).send(t, addr); code != 200 {
			t.Errorf("GET with Host %q: %d %v", host, code, m)
		}
	}
	if code, m := (adminRequest{method: "POST", path: "/v1/connections/orders/sync", contentType: "application/json", body: "{}",
		header: map[string]string{"Origin": "http://" + addr, "Sec-Fetch-Site": "same-origin"}}).send(t, addr); code != 200 {
		t.Errorf("same-origin JSON POST: %d %v", code, m)
	}
	if code, body := runCurl(t, "-X", "POST", "http://"+addr+"/v1/connections/orders/sync"); code != 200 {
		t.Errorf("curl -X POST sync: %d %s", code, body)
	}
	if code, body := runCurl(t, "-X", "POST", "http://"+addr+"/-/reload"); code != 200 || !strings.Contains(body, "reloaded") {
		t.Errorf("curl -X POST /-/reload: %d %s", code, body)
	}
	if code, body := runCurl(t, "-H", "Host: evil.example", "http://"+addr+"/v1/connections"); code != 421 || !strings.Contains(body, "forbidden_host") {
		t.Errorf("curl with a foreign Host: %d %s", code, body)
	}
	if code, body := runCurl(t, "-X", "POST", "-H", "Content-Type: text/plain", "--data", "x", "http://"+addr+"/v1/connections/orders/teardown"); code != 415 {
		t.Errorf("curl text/plain POST: %d %s", code, body)
	}
	requireReady(t, s, "curl")
	var out, errOut bytes.Buffer
	if code := run([]string{"sync", "orders", "--admin", "http://" + addr}, &out, &errOut); code != 0 {
		t.Fatalf("callgate sync: %d %s", code, errOut.String())
	}
	if code := run([]string{"status", "--admin", "http://" + addr}, &out, &errOut); code != 0 {
		t.Fatalf("callgate status: %d %s", code, errOut.String())
	}
	if code := run([]string{"teardown", "orders", "--admin", "http://" + addr}, &out, &errOut); code != 0 {
		t.Fatalf("callgate teardown: %d %s", code, errOut.String())
	}
}

func portOf(t *testing.T, addr string) string {
	t.Helper()
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// TestAdminProbesByIPOnUnspecifiedListener runs the admin listener as the
// Kubernetes manifests do, on 0.0.0.0: the kubelet's probes and Prometheus
// name the pod IP in Host, so any IP literal with the listener's port is
// accepted; a DNS name is refused until admin.hosts lists it, which a
// reload applies.
func TestAdminProbesByIPOnUnspecifiedListener(t *testing.T) {
	upstream := startUpstream(t).addr
	cfg := strings.Replace(opsConfig(upstream, "probes", ""), "admin: 127.0.0.1:0", "admin: 0.0.0.0:0", 1)
	path := tempConfig(t, cfg)
	s, _ := opsStart(t, path, zap.NewNop(), false)
	port := portOf(t, s.AdminAddr())
	addr := net.JoinHostPort("127.0.0.1", port)

	for _, host := range []string{"10.1.2.3:" + port, "[fd00::7]:" + port, "127.0.0.1:" + port, "localhost:" + port} {
		for _, p := range []string{"/healthz", "/readyz", "/metrics", "/v1/connections"} {
			if code, m := (adminRequest{method: "GET", path: p, host: host}).send(t, addr); code != 200 {
				t.Errorf("GET %s with Host %s: %d %v", p, host, code, m)
			}
		}
		if code, body := runCurl(t, "-H", "Host: "+host, "http://"+addr+"/readyz"); code != 200 {
			t.Errorf("curl /readyz with Host %s: %d %s", host, code, body)
		}
	}
	for _, host := range []string{"10.1.2.3:1", "10.1.2.3", "callgate-admin.egress.svc:" + port, "callgate-admin.egress.svc"} {
		if code, m := (adminRequest{method: "GET", path: "/metrics", host: host}).send(t, addr); code != 421 || m["error"] != "forbidden_host" {
			t.Errorf("GET /metrics with Host %s: %d %v, want 421 forbidden_host", host, code, m)
		}
	}

	writeFile(t, path, cfg+"admin:\n  hosts: [callgate-admin.egress.svc, \"metrics.example:8443\"]\n")
	if code, m := (adminRequest{method: "POST", path: "/-/reload", host: "10.1.2.3:" + port}).send(t, addr); code != 200 {
		t.Fatalf("reload adding admin.hosts: %d %v", code, m)
	}
	for host, want := range map[string]int{
		"callgate-admin.egress.svc:" + port: 200,
		"CALLGATE-ADMIN.egress.svc.":        200, // any port, any case, a trailing dot
		"metrics.example:8443":              200,
		"metrics.example:" + port:           421, // listed with another port
		"other.egress.svc:" + port:          421,
	} {
		if code, m := (adminRequest{method: "GET", path: "/metrics", host: host}).send(t, addr); code != want {
			t.Errorf("after the reload, GET /metrics with Host %s: %d %v, want %d", host, code, m, want)
		}
	}
}
