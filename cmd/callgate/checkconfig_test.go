package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestCheckConfigNeverPrintsURLPassword: check-config refuses a URL with
// userinfo in each URL-valued key, naming file, line and key, and its
// output never holds the password.
func TestCheckConfigNeverPrintsURLPassword(t *testing.T) {
	const pw = "s3cr3tpw"
	path := tempConfig(t, `aws:
  mode: simulated
  endpoint_url: https://user:`+pw+`@ec2.example
tls:
  listeners: [admin]
  acme:
    ca: https://user:`+pw+`@acme.example/directory
    domains: [callgate.example]
outbound_connections:
  - name: orders
    service_name: com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0
named_credentials:
  - name: Orders
    url: https://user:`+pw+`@orders.example/v1
    outbound_network_connection: orders
    auth:
      oauth2_client_credentials:
        token_url: https://user:`+pw+`@login example/token
        client_id: callgate
        client_secret_env: PARTNER_CLIENT_SECRET
`)
	var stdout, stderr bytes.Buffer
	if code := runCheckConfig([]string{path}, &stdout, &stderr); code != 1 {
		t.Fatalf("check-config exited %d, want 1:\n%s%s", code, stdout.String(), stderr.String())
	}
	out := stdout.String() + stderr.String()
	if strings.Contains(out, pw) {
		t.Errorf("check-config printed the password:\n%s", out)
	}
	for _, want := range []string{
		path + ":3: aws.endpoint_url:",
		path + ":7: tls.acme.ca:",
		path + ":14: named_credentials[0].url:",
		path + ":18: named_credentials[0].auth.oauth2_client_credentials.token_url:",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("check-config output lacks %q:\n%s", want, out)
		}
	}
}
