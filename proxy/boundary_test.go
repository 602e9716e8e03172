package proxy

import (
	"fmt"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// The regression tests of the boundary issue: each ran against both wire
// engines, so the lane and net/http's server, the fast path and
// http.Transport are all held to the same rule.

// TestTraceRefusedOnCallout: TRACE on the callout form is refused before
// anything is injected or sent, so an upstream that echoes TRACE cannot
// return the credential to the client.
func TestTraceRefusedOnCallout(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: real listeners")
	}
	for _, engine := range engines {
		e, u := newBoundaryEnv(t, engine)
		for _, tc := range []struct{ name, raw string }{
			{"no body", "TRACE /callout/Echo/x HTTP/1.1\r\nHost: callgate\r\nMax-Forwards: 5\r\n\r\n"},
			{"with a body", "TRACE /callout/Echo/x HTTP/1.1\r\nHost: callgate\r\nContent-Length: 2\r\n\r\nhi"},
			{"lower-case host, HTTP/1.0", "TRACE /callout/Echo/x HTTP/1.0\r\nHost: callgate\r\n\r\n"},
		} {
			t.Run(engine.String()+"/"+tc.name, func(t *testing.T) {
				before := u.n.Load()
				r := rawExchange(t, e.addr, tc.raw, http.MethodTrace, 1)
				if len(r.responses) != 1 {
					t.Fatalf("no response; got %q", r.raw)
				}
				res := r.responses[0]
				if res.StatusCode != http.StatusMethodNotAllowed {
					t.Errorf("status %d, want 405: %s", res.StatusCode, r.bodies[0])
				}
				if b := refusalOf(t, r.bodies[0]); b.Error != "method_not_allowed" || b.NamedCredential != "Echo" {
					t.Errorf("body %+v", b)
				}
				if ps := res.Header.Get("Proxy-Status"); !strings.HasPrefix(ps, "callgate; error=http_request_denied") {
					t.Errorf("Proxy-Status %q", ps)
				}
				if a := res.Header.Get("Allow"); a == "" || strings.Contains(a, "TRACE") {
					t.Errorf("Allow %q, want the callout form's methods without TRACE", a)
				}
				assertNoSecret(t, "TRACE", r.raw)
				if n := u.n.Load() - before; n != 0 {
					t.Errorf("the upstream got %d requests; a refused TRACE must not reach it", n)
				}
			})
		}
		// The absolute form injects nothing: TRACE passes, as to any
		// HTTP proxy, and the echo holds only what the client sent.
		t.Run(engine.String()+"/absolute form echoes only the client's own request", func(t *testing.T) {
			r := rawExchange(t, e.addr, "TRACE http://"+e.echoHost(u)+"/base/x HTTP/1.1\r\nHost: x\r\nProxy-Authorization: Basic cDpw\r\n\r\n", http.MethodTrace, 1)
			if len(r.responses) != 1 || r.responses[0].StatusCode != http.StatusOK {
				t.Fatalf("got %q", r.raw)
			}
			if strings.Contains(string(r.bodies[0]), "Proxy-Authorization") {
				t.Errorf("the upstream received Proxy-Authorization: %s", r.bodies[0])
			}
			assertNoSecret(t, "absolute TRACE", r.raw)
		})
		e.assertLogsClean(t)
	}
}

// TestTraceRefusedCurl: the refusal as curl shows it.
func TestTraceRefusedCurl(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: real listeners")
	}
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Fatal("curl is required for this test (.ci/run installs it)")
	}
	e, u := newBoundaryEnv(t, EngineFast)
	out, err := exec.Command(curl, "-sS", "-i", "-X", "TRACE", "http://"+e.addr+"/callout/Echo/x").CombinedOutput()
	if err != nil {
		t.Fatalf("curl: %v: %s", err, out)
	}
	if !strings.HasPrefix(string(out), "HTTP/1.1 405") || !strings.Contains(string(out), `"error":"method_not_allowed"`) {
		t.Errorf("curl -X TRACE printed:\n%s", out)
	}
	assertNoSecret(t, "curl -X TRACE", out)
	if n := u.n.Load(); n != 0 {
		t.Errorf("the upstream got %d requests", n)
	}
}

