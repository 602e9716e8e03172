package safeurl_test

import (
	"strings"
	"testing"

	"github.com/callgate/callgate/internal/safeurl"
)

const pw = "s3cr3tpw"

func TestRedact(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://user:" + pw + "@api.example/v1", "https://xxxxx@api.example/v1"},
		{"https://" + pw + "@api.example/v1", "https://xxxxx@api.example/v1"},
		{"http://user:" + pw + "@api.example:8080/a?b=c#d", "http://xxxxx@api.example:8080/a?b=c#d"},
		// '@' in the password; unparsable: a space in the host, a bad port.
		{"https://user:p@" + pw + "@api.example/", "https://xxxxx@api.example/"},
		{"https://user:" + pw + "@api example/v1", "https://xxxxx@api example/v1"},
		{"https://user:" + pw + "@api.example:x/", "https://xxxxx@api.example:x/"},
		// No scheme: url.Parse refuses "user:pw@host" (a colon in the first segment).
		{"user:" + pw + "@api.example/token", "xxxxx@api.example/token"},
		// Nothing to hide: unchanged, byte for byte.
		{"https://api.example/v1/%7Euser?x=a@b", "https://api.example/v1/%7Euser?x=a@b"},
		{"https://api example/@x", "https://api example/@x"},
		{"", ""},
	} {
		got := safeurl.Redact(tc.in)
		if got != tc.want {
			t.Errorf("Redact(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if strings.Contains(got, pw) {
			t.Errorf("Redact(%q) kept the password", tc.in)
		}
	}
}

func TestParseErrorRedacted(t *testing.T) {
	for _, raw := range []string{
		"https://user:" + pw + "@api example/",
		"https://user:" + pw + "@api.example:x/",
	} {
		_, err := safeurl.Parse(raw)
		if err == nil {
			t.Fatalf("Parse(%q) succeeded", raw)
		}
		if strings.Contains(err.Error(), pw) || !strings.Contains(err.Error(), safeurl.Mask) {
			t.Errorf("Parse(%q): %v", raw, err)
		}
	}
	u, err := safeurl.Parse("https://user:" + pw + "@api.example/")
	if err != nil || u.User.Username() != "user" {
		t.Errorf("a valid URL: %v, %v", u, err)
	}
}
