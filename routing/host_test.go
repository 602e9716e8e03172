package routing

import (
	"errors"
	"strings"
	"testing"
)

func TestNormalizeHost(t *testing.T) {
	tests := []struct {
		in, want string
		isIP     bool
		err      error
	}{
		{"api.partner.example", "api.partner.example", false, nil},
		{"API.Partner.Example", "api.partner.example", false, nil},
		{"api.partner.example.", "api.partner.example", false, nil},
		{"API.PARTNER.EXAMPLE.", "api.partner.example", false, nil},
		{"bücher.example", "xn--bcher-kva.example", false, nil},
		{"BÜCHER.example.", "xn--bcher-kva.example", false, nil},
		{"xn--bcher-kva.example", "xn--bcher-kva.example", false, nil},
		{"ＡＰＩ.example", "api.example", false, nil}, // fullwidth letters map to ASCII (UTS #46)
		{"under_score.internal", "under_score.internal", false, nil},
		{"[::1]", "::1", true, nil},
		{"[2001:DB8::1]", "2001:db8::1", true, nil},
		{"[::ffff:127.0.0.1]", "::ffff:127.0.0.1", true, nil},
		{"::ffff:127.0.0.1", "127.0.0.1", true, nil},
		{"127.0.0.1", "127.0.0.1", true, nil},
		{"169.254.169.254", "169.254.169.254", true, nil},
		{"2130706433", "2130706433", true, nil},
		{"0x7f.1", "0x7f.1", true, nil},
		{"0X7F.0.0.1", "0x7f.0.0.1", true, nil},
		{"127.1", "127.1", true, nil},
		{"", "", false, ErrEmptyHost},
		{".", "", false, ErrBadHost},
		{"[::1", "", false, ErrBadHost},
		{"[127.0.0.1]", "", false, ErrBadHost},
		{"exa mple.com", "", false, ErrBadHost},
		{"xn--zz.example", "", false, ErrBadHost},        // invalid punycode
		{"\u034f.\u0198", "", false, ErrBadHost},         // first label maps to nothing (found by FuzzSplitHostPort)
		{"a.\u200b.example", "", false, ErrBadHost},      // a middle one does
		{"api.example.\u034f", "", false, ErrBadHost},    // and a last one
		{"\u034fapi.example", "api.example", false, nil}, // an ignored code point inside a label is dropped
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, isIP, err := NormalizeHost(tc.in)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("NormalizeHost(%q) error = %v, want %v", tc.in, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want || isIP != tc.isIP {
				t.Fatalf("NormalizeHost(%q) = %q, %v, %v; want %q, %v", tc.in, got, isIP, err, tc.want, tc.isIP)
			}
		})
	}
}

func TestSplitHostPort(t *testing.T) {
	tests := []struct {
		in      string
		def     uint16
		host    string
		port    uint16
		wantErr error
	}{
		{"api.example:443", 0, "api.example", 443, nil},
		{"api.example", 80, "api.example", 80, nil},
		{"api.example", 0, "", 0, ErrMissingPort},
		{"[::1]:8443", 0, "[::1]", 8443, nil},
		{"[::1]", 443, "[::1]", 443, nil},
		{"::1", 443, "", 0, ErrBadAuthority},
		{"api.example:", 0, "", 0, ErrBadPort},
		{"api.example:0", 0, "", 0, ErrBadPort},
		{"api.example:65536", 0, "", 0, ErrBadPort},
		{"api.example:+443", 0, "", 0, ErrBadPort},
		{"api.example:0443", 0, "api.example", 443, nil},
		{":443", 0, "", 0, ErrEmptyHost},
		{"", 0, "", 0, ErrEmptyHost},
		{"[::1]x", 0, "", 0, ErrBadAuthority},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			host, port, err := SplitHostPort(tc.in, tc.def)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("SplitHostPort(%q) error = %v, want %v", tc.in, err, tc.wantErr)
				}
				return
			}
			if err != nil || host != tc.host || port != tc.port {
				t.Fatalf("SplitHostPort(%q) = %q, %d, %v", tc.in, host, port, err)
			}
		})
	}
}

func FuzzSplitHostPort(f *testing.F) {
	for _, s := range []string{"api.example:443", "[::1]:8443", "a:b:c", "[", "]:", "x:99999", "0x7f.1:443", "bücher.example:443", "\u034f.\u0198:443"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		host, port, err := SplitHostPort(s, 0)
		if err != nil {
			return
		}
		if port == 0 || host == "" {
			t.Fatalf("SplitHostPort(%q) = %q, %d without error", s, host, port)
		}
		n, isIP, err := NormalizeHost(host)
		if err != nil {
			return
		}
		// Normalization is idempotent.
		n2, isIP2, err := NormalizeHost(bracket(n))
		if err != nil || n2 != n || isIP2 != isIP {
			t.Fatalf("NormalizeHost not idempotent for %q: %q → %q (%v)", host, n, n2, err)
		}
	})
}

func bracket(h string) string {
	for i := 0; i < len(h); i++ {
		if h[i] == ':' {
			return "[" + h + "]"
		}
	}
	return h
}

func TestNormalizeHostDoesNotAllocateForNormalNames(t *testing.T) {
	for _, h := range []string{"api.partner.example", "inventory.internal", "127.0.0.1", "::1"} {
		if n := testing.AllocsPerRun(1000, func() { _, _, _ = NormalizeHost(h) }); n != 0 {
			t.Errorf("NormalizeHost(%q) allocates %v times", h, n)
		}
	}
}

// TestNormalizeHostMixedCaseASCII: the lowering shortcut for plain ASCII
// names gives what the IDNA mapping gives, and leaves punycode to IDNA's
// validation.
func TestNormalizeHostMixedCaseASCII(t *testing.T) {
	for _, h := range []string{"API.Partner.Example", "Inventory.INTERNAL.", "a-B.c", "0X7F.1", "XN--BCHER-KVA.Example"} {
		got, gotIP, err := NormalizeHost(h)
		if err != nil {
			t.Fatalf("NormalizeHost(%q): %v", h, err)
		}
		want, err := idnaProfile.ToASCII(strings.TrimSuffix(h, "."))
		if err != nil {
			t.Fatalf("ToASCII(%q): %v", h, err)
		}
		if got != want || gotIP != looksNumeric(want) {
			t.Errorf("NormalizeHost(%q) = %q, %v; IDNA gives %q", h, got, gotIP, want)
		}
	}
	if _, _, err := NormalizeHost("XN--A.example"); err == nil {
		t.Error("invalid punycode in upper case accepted")
	}
}
