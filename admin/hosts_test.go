package admin

import (
	"net"
	"testing"
)

// TestHostPolicy is the Host check's table: which Host values name a
// listener bound to loopback, to a wildcard address, to one address under
// a configured name, and which admin.hosts entries add.
func TestHostPolicy(t *testing.T) {
	tcp := func(s string) net.Addr {
		a, err := net.ResolveTCPAddr("tcp", s)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	listed := []string{"callgate-admin.egress.svc", "metrics.example:8443", "[fd00::5]", "10.9.9.9:9443"}
	for _, tc := range []struct {
		bound, listen string
		names         []string
		accept        []string
		refuse        []string
	}{
		{
			bound: "127.0.0.1:9090", listen: "127.0.0.1",
			accept: []string{"127.0.0.1:9090", "localhost:9090", "LOCALHOST:9090", "localhost.:9090", "[::1]:9090",
				"127.0.0.2:9090", "[::ffff:127.0.0.1]:9090"},
			refuse: []string{"127.0.0.1:9091", "127.0.0.1", "localhost", "10.0.0.5:9090", "evil.example:9090", "evil.example",
				"", ":9090", "::1", "[::1", "[::1]:", "localhost:9090:1", "127.0.0.1.nip.io:9090", "2130706433:9090"},
		},
		{
			bound: "[::]:9090", listen: "0.0.0.0",
			accept: []string{"10.1.2.3:9090", "[fd00::7]:9090", "127.0.0.1:9090", "localhost:9090", "0.0.0.0:9090"},
			refuse: []string{"callgate.egress.svc:9090", "10.1.2.3:80", "10.1.2.3", "[fd00::7]", "evil.example:9090"},
		},
		{
			bound: "10.0.0.5:9090", listen: "gw.internal",
			accept: []string{"10.0.0.5:9090", "gw.internal:9090", "GW.internal.:9090"},
			refuse: []string{"10.0.0.6:9090", "localhost:9090", "127.0.0.1:9090", "gw.internal:9091", "gw.internal"},
		},
		{
			bound: "127.0.0.1:80", listen: "localhost",
			accept: []string{"localhost", "127.0.0.1", "localhost:80", "[::1]"},
			refuse: []string{"localhost:8080", "evil.example"},
		},
		{
			bound: "127.0.0.1:9090", names: listed,
			accept: []string{"callgate-admin.egress.svc", "callgate-admin.egress.svc:1234", "Callgate-Admin.Egress.Svc.:9090",
				"metrics.example:8443", "[fd00:0::5]:7", "[fd00::5]", "10.9.9.9:9443"},
			refuse: []string{"metrics.example:9090", "metrics.example", "10.9.9.9:9090", "other.egress.svc:9090",
				"admin.egress.svc", "callgate-admin.egress.svc.evil.example"},
		},
	} {
		p, err := newHostPolicy(tcp(tc.bound), tc.listen, func() []string { return tc.names })
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range tc.accept {
			if !p.accepts(h, "80") {
				t.Errorf("listener %s (listen host %q, hosts %v) refuses Host %q", tc.bound, tc.listen, tc.names, h)
			}
		}
		for _, h := range tc.refuse {
			if p.accepts(h, "80") {
				t.Errorf("listener %s (listen host %q, hosts %v) accepts Host %q", tc.bound, tc.listen, tc.names, h)
			}
		}
	}
	p, _ := newHostPolicy(tcp("127.0.0.1:443"), "", nil)
	if !p.accepts("localhost", "443") || p.accepts("localhost", "80") {
		t.Error("a Host without a port does not take the scheme's default port")
	}
	if _, err := newHostPolicy(nil, "", nil); err == nil {
		t.Error("no listener address: no error")
	}
}
