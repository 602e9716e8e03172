package routing

import (
	"errors"
	"strings"
	"testing"
)

// TestParseDestinationNeverQuotesUserinfo: a URL is refused for its
// userinfo, scheme or syntax without the error quoting the password
// (check-config and reload errors print it).
func TestParseDestinationNeverQuotesUserinfo(t *testing.T) {
	const pw = "s3cr3tpw"
	for _, raw := range []string{
		"https://user:" + pw + "@api.example/v1",
		"https://" + pw + "@api.example/v1",
		"ftp://user:" + pw + "@api.example/v1",
		"https://user:" + pw + "@api example/v1",
		"https://user:" + pw + "@api.example:x/v1",
	} {
		_, err := ParseDestination(raw)
		if !errors.Is(err, ErrBadURL) {
			t.Fatalf("ParseDestination(%q): %v, want ErrBadURL", raw, err)
		}
		if strings.Contains(err.Error(), pw) {
			t.Errorf("the error quotes the password: %v", err)
		}
		if _, err := Compile([]Credential{{Name: "Orders", URL: raw, Connection: "orders"}}); err == nil || strings.Contains(err.Error(), pw) {
			t.Errorf("Compile: %v", err)
		}
	}
}