// TestRequestTrailersNotForwarded: a chunked request's trailers never
// reach the upstream, so Proxy-Authorization, the client's Authorization
// and an injected header's name cannot go around the header rules.
func TestRequestTrailersNotForwarded(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: real listeners")
	}
	trailers := []string{"Proxy-Authorization: Basic c3RvbGVuOnBhc3M=", "Authorization: Bearer from-trailer", "X-Api-Key: from-trailer", "X-Other: t"}
	for _, engine := range engines {
		e, u := newBoundaryEnv(t, engine)
		for _, form := range []struct{ name, target string }{
			{"callout", "/callout/Echo/t"},
			{"absolute", "http://" + e.echoHost(u) + "/base/t"},
		} {
			t.Run(engine.String()+"/"+form.name, func(t *testing.T) {
				before := len(u.seen())
				raw := "POST " + form.target + " HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTrailer: Proxy-Authorization, Authorization, X-Api-Key, X-Other\r\n\r\n" +
					chunkedWithTrailers("hello", trailers...)
				r := rawExchange(t, e.addr, raw, http.MethodPost, 1)
				if len(r.responses) != 1 || r.responses[0].StatusCode != http.StatusOK {
					t.Fatalf("got %q", r.raw)
				}
				seen := u.seen()
				if len(seen) != before+1 {
					t.Fatalf("upstream got %d requests, want 1", len(seen)-before)
				}
				got := seen[len(seen)-1]
				if len(got.Trailer) != 0 {
					t.Errorf("the upstream received trailers %v", got.Trailer)
				}
				if v := got.Header.Get("Proxy-Authorization"); v != "" {
					t.Errorf("the upstream received Proxy-Authorization %q", v)
				}
				for _, k := range []string{"Authorization", "X-Api-Key"} {
					if vv := got.Header.Values(k); len(vv) > 1 || (len(vv) == 1 && strings.Contains(vv[0], "from-trailer")) {
						t.Errorf("the upstream received %s %q", k, vv)
					}
				}
				assertNoSecret(t, "chunked POST with trailers", r.raw)
			})
		}
	}
}

// TestResponseTrailersFiltered: response trailers get the hop-by-hop rules
// (and the fields RFC 9110 §6.5.1 keeps out of trailers), on the fast path
// and the Transport alike.
func TestResponseTrailersFiltered(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: real listeners")
	}
	for _, engine := range engines {
		e, u := newBoundaryEnv(t, engine)
		for _, m := range []string{http.MethodGet, http.MethodPost} {
			t.Run(engine.String()+"/"+m, func(t *testing.T) {
				r := rawExchange(t, e.addr, m+" http://"+e.echoHost(u)+"/base/trailers HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", m, 1)
				if len(r.responses) != 1 {
					t.Fatalf("got %q", r.raw)
				}
				res := r.responses[0]
				if string(r.bodies[0]) != "body" || res.Trailer.Get("X-Sum") != "42" {
					t.Errorf("body %q trailers %v, want body and X-Sum: 42", r.bodies[0], res.Trailer)
				}
				for _, k := range []string{"Proxy-Foo", "Set-Cookie", "Connection"} {
					if _, ok := res.Trailer[k]; ok {
						t.Errorf("trailer %s reached the client: %v", k, res.Trailer)
					}
				}
			})
		}
	}
}

// TestChunkedRequestClosesConnection: a request with Content-Length and
// chunked Transfer-Encoding is read by its chunks, and the connection is
// closed after the response (RFC 9112 §6.1), so what follows the body is
// never served as a request.
func TestChunkedRequestClosesConnection(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: real listeners")
	}
	for _, engine := range engines {
		e, u := newBoundaryEnv(t, engine)
		for _, form := range []struct{ name, target string }{
			{"callout", "/callout/Echo/first"},
			{"absolute", "http://" + e.echoHost(u) + "/base/first"},
		} {
			for _, cl := range []string{"Content-Length: 4\r\n", ""} {
				t.Run(fmt.Sprintf("%s/%s/content-length %t", engine, form.name, cl != ""), func(t *testing.T) {
					before := len(u.seen())
					smuggled := "GET /callout/Echo/smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
					raw := "POST " + form.target + " HTTP/1.1\r\nHost: x\r\n" + cl + "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled
					r := rawExchange(t, e.addr, raw, http.MethodPost, 2)
					if len(r.responses) != 1 {
						t.Fatalf("%d responses, want 1 and then a close: %q", len(r.responses), r.raw)
					}
					if !r.closed {
						t.Error("the connection stayed open after a chunked request")
					}
					if r.responses[0].StatusCode != http.StatusOK || !r.responses[0].Close {
						t.Errorf("first response %d close=%t, want 200 with Connection: close", r.responses[0].StatusCode, r.responses[0].Close)
					}
					for _, s := range u.seen()[before:] {
						if strings.Contains(s.Path, "smuggled") {
							t.Errorf("the bytes after the body reached the upstream as a request: %+v", s)
						}
						if s.Header.Get("Content-Length") != "" && s.Header.Get("Transfer-Encoding") != "" {
							t.Errorf("the upstream saw two framings: %v", s.Header)
						}
					}
				})
			}
		}
	}
}

