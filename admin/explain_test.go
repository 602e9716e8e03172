package admin_test

import (
	"errors"
	"fmt"
	"net/url"
	"testing"

	"github.com/callgate/callgate/admin"
)

// TestExplainRoute: GET /v1/explain hands the query to Explain and answers
// its result; a missing url or a query Explain cannot use is a 400.
func TestExplainRoute(t *testing.T) {
	var got [4]string
	srv, _, _ := startAPI(t, func(o *admin.Options) {
		o.Explain = func(method, u, form, client string) (any, error) {
			got = [4]string{method, u, form, client}
			if u == "bad" {
				return nil, fmt.Errorf("%w: url: nope", admin.ErrExplainInput)
			}
			if u == "broken" {
				return nil, errors.New("boom")
			}
			return map[string]any{"verdict": map[string]any{"allowed": true}}, nil
		}
	})
	code, body, raw := call(t, "GET", srv.URL+"/v1/explain?url="+url.QueryEscape("https://api.partner.example:8443/v1")+"&method=post&client=app&form=connect", "")
	if code != 200 || body["verdict"] == nil {
		t.Fatalf("%d %s", code, raw)
	}
	if got != [4]string{"post", "https://api.partner.example:8443/v1", "connect", "app"} {
		t.Errorf("Explain got %q", got)
	}
	for _, tc := range []struct {
		query string
		code  int
	}{{"", 400}, {"?url=bad", 400}, {"?url=broken", 500}} {
		if code, _, raw := call(t, "GET", srv.URL+"/v1/explain"+tc.query, ""); code != tc.code {
			t.Errorf("%q: %d %s, want %d", tc.query, code, raw, tc.code)
		}
	}
}
