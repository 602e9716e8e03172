package routing

import (
	"fmt"
	"testing"
)

// benchCreds makes n http/https named credentials on distinct hosts, the
// shape a large tenant's config has.
func benchCreds(n int) []Credential {
	creds := make([]Credential, n)
	for i := range creds {
		scheme := "https"
		if i%2 == 1 {
			scheme = "http"
		}
		creds[i] = Credential{
			Name:       fmt.Sprintf("Cred%06d", i),
			URL:        fmt.Sprintf("%s://api-%06d.partner%d.example:8443/v1", scheme, i, i%97),
			Connection: fmt.Sprintf("conn_%d", i%50),
		}
	}
	return creds
}

func mustCompile(b *testing.B, n int) *Table {
	b.Helper()
	t, err := Compile(benchCreds(n))
	if err != nil {
		b.Fatalf("compile %d: %v", n, err)
	}
	return t
}

// BenchmarkLookup measures the hot-path lookup of a client authority: a
// table of 100,000 named credentials must cost the same as one of 10, and
// neither may allocate.
func BenchmarkLookup(b *testing.B) {
	for _, n := range []int{10, 100_000} {
		t := mustCompile(b, n)
		// Client spellings as they arrive on the wire: exact, upper case,
		// trailing dot, and a miss.
		hosts := []struct{ name, host string }{
			{"exact", fmt.Sprintf("api-%06d.partner%d.example", n/2, (n/2)%97)},
			{"mixedcase", fmt.Sprintf("API-%06d.Partner%d.EXAMPLE", n/2, (n/2)%97)},
			{"trailingdot", fmt.Sprintf("api-%06d.partner%d.example.", n/2, (n/2)%97)},
			{"miss", "unknown.partner.example"},
		}
		for _, h := range hosts {
			b.Run(fmt.Sprintf("creds=%d/%s", n, h.name), func(b *testing.B) {
				b.ReportAllocs()
				want := h.name != "miss"
				for b.Loop() {
					d, err := t.LookupAuthority(h.host, 8443)
					if err != nil || (d != nil) != want {
						b.Fatalf("LookupAuthority(%q) = %v, %v", h.host, d, err)
					}
				}
			})
		}
		b.Run(fmt.Sprintf("creds=%d/normalized", n), func(b *testing.B) {
			b.ReportAllocs()
			host := hosts[0].host
			for b.Loop() {
				if t.Lookup(host, 8443) == nil {
					b.Fatal("Lookup missed")
				}
			}
		})
	}
}

// BenchmarkNormalizeHost measures host normalisation on the spellings
// clients send. The already-normal ASCII case is the hot one and must not
// allocate; IDNA mapping is reported for comparison.
func BenchmarkNormalizeHost(b *testing.B) {
	cases := []struct{ name, host string }{
		{"ascii", "api.partner.example"},
		{"ipv4", "127.0.0.1"},
		{"numeric", "0x7f.1"},
		{"upper", "API.Partner.Example"},
		{"idna", "bücher.example"},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := NormalizeHost(c.host); err != nil {
					b.Fatalf("NormalizeHost(%q): %v", c.host, err)
				}
			}
		})
	}
	b.Run("splithostport", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := SplitHostPort("api.partner.example:8443", 0); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkCompile100k measures compiling 100,000 named credentials, what a
// config load or reload of a large tenant pays (the target is under 1 s).
func BenchmarkCompile100k(b *testing.B) {
	creds := benchCreds(100_000)
	b.ReportAllocs()
	for b.Loop() {
		t, err := Compile(creds)
		if err != nil {
			b.Fatal(err)
		}
		if t.Len() != len(creds) {
			b.Fatalf("compiled %d of %d", t.Len(), len(creds))
		}
	}
}
