package proxy

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestRefusalRows asserts every docs/refusals.md row the data plane owns, in every
// request form that can hit it: status, Proxy-Status, the JSON body, and
// refusals_total.
func TestRefusalRows(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: real listeners")
	}
	e := newEnv(t)
	connect := func(target string) string {
		return fmt.Sprintf("CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", target, target)
	}
	get := func(url string) string {
		return fmt.Sprintf("GET %s HTTP/1.1\r\nHost: ignored.example\r\nConnection: close\r\n\r\n", url)
	}
	auth := func(name string) string {
		return fmt.Sprintf("%s.partner.example:%d", strings.ToLower(name), e.port(name))
	}
	cases := []struct {
		name       string
		req        string
		status     int
		proxyError string
		code       string
		cred       string // named_credential in the body and the metric label
		connStatus string // "status" in the body
	}{
		// unknown_destination
		{"connect unknown host", connect("unknown.example:443"), 403, "http_request_denied", "unknown_destination", "", ""},
		{"connect unknown port", connect(fmt.Sprintf("%s:1", partnerHost)), 403, "http_request_denied", "unknown_destination", "", ""},
		{"connect ipv4", connect("127.0.0.1:443"), 403, "http_request_denied", "unknown_destination", "", ""},
		{"connect ipv4 hex", connect("0x7f.1:443"), 403, "http_request_denied", "unknown_destination", "", ""},
		{"connect ipv4 decimal", connect("2130706433:443"), 403, "http_request_denied", "unknown_destination", "", ""},
		{"connect ipv6", connect("[::1]:443"), 403, "http_request_denied", "unknown_destination", "", ""},
		{"connect ipv4-mapped", connect("[::ffff:127.0.0.1]:443"), 403, "http_request_denied", "unknown_destination", "", ""},
		{"connect metadata", connect("169.254.169.254:80"), 403, "http_request_denied", "unknown_destination", "", ""},
		{"absolute unknown", get("http://unknown.example/x"), 403, "http_request_denied", "unknown_destination", "", ""},
		{"absolute ip", get("http://169.254.169.254/latest/meta-data/"), 403, "http_request_denied", "unknown_destination", "", ""},
		{"absolute to https credential", get(fmt.Sprintf("http://%s:%d/v1/x", partnerHost, e.good.port)), 403, "http_request_denied", "unknown_destination", "Partner", ""},
		{"absolute https url", get(fmt.Sprintf("https://%s/x", auth("Plain"))), 403, "http_request_denied", "unknown_destination", "Plain", ""},
		{"callout unknown name", get("/callout/Nobody/x"), 403, "http_request_denied", "unknown_destination", "", ""},

		// connection_not_ready
		{"connect pending", connect(auth("Pending")), 503, "destination_unavailable", "connection_not_ready", "Pending", "PendingAcceptance"},
		{"absolute pending", get("http://" + auth("Pending") + "/x"), 503, "destination_unavailable", "connection_not_ready", "Pending", "PendingAcceptance"},
		{"callout pending", get("/callout/Pending/x"), 503, "destination_unavailable", "connection_not_ready", "Pending", "PendingAcceptance"},
		{"callout unknown connection", get("/callout/Orphan/x"), 503, "destination_unavailable", "connection_not_ready", "Orphan", ""},

		// warming_up
		{"connect warming", connect("warm.partner.example:" + fmt.Sprint(e.port("Warming"))), 503, "destination_unavailable", "warming_up", "Warming", "Ready"},
		{"absolute warming", get(fmt.Sprintf("http://warm.partner.example:%d/", e.port("Warming"))), 503, "destination_unavailable", "warming_up", "Warming", "Ready"},
		{"callout warming", get("/callout/Warming/"), 503, "destination_unavailable", "warming_up", "Warming", "Ready"},

		// certificate_mismatch (callgate originates TLS only on the callout form)
		{"callout certificate for another host", get("/callout/Mismatch/x"), 502, "tls_certificate_error", "certificate_mismatch", "Mismatch", ""},

		// dns_error
		{"connect dns", connect(auth("NoDNS")), 502, "dns_error", "dns_error", "NoDNS", ""},
		{"absolute dns", get("http://" + auth("NoDNS") + "/"), 502, "dns_error", "dns_error", "NoDNS", ""},
		{"callout dns", get("/callout/NoDNS/"), 502, "dns_error", "dns_error", "NoDNS", ""},

		// upstream_unreachable
		{"connect refused", connect(auth("Closed")), 502, "connection_refused", "upstream_unreachable", "Closed", ""},
		{"absolute refused", get("http://" + auth("Closed") + "/"), 502, "connection_refused", "upstream_unreachable", "Closed", ""},
		{"callout refused", get("/callout/Closed/"), 502, "connection_refused", "upstream_unreachable", "Closed", ""},

		// upstream_timeout: a dial that never completes, and an upstream
		// that never sends its response headers
		{"connect dial timeout", connect("blackhole.partner.example:80"), 504, "connection_timeout", "upstream_timeout", "Blackhole", ""},
		{"absolute dial timeout", get("http://blackhole.partner.example/"), 504, "connection_timeout", "upstream_timeout", "Blackhole", ""},
		{"absolute slow upstream", get(fmt.Sprintf("http://%s/slow", auth("Slow"))), 504, "connection_timeout", "upstream_timeout", "Slow", ""},
		{"callout slow upstream", get("/callout/Slow/slow"), 504, "connection_timeout", "upstream_timeout", "Slow", ""},

		// bad_request
		{"connect without port", connect(partnerHost), 400, "http_request_error", "bad_request", "", ""},
		{"connect bad port", connect(partnerHost + ":99999"), 400, "http_request_error", "bad_request", "", ""},
		{"origin form not callout", get("/index.html"), 400, "http_request_error", "bad_request", "", ""},
		{"callout dot-dot", get("/callout/Plain/../Partner/x"), 400, "http_request_error", "bad_request", "", ""},
		{"callout encoded dot-dot", get("/callout/Plain/%2e%2E/x"), 400, "http_request_error", "bad_request", "", ""},
		{"callout encoded slash", get("/callout/Plain/a%2F..%2Fb"), 400, "http_request_error", "bad_request", "", ""},
		{"callout dot-dot param", get("/callout/Plain/..;/x"), 400, "http_request_error", "bad_request", "", ""},
		{"absolute ftp", get("ftp://plain.partner.example/"), 400, "http_request_error", "bad_request", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := counterValue(t, e.reg, "callgate_refusals_total", map[string]string{"named_credential": tc.cred, "reason": tc.code})
			start := time.Now()
			res, body := e.roundTrip(tc.req)
			if res.StatusCode != tc.status {
				t.Fatalf("status %d, want %d; body %s", res.StatusCode, tc.status, body)
			}
			ps := res.Header.Get("Proxy-Status")
			if want := "callgate; error=" + tc.proxyError; !strings.HasPrefix(ps, want+";") && ps != want {
				t.Errorf("Proxy-Status %q, want prefix %q", ps, want)
			}
			if ct := res.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			var b refusalBody
			if err := json.Unmarshal(body, &b); err != nil {
				t.Fatalf("body %q: %v", body, err)
			}
			if b.Error != tc.code || b.NamedCredential != tc.cred || b.Status != tc.connStatus || b.Message == "" {
				t.Errorf("body %+v, want error=%s named_credential=%q status=%q", b, tc.code, tc.cred, tc.connStatus)
			}
			if strings.HasPrefix(tc.req, "CONNECT") && !res.Close {
				t.Error("a refused CONNECT must close the connection")
			}
			if tc.code == "warming_up" {
				if ra := res.Header.Get("Retry-After"); ra != "10" {
					t.Errorf("Retry-After %q, want 10", ra)
				}
			} else if ra := res.Header.Get("Retry-After"); ra != "" {
				t.Errorf("unexpected Retry-After %q", ra)
			}
			if tc.code == "upstream_timeout" && time.Since(start) > 5*time.Second {
				t.Errorf("timeout took %v", time.Since(start))
			}
			after := counterValue(t, e.reg, "callgate_refusals_total", map[string]string{"named_credential": tc.cred, "reason": tc.code})
			if after != before+1 {
				t.Errorf("refusals_total{%q,%s} went %v → %v, want +1", tc.cred, tc.code, before, after)
			}
		})
	}
	// Never a client-supplied host as a label value.
	mfs, _ := e.reg.Gather()
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == labelCredential && strings.Contains(lp.GetValue(), ".") {
					t.Errorf("%s has named_credential=%q", mf.GetName(), lp.GetValue())
				}
			}
		}
	}
}

