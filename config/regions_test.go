package config

import (
	"reflect"
	"strings"
	"testing"
)

const twoRegions = `aws:
  mode: aws
  region: us-east-1
  regions:
    us-east-1: {vpc_id: vpc-0e1, subnet_ids: [subnet-0e1], security_group_ids: [sg-0e1]}
    us-west-2: {vpc_id: vpc-0a2, subnet_ids: [subnet-0a2, subnet-0b2], security_group_ids: [sg-0a2]}
outbound_connections:
  - name: east
    service_name: com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0
  - name: west
    service_name: com.amazonaws.vpce.us-west-2.vpce-svc-0123456789abcdef0
    region: us-west-2
`

// Every region's network may sit under aws.regions, the default region's
// included; Network finds each one, and Networks lists them all.
func TestRegionsNetworks(t *testing.T) {
	cfg, err := Parse("two-regions.yaml", []byte(twoRegions))
	if err != nil {
		t.Fatal(err)
	}
	east := Network{VpcID: "vpc-0e1", SubnetIDs: []string{"subnet-0e1"}, SecurityGroupIDs: []string{"sg-0e1"}}
	west := Network{VpcID: "vpc-0a2", SubnetIDs: []string{"subnet-0a2", "subnet-0b2"}, SecurityGroupIDs: []string{"sg-0a2"}}
	for region, want := range map[string]Network{"us-east-1": east, "us-west-2": west} {
		if got, ok := cfg.AWS.Network(region); !ok || !reflect.DeepEqual(got, want) {
			t.Errorf("Network(%s) = %+v, %v; want %+v", region, got, ok, want)
		}
	}
	if _, ok := cfg.AWS.Network("eu-west-1"); ok {
		t.Error("Network(eu-west-1) found settings that were never given")
	}
	if got := cfg.AWS.Networks(); !reflect.DeepEqual(got, map[string]Network{"us-east-1": east, "us-west-2": west}) {
		t.Errorf("Networks() = %+v", got)
	}

	// The default region's keys are its network, beside aws.regions.
	cfg, err = Parse("default.yaml", []byte(`aws:
  mode: aws
  region: us-east-1
  vpc_id: vpc-0e1
  subnet_ids: [subnet-0e1]
  security_group_ids: [sg-0e1]
  regions:
    us-west-2: {vpc_id: vpc-0a2, subnet_ids: [subnet-0a2, subnet-0b2], security_group_ids: [sg-0a2]}
`))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.AWS.Networks(); !reflect.DeepEqual(got, map[string]Network{"us-east-1": east, "us-west-2": west}) {
		t.Errorf("Networks() with the default region's keys = %+v", got)
	}
}

// In mode aws a connection callgate creates endpoints for needs its
// region's network; the error names the file, line and key. The
// simulation needs none.
func TestRegionsConnectionNeedsNetwork(t *testing.T) {
	noDefault := strings.Replace(twoRegions,
		"    us-east-1: {vpc_id: vpc-0e1, subnet_ids: [subnet-0e1], security_group_ids: [sg-0e1]}\n", "", 1)
	_, err := Parse("no-default.yaml", []byte(noDefault))
	errs := splitErrors(t, err)
	if len(errs) != 1 {
		t.Fatalf("%d errors, want 1: %v", len(errs), err)
	}
	// The connection has no region key: the error points at its item.
	want := "config no-default.yaml:7: outbound_connections[0].region: region us-east-1 (aws.region) has no network settings"
	if got := errs[0].Error(); !strings.HasPrefix(got, want) {
		t.Errorf("error %q, want it to start with %q", got, want)
	}

	if _, err := Parse("simulated.yaml", []byte(strings.Replace(noDefault, "mode: aws", "mode: simulated", 1))); err != nil {
		t.Errorf("simulated mode with a region without network: %v", err)
	}

	// A network is all three keys or none, the default region's too.
	_, err = Parse("partial.yaml", []byte(strings.Replace(twoRegions, "  region: us-east-1\n", "  region: us-east-1\n  vpc_id: vpc-0e3\n", 1)))
	var keys []string
	for _, e := range splitErrors(t, err) {
		keys = append(keys, e.Key)
	}
	if want := []string{"aws.subnet_ids", "aws.security_group_ids", `aws.regions["us-east-1"]`}; !reflect.DeepEqual(keys, want) {
		t.Errorf("partial default network: errors on %q, want %q (%v)", keys, want, err)
	}
}
