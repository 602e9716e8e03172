package proxy

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/callgate/callgate/access"
	"github.com/callgate/callgate/routing"
)

// TestRefuseAccess: each access denial kind becomes its docs/refusals.md
// response, carrying the denial's message, Retry-After and challenge
// only where the row has them.
func TestRefuseAccess(t *testing.T) {
	d := &routing.Destination{Name: "Plain", Connection: "pcx-1"}
	chal := []string{`Basic realm="callgate", charset="UTF-8"`, `Bearer realm="callgate"`}
	cases := []struct {
		deny       access.Denial
		status     int
		code       string
		retryAfter string
		challenge  bool
	}{
		{access.Denial{Kind: access.ProxyAuthRequired, Message: "m1", Challenge: chal}, 407, "proxy_auth_required", "", true},
		{access.Denial{Kind: access.NotPermitted, Message: "m2"}, 403, "not_permitted", "", false},
		{access.Denial{Kind: access.RateLimited, Message: "m3", RetryAfter: 1500 * time.Millisecond}, 429, "rate_limited", "2", false},
		{access.Denial{Kind: access.RateLimited, Message: "m3"}, 429, "rate_limited", "1", false},
		{access.Denial{Kind: access.LimitReached, Message: "m4", RetryAfter: time.Second}, 503, "limit_reached", "1", false},
		{access.Denial{Kind: access.LimitReached, Message: "m5"}, 503, "limit_reached", "", false},
		// A kind the proxy does not know still refuses.
		{access.Denial{Kind: 200, Message: "m6"}, 403, "not_permitted", "", false},
	}
	if refuseAccess(nil, d) != nil {
		t.Fatal("no denial became a refusal")
	}
	for _, tc := range cases {
		t.Run(tc.code+"/"+tc.deny.Message, func(t *testing.T) {
			w := httptest.NewRecorder()
			refuseAccess(&tc.deny, d).write(w, false)
			if w.Code != tc.status {
				t.Errorf("status %d, want %d", w.Code, tc.status)
			}
			if got := w.Header().Get("Retry-After"); got != tc.retryAfter {
				t.Errorf("Retry-After %q, want %q", got, tc.retryAfter)
			}
			got := w.Header().Values("Proxy-Authenticate")
			if tc.challenge != (strings.Join(got, "|") == strings.Join(chal, "|")) || !tc.challenge && len(got) > 0 {
				t.Errorf("Proxy-Authenticate %q", got)
			}
			b := refusalOf(t, w.Body.Bytes())
			if b.Error != tc.code || b.Message != tc.deny.Message || b.NamedCredential != "Plain" || b.Connection != "pcx-1" {
				t.Errorf("body %+v", b)
			}
		})
	}
}
