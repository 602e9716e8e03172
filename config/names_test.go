package config

import (
	"regexp"
	"testing"
)

func TestValidNameMatchesItsPattern(t *testing.T) {
	re := regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]*$`)
	cases := []string{"", "a", "A", "_a", "-a", "0a", "a0", "a_b-C", "a.b", "a b", "ä", "aé", "a\n", "Z9", "a/b"}
	for i := 0; i < 2000; i++ {
		b := make([]byte, 1+i%6)
		for j := range b {
			b[j] = byte(32 + (i*31+j*17)%96)
		}
		cases = append(cases, string(b))
	}
	for _, c := range cases {
		if got, want := validName(c), re.MatchString(c); got != want {
			t.Errorf("validName(%q) = %v, the pattern says %v", c, got, want)
		}
	}
}
