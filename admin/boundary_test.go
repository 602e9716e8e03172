package admin_test

import (
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/callgate/callgate/admin"
	"github.com/callgate/callgate/internal/testhttp"
)

// send makes one request over the real listener; host overrides Host.
func send(t *testing.T, method, rawURL, host string, header map[string]string, body io.Reader) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, rawURL, body)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	status, m, _ := testhttp.JSON(t, req)
	return status, m
}

// TestBoundaryRefusesWhatBrowsersSendCrossSite checks the admin handler's
// boundary on a loopback listener: a foreign Host is refused on every
// method and route; state-changing requests are refused when a browser
// marks them cross-origin or they carry a form's body, and accepted when
// they carry the bearer token, a JSON body, or nothing (curl, the CLI).
func TestBoundaryRefusesWhatBrowsersSendCrossSite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "admin-token")
	if err := os.WriteFile(path, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv, _, _ := startAPI(t, func(o *admin.Options) {
		o.TokenFile = func() string { return path }
		o.Hosts = func() []string { return []string{"callgate-admin.egress.svc"} }
	})
	u, _ := url.Parse(srv.URL)
	self := "http://" + u.Host
	bearer := map[string]string{"Authorization": "Bearer s3cret"}
	with := func(kv ...string) map[string]string {
		m := map[string]string{"Authorization": "Bearer s3cret"}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	for _, tc := range []struct {
		name         string
		method, path string
		host         string
		header       map[string]string
		body         string
		code         int
		errCode      string
	}{
		{"HEAD with a foreign Host", "HEAD", "/healthz", "evil.example", nil, "", 421, ""},
		{"GET with a foreign Host", "GET", "/readyz", "evil.example:" + u.Port(), nil, "", 421, "forbidden_host"},
		{"POST with a foreign Host and the token", "POST", "/-/reload", "evil.example:" + u.Port(), bearer, "", 421, "forbidden_host"},
		{"a listed name", "POST", "/-/reload", "callgate-admin.egress.svc", bearer, "", 200, ""},
		{"cross-site with the token", "POST", "/-/reload", "", with("Sec-Fetch-Site", "cross-site"), "", 403, "cross_origin_request"},
		{"foreign Origin with the token", "POST", "/-/reload", "", with("Origin", "http://evil.example"), "", 403, "cross_origin_request"},
		{"Origin of another scheme", "POST", "/-/reload", "", with("Origin", "https://"+u.Host), "", 403, "cross_origin_request"},
		{"Origin with a path", "POST", "/-/reload", "", with("Origin", self+"/x"), "", 403, "cross_origin_request"},
		{"a PUT from a foreign Origin", "PUT", "/-/reload", "", with("Origin", "http://evil.example"), "", 403, "cross_origin_request"},
		{"same-origin, old browser", "POST", "/-/reload", "", with("Origin", self), "", 200, ""},
		{"Sec-Fetch-Site none", "POST", "/-/reload", "", with("Sec-Fetch-Site", "none"), "", 200, ""},
		{"text/plain without Authorization", "POST", "/-/reload", "", map[string]string{"Content-Type": "text/plain"}, "x", 415, "unsupported_media_type"},
		{"a field-less form", "POST", "/-/reload", "", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, "", 415, "unsupported_media_type"},
		{"text/plain with the bearer header", "POST", "/-/reload", "", with("Content-Type", "text/plain"), "x", 200, ""},
		{"text/plain with a wrong bearer", "POST", "/-/reload", "", map[string]string{"Content-Type": "text/plain", "Authorization": "Bearer nope"}, "x", 401, "unauthorized"},
		{"JSON body", "POST", "/-/reload", "", with("Content-Type", "application/json; charset=utf-8"), "{}", 200, ""},
		{"JSON body, no token", "POST", "/-/reload", "", map[string]string{"Content-Type": "application/json"}, "{}", 401, "unauthorized"},
		{"body without Content-Type", "POST", "/-/reload", "", nil, "x", 415, "unsupported_media_type"},
		{"a GET from a foreign Origin reads nothing it could not already", "GET", "/healthz", "", map[string]string{"Origin": "http://evil.example"}, "", 200, ""},
	} {
		var body io.Reader
		if tc.body != "" {
			body = strings.NewReader(tc.body)
		}
		code, m := send(t, tc.method, srv.URL+tc.path, tc.host, tc.header, body)
		if code != tc.code || tc.errCode != "" && m["error"] != tc.errCode {
			t.Errorf("%s: %d %v, want %d %s", tc.name, code, m, tc.code, tc.errCode)
		}
	}
}

// TestNewWithoutAddrPanics: a handler that could not check Host must not
// be built at all.
func TestNewWithoutAddrPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("admin.New without Addr returned a handler")
		}
	}()
	admin.New(admin.Options{})
}