// TestResponseHeaderCap: one cap for an endpoint's response header block,
// on the fast path (GET on the fast engine) and the Transport, answered
// 502 with Proxy-Status; a block just under it passes.
func TestResponseHeaderCap(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: real listeners")
	}
	const limit = 16 << 10
	for _, engine := range engines {
		for _, limitSet := range []bool{true, false} {
			e, u := newBoundaryEnv(t, engine, func(o *Options) {
				if limitSet {
					o.MaxResponseHeaderBytes = limit
				}
			})
			max := DefaultMaxResponseHeaderBytes
			if limitSet {
				max = limit
			}
			for _, m := range []string{http.MethodGet, http.MethodPost} {
				for _, tc := range []struct {
					n    int
					want int
				}{{max - 1024, http.StatusOK}, {max + 1, http.StatusBadGateway}, {20 << 20, http.StatusBadGateway}} {
					t.Run(fmt.Sprintf("%s/limit %d/%s/%d bytes", engine, max, m, tc.n), func(t *testing.T) {
						r := rawExchange(t, e.addr, m+" http://"+e.echoHost(u)+"/base/bigheader?n="+strconv.Itoa(tc.n)+" HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", m, 1)
						if len(r.responses) != 1 {
							t.Fatalf("no response: %q", r.raw[:min(len(r.raw), 200)])
						}
						res := r.responses[0]
						if res.StatusCode != tc.want {
							t.Fatalf("status %d, want %d (X-Big %d bytes)", res.StatusCode, tc.want, len(res.Header.Get("X-Big")))
						}
						if tc.want == http.StatusOK {
							return
						}
						if b := refusalOf(t, r.bodies[0]); b.Error != "upstream_header_too_large" || b.NamedCredential != "Echo" {
							t.Errorf("body %+v", b)
						}
						if ps := res.Header.Get("Proxy-Status"); !strings.HasPrefix(ps, "callgate; error=http_response_header_size") {
							t.Errorf("Proxy-Status %q", ps)
						}
					})
				}
			}
		}
	}
}

// TestMaxHeaderBytesExact: limits.max_header_bytes is the limit, to the
// byte, on the lane and on net/http's server.
func TestMaxHeaderBytesExact(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: real listeners")
	}
	for _, engine := range engines {
		for _, limit := range []int{16 << 10, DefaultMaxHeaderBytes} {
			e, u := newBoundaryEnv(t, engine, func(o *Options) { o.MaxHeaderBytes = limit })
			// block is a request whose request line and header block is
			// exactly size bytes.
			block := func(method string, size int) string {
				prefix := method + " http://" + e.echoHost(u) + "/base/x HTTP/1.1\r\nHost: x\r\nX-Pad: "
				suffix := "\r\n\r\n"
				if method == http.MethodPost {
					suffix = "\r\nContent-Length: 0\r\n\r\n"
				}
				return prefix + strings.Repeat("p", size-len(prefix)-len(suffix)) + suffix
			}
			for _, m := range []string{http.MethodGet, http.MethodPost} {
				for _, tc := range []struct {
					size, want int
				}{{limit, http.StatusOK}, {limit + 1, http.StatusRequestHeaderFieldsTooLarge}, {limit + 4000, http.StatusRequestHeaderFieldsTooLarge}} {
					t.Run(fmt.Sprintf("%s/limit %d/%s/%d", engine, limit, m, tc.size), func(t *testing.T) {
						raw := block(m, tc.size)
						if len(raw) != tc.size {
							t.Fatalf("built %d bytes, want %d", len(raw), tc.size)
						}
						r := rawExchange(t, e.addr, raw, m, 1)
						if len(r.responses) != 1 || r.responses[0].StatusCode != tc.want {
							t.Fatalf("%d-byte header block: got %q, want %d", tc.size, firstLine(string(r.raw)), tc.want)
						}
						if tc.want != http.StatusOK {
							wantBadRequest(t, "over the limit", r.responses[0], r.bodies[0], tc.want)
						}
					})
				}
			}
		}
	}
}