// TestWarmupRetryAfterCountsDown: Retry-After is the warm-up left, in whole
// seconds rounded up, and traffic flows once it reaches zero.
func TestWarmupRetryAfterCountsDown(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: real listeners")
	}
	e := newEnv(t)
	req := fmt.Sprintf("GET http://warm.partner.example:%d/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", e.port("Warming"))
	steps := []struct {
		advance time.Duration
		want    string
	}{
		{0, "10"},
		{500 * time.Millisecond, "10"}, // 9.5 s left rounds up
		{2500 * time.Millisecond, "7"},
		{6900 * time.Millisecond, "1"}, // 0.1 s left
	}
	for _, s := range steps {
		e.gate.advance(s.advance)
		res, body := e.roundTrip(req)
		if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") != s.want {
			t.Fatalf("status %d Retry-After %q, want 503 %s (%s)", res.StatusCode, res.Header.Get("Retry-After"), s.want, body)
		}
	}
	e.gate.advance(100 * time.Millisecond)
	res, body := e.roundTrip(req)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("after the warm-up: status %d %s", res.StatusCode, body)
	}
}

func TestProxyStatusValue(t *testing.T) {
	f := &refusal{code: CodeDNSError, message: `say "hi" \ bye` + "\n\xff", proxyStatus: "dns_timeout"}
	got := f.proxyStatusValue()
	want := `callgate; error=dns_timeout; details="say \"hi\" \\ bye??"`
	if got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
}

func TestRetryAfterSeconds(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want int64
	}{{0, 0}, {-time.Second, 0}, {time.Nanosecond, 1}, {time.Second, 1}, {1001 * time.Millisecond, 2}, {5 * time.Minute, 300}} {
		if got := retryAfterSeconds(tc.d); got != tc.want {
			t.Errorf("retryAfterSeconds(%v) = %d, want %d", tc.d, got, tc.want)
		}
	}
}
