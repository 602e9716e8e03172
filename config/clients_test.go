package config

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The secrets in testdata/secrets that clients read at load.
const (
	clientPassword = "app-one-password"
	clientToken    = "tok-app-three-0123456789abcdef"
)

// checkValidClients checks the clients of valid-full.yaml (TestValidFull).
func checkValidClients(t *testing.T, got []Client) {
	t.Helper()
	pfx := netip.MustParsePrefix
	want := []Client{
		{
			Name: "app-one", Username: "one",
			Password: SecretValue(clientPassword), PasswordFile: "testdata/secrets/client-password",
			CIDRs:  []netip.Prefix{pfx("10.1.0.0/16"), pfx("fd00:1::/32")},
			Permit: []string{"PartnerOrders", "Bearer"},
		},
		{
			Name: "app-two", Username: "two",
			PasswordHash: "$2a$04$0x2MqjdJ9rGndsVfuzIXvui4Qnwq8RHcgCkhHBJOJJ/9vqtlZfFdq",
			Permit:       []string{"Headers"},
		},
		{
			Name:  "app-three",
			Token: SecretValue(clientToken), TokenFile: "testdata/secrets/client-token",
			// A bare address is a single-address prefix; IPv4-mapped
			// prefixes are written as IPv4.
			CIDRs:  []netip.Prefix{pfx("192.0.2.7/32"), pfx("198.51.100.0/24")},
			Permit: []string{"SigV4"},
		},
	}
	if !reflect.DeepEqual(got, want) {
		// %#v: SecretValue hides itself; compare the secrets apart.
		t.Errorf("Clients:\n got %#v\nwant %#v", got, want)
		for i := range min(len(got), len(want)) {
			if string(got[i].Password) != string(want[i].Password) || string(got[i].Token) != string(want[i].Token) {
				t.Errorf("clients[%d]: secrets differ", i)
			}
		}
	}
}

// TestClientSecretsRedacted: a Config printed, marshalled or logged never
// shows a client's password or token.
func TestClientSecretsRedacted(t *testing.T) {
	cfg, err := Load("testdata/valid-full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if string(cfg.Clients[0].Password) != clientPassword || string(cfg.Clients[2].Token) != clientToken {
		t.Fatal("secrets not read at load")
	}
	js, err := json.Marshal(cfg.Clients)
	if err != nil {
		t.Fatal(err)
	}
	ym, err := yaml.Marshal(cfg.Clients)
	if err != nil {
		t.Fatal(err)
	}
	outputs := map[string]string{
		"%v": fmt.Sprintf("%v", *cfg), "%+v": fmt.Sprintf("%+v", *cfg), "%#v": fmt.Sprintf("%#v", *cfg),
		"%s": fmt.Sprintf("%s", cfg.Clients[0].Password), //lint:ignore S1025 the test is what the %s verb prints "%x": fmt.Sprintf("%x", cfg.Clients[2].Token),
		"%q": fmt.Sprintf("%q", cfg.Clients[2].Token), "json": string(js), "yaml": string(ym),
	}
	for name, out := range outputs {
		for _, sec := range []string{clientPassword, clientToken, fmt.Sprintf("%x", clientToken), fmt.Sprintf("%x", clientPassword)} {
			if strings.Contains(out, sec) {
				t.Errorf("%s output holds a secret", name)
			}
		}
		if !strings.Contains(out, "redacted") && !strings.Contains(out, fmt.Sprintf("%x", "[redacted]")) {
			t.Errorf("%s output does not say the secret was redacted: %.200s", name, out)
		}
	}
}

// TestClientErrorsHoldNoSecrets: errors about secret files name the file,
// never its content.
func TestClientErrorsHoldNoSecrets(t *testing.T) {
	_, err := Load("testdata/invalid-clients-token.yaml")
	if err == nil {
		t.Fatal("Load succeeded")
	}
	for _, sec := range []string{"tiny-s3cr", "has space in it", clientToken} {
		if strings.Contains(err.Error(), sec) {
			t.Errorf("error holds the token %q:\n%v", sec, err)
		}
	}
	_, err = Load("testdata/invalid-clients-basic.yaml")
	if err == nil || strings.Contains(err.Error(), "$2a$15$") {
		t.Errorf("error quotes a password hash:\n%v", err)
	}
}

// TestClientLimitsDefaults: no clients and no limits by default; a rate
// without a burst gets a burst of one second's worth.
func TestClientLimitsDefaults(t *testing.T) {
	base := "named_credentials: []\n"
	cases := []struct {
		yaml string
		want Rate
	}{
		{"", Rate{}},
		{"limits: {client_rate: {requests_per_second: 2.5}}\n", Rate{RequestsPerSecond: 2.5, Burst: 3}},
		{"limits: {client_rate: {requests_per_second: 0.2}}\n", Rate{RequestsPerSecond: 0.2, Burst: 1}},
		{"limits: {client_rate: {requests_per_second: 10, burst: 1}}\n", Rate{RequestsPerSecond: 10, Burst: 1}},
	}
	for _, tc := range cases {
		cfg, err := Parse("limits.yaml", []byte(base+tc.yaml))
		if err != nil {
			t.Fatalf("%q: %v", tc.yaml, err)
		}
		if cfg.Limits.ClientRate != tc.want {
			t.Errorf("%q: client_rate %+v, want %+v", tc.yaml, cfg.Limits.ClientRate, tc.want)
		}
		if cfg.Clients != nil || cfg.ProxyAuth != (ProxyAuth{Realm: DefaultRealm, Throttle: DefaultAuthThrottle, BcryptWait: DefaultBcryptWait}) {
			t.Errorf("%q: clients %v, proxy_auth %+v", tc.yaml, cfg.Clients, cfg.ProxyAuth)
		}
	}
}