// TestAbsoluteFormBasePath: on the absolute form a named credential is its
// URL: a path that resolves outside its base path is refused with 403
// not_permitted and never reaches the upstream; one that resolves inside
// is sent resolved.
func TestAbsoluteFormBasePath(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: real listeners")
	}
	for _, engine := range engines {
		e, u := newBoundaryEnv(t, engine)
		echo := e.echoHost(u)
		for _, tc := range []struct {
			path     string
			wantPath string // "" when refused
		}{
			{"/base", "/base"},
			{"/base/", "/base/"},
			{"/base/items", "/base/items"},
			{"/base/a/../b", "/base/b"},
			{"/base/./c", "/base/c"},
			{"/base/a/..", "/base/"},
			{"/../../etc/passwd", ""},
			{"/base/../../etc", ""},
			{"/base/..", ""},
			{"/basement", ""},
			{"/", ""},
			{"/other/x", ""},
			{"/base/%2e%2e/x", ""},
			{"/base/%2E%2E/%2e%2e/x", ""},
			{"/base%2F..%2Fetc", ""},
			{"/base/..%2F..%2Fetc", ""},
			{"/base/x%5C..%5C..%5Cetc", ""},
			{"/base/..;/..;/etc", ""},
		} {
			t.Run(engine.String()+tc.path, func(t *testing.T) {
				before := len(u.seen())
				for _, m := range []string{http.MethodGet, http.MethodPost} {
					r := rawExchange(t, e.addr, m+" http://"+echo+tc.path+" HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", m, 1)
					if len(r.responses) != 1 {
						t.Fatalf("%s: no response: %q", m, r.raw)
					}
					res := r.responses[0]
					if tc.wantPath == "" {
						if res.StatusCode != http.StatusForbidden {
							t.Errorf("%s %s: status %d, want 403", m, tc.path, res.StatusCode)
						} else if b := refusalOf(t, r.bodies[0]); b.Error != "not_permitted" || b.NamedCredential != "Echo" {
							t.Errorf("%s: body %+v", m, b)
						}
						continue
					}
					if res.StatusCode != http.StatusOK {
						t.Errorf("%s %s: status %d, want 200: %s", m, tc.path, res.StatusCode, r.bodies[0])
					}
				}
				seen := u.seen()[before:]
				if tc.wantPath == "" {
					if len(seen) != 0 {
						t.Errorf("refused path reached the upstream: %+v", seen)
					}
					return
				}
				for _, s := range seen {
					if s.Path != tc.wantPath {
						t.Errorf("upstream path %q, want %q", s.Path, tc.wantPath)
					}
				}
			})
		}
		// A credential with the root path is unchanged: every path passes.
		t.Run(engine.String()+"/root credential", func(t *testing.T) {
			r := rawExchange(t, e.addr, "GET http://echoroot.partner.example:"+strconv.Itoa(int(u.port))+"/anything/x HTTP/1.1\r\nHost: x\r\n\r\n", http.MethodGet, 1)
			if len(r.responses) != 1 || r.responses[0].StatusCode != http.StatusOK {
				t.Errorf("got %q", r.raw)
			}
		})
	}
}

func TestWithinBasePath(t *testing.T) {
	for _, tc := range []struct {
		base, path, want string
		ok               bool
	}{
		{"", "/../x", "/../x", true},
		{"/v1", "/v1", "/v1", true},
		{"/v1", "/v1/", "/v1/", true},
		{"/v1", "/v1/a/./b/../c", "/v1/a/c", true},
		{"/v1", "/v1/a%2Fb", "", false},
		{"/v1", "/v1/%2e%2e", "", false},
		{"/v1", "/v10", "", false},
		{"/v1", "/V1", "", false},
		{"/a%20b", "/a%20b/x", "/a%20b/x", true},
		{"/a%20b", "/a b/x", "/a b/x", true},
		{"/v1/deep", "/v1/deep/../../v1/deep/x", "/v1/deep/x", true},
		{"/v1", "/v1/x/../..", "", false},
		{"/v1", "/v1/%zz", "", false},
		{"/v1", "/v1/.;x/y", "/v1/y", true},
	} {
		got, ok := withinBasePath(tc.base, tc.path)
		if ok != tc.ok || got != tc.want {
			t.Errorf("withinBasePath(%q, %q) = %q, %t; want %q, %t", tc.base, tc.path, got, ok, tc.want, tc.ok)
		}
	}
}
