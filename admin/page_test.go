package admin_test

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/callgate/callgate/admin"
)

func get(t *testing.T, url string, header map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

var (
	scriptTag   = regexp.MustCompile(`(?i)<script\b[^>]*>`)
	inlineStyle = regexp.MustCompile(`(?i)<[a-z][^>]*\sstyle=`)
	inlineEvent = regexp.MustCompile(`(?i)<[a-z][^>]*\son[a-z]+=`)
)

// TestPageServesTheTablesUnderAStrictPolicy: GET / renders the connection
// and credential rows with only the actions the status allows, under a CSP
// that forbids inline script, with nothing inline for it to forbid.
func TestPageServesTheTablesUnderAStrictPolicy(t *testing.T) {
	srv, _, _ := startAPI(t, func(o *admin.Options) {
		o.Credentials = func() []admin.CredentialView {
			return []admin.CredentialView{{
				Name: "PartnerOrders", URL: "https://api.partner.example:8443/v1?<script>alert(1)</script>",
				Connection: "partner_orders", NotAdmitted: "connection_not_ready", NotAdmittedReason: "partner_orders is Unprovisioned",
				CertificateCheck: "not_checked", Requests: 7, Refusals: 3,
			}}
		}
	})
	resp, body := get(t, srv.URL+"/", nil)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	csp := resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "script-src 'self'", "frame-ancestors 'none'", "object-src 'none'", "form-action 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe") {
		t.Errorf("CSP %q allows something unsafe", csp)
	}
	if resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("headers: %v", resp.Header)
	}
	for _, tag := range scriptTag.FindAllString(body, -1) {
		if tag != `<script src="/assets/page.js" defer>` {
			t.Errorf("a script that is not the page's own file: %s", tag)
		}
	}
	if m := inlineStyle.FindString(body); m != "" {
		t.Errorf("an inline style: %s", m)
	}
	if m := inlineEvent.FindString(body); m != "" {
		t.Errorf("an inline event handler: %s", m)
	}
	for _, want := range []string{
		`<tr data-name="partner_orders">`,
		`aria-label="Provision partner_orders">Provision</button>`,
		`<span class="badge st-idle">Unprovisioned</span>`,
		`Edit or delete: in the config file`,
		`<th scope="col">Status</th>`,
		`<th scope="row" class="c-name"`,
		`connection_not_ready: partner_orders is Unprovisioned`,
		`<td class="k-req num" data-label="Requests">7</td>`,
		`&lt;script&gt;alert(1)&lt;/script&gt;`,
		`data-simulated="true"`,
		`data-token-required="false"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	for _, refused := range []string{`data-action="sync"`, `data-action="teardown"`, `data-action="edit"`, `data-action="delete"`, `data-action="accept"`} {
		if strings.Contains(body, refused) {
			t.Errorf("an Unprovisioned connection offers %s", refused)
		}
	}

	for file, ct := range map[string]string{"page.js": "text/javascript", "page.css": "text/css", "favicon.svg": "image/svg+xml"} {
		resp, body := get(t, srv.URL+"/assets/"+file, nil)
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), ct) || body == "" ||
			resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("Content-Security-Policy") == "" {
			t.Errorf("%s: %d %v", file, resp.StatusCode, resp.Header)
		}
		again, _ := get(t, srv.URL+"/assets/"+file, map[string]string{"If-None-Match": resp.Header.Get("ETag")})
		if again.StatusCode != http.StatusNotModified {
			t.Errorf("%s with its ETag: %d, want 304", file, again.StatusCode)
		}
	}
	if resp, _ := get(t, srv.URL+"/assets/nope.js", nil); resp.StatusCode != 404 {
		t.Errorf("an unknown asset: %d", resp.StatusCode)
	}
	if resp, _ := get(t, srv.URL+"/assets/", nil); resp.StatusCode != 404 {
		t.Errorf("the asset folder: %d, want 404 (no listing)", resp.StatusCode)
	}
	if resp, _ := get(t, srv.URL+"/nope", nil); resp.StatusCode != 404 {
		t.Errorf("an unknown page: %d", resp.StatusCode)
	}
	// The page is refused to a rebound name like every other route.
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/", nil)
	req.Host = "evil.example"
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusMisdirectedRequest {
		t.Errorf("GET / with a foreign Host: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
}

// TestPageWithProtectedReads renders no rows without the token, never the
// token itself, and /v1/token-check tells a right token from a wrong one.
func TestPageWithProtectedReads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "admin-token")
	if err := os.WriteFile(path, []byte("s3cret-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv, _, _ := startAPI(t, func(o *admin.Options) {
		o.TokenFile = func() string { return path }
		o.ProtectReads = func() bool { return true }
	})
	resp, body := get(t, srv.URL+"/", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("GET /: %d", resp.StatusCode)
	}
	for _, leak := range []string{"partner_orders", "PartnerOrders", "s3cret-token", "vpce-svc"} {
		if strings.Contains(body, leak) {
			t.Errorf("the page shows %q to a browser without the token", leak)
		}
	}
	for _, want := range []string{`data-token-required="true"`, `data-protect-reads="true"`, "Enter the admin token to see the outbound connections", `type="password"`} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	for token, code := range map[string]int{"": 401, "wrong": 401, "s3cret-token": 200} {
		h := map[string]string{}
		if token != "" {
			h["Authorization"] = "Bearer " + token
		}
		if resp, _ := get(t, srv.URL+"/v1/token-check", h); resp.StatusCode != code {
			t.Errorf("token-check with %q: %d, want %d", token, resp.StatusCode, code)
		}
	}
}
