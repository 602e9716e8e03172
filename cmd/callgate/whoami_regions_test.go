package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/callgate/callgate/internal/motoserver"
)

// whoami asks moto's STS once and prints the principal alone on its first
// line, then every region callgate acts in with that region's network.
func TestWhoamiListsRegions(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the AWS SDK against a real moto; skipped under -short")
	}
	moto := motoserver.Start(t)
	motoserver.UseTestCredentials(t)
	cfg := tempConfig(t, fmt.Sprintf(`aws:
  mode: aws
  region: us-east-1
  endpoint_url: %s
  vpc_id: vpc-0e1
  subnet_ids: [subnet-0e1]
  security_group_ids: [sg-0e1]
  regions:
    us-west-2: {vpc_id: vpc-0a2, subnet_ids: [subnet-0a2, subnet-0b2], security_group_ids: [sg-0a2]}
outbound_connections:
  - name: east
    service_name: com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0
  - name: west
    service_name: com.amazonaws.vpce.us-west-2.vpce-svc-0123456789abcdef0
    region: us-west-2
  - name: west_too
    service_name: com.amazonaws.vpce.us-west-2.vpce-svc-0123456789abcdef1
    region: us-west-2
  - name: adopted
    service_name: com.amazonaws.vpce.eu-west-1.vpce-svc-0123456789abcdef0
    region: eu-west-1
    vpc_endpoint_id: vpce-0123456789abcdef0
`, moto.URL()))
	var out, errOut bytes.Buffer
	if code := runWhoami([]string{"--config", cfg}, &out, &errOut); code != 0 {
		t.Fatalf("whoami: exit %d, stderr %q", code, errOut.String())
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "arn:aws:") || strings.Contains(lines[0], " ") {
		t.Fatalf("first line %q, want the principal ARN alone\n%s", lines[0], out.String())
	}
	want := []string{
		"regions:",
		"  eu-west-1: no network settings; connections adopted",
		"  us-east-1 (aws.region): vpc vpc-0e1, subnets subnet-0e1, security groups sg-0e1; connections east",
		"  us-west-2: vpc vpc-0a2, subnets subnet-0a2 subnet-0b2, security groups sg-0a2; connections west west_too",
	}
	if got := lines[1:]; strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("whoami printed\n%s\nwant after the principal\n%s", out.String(), strings.Join(want, "\n"))
	}
	if n := strings.Count(out.String(), "arn:"); n != 1 {
		t.Fatalf("the principal is printed %d times, want once:\n%s", n, out.String())
	}
}
