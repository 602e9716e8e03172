package editdist

import (
	"strings"
	"testing"
)

func TestDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"abc", "abc", 0}, {"listne", "listen", 2}, {"exampel", "example", 2},
		{"", "abc", 3}, {"kitten", "sitting", 3}, {strings.Repeat("a", 65), "a", 1 << 20},
	} {
		if got := Distance(tc.a, tc.b); got != tc.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}
