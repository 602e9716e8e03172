package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/callgate/callgate/routing"
)

// configWithCredentials renders a valid config with n named credentials on
// one simulated connection.
func configWithCredentials(n int) []byte {
	var b strings.Builder
	b.WriteString(`listen: {proxy: "127.0.0.1:0", admin: "127.0.0.1:0"}
aws: {mode: simulated}
outbound_connections:
  - {name: orders, type: AwsPrivateLink, service_name: com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0}
named_credentials:
`)
	for i := range n {
		fmt.Fprintf(&b, "  - {name: Credential%d, url: \"https://api%d.partner.example\", outbound_network_connection: orders}\n", i, i)
	}
	return []byte(b.String())
}

// BenchmarkLoadCompile is what a reload of a large file costs: read,
// YAML decode, validation, and the routing compile.
func BenchmarkLoadCompile(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("creds=%d", n), func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "callgate.yaml")
			if err := os.WriteFile(path, configWithCredentials(n), 0o600); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				cfg, err := Load(path)
				if err != nil {
					b.Fatal(err)
				}
				if len(cfg.NamedCredentials) != n {
					b.Fatalf("%d named credentials, want %d", len(cfg.NamedCredentials), n)
				}
				if _, err := routing.Compile(cfg.RoutingCredentials()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
