package proxy

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/callgate/callgate/connstate"
)

// curl runs the real curl binary with a bounded time and returns stdout.
func curl(t *testing.T, args ...string) (stdout string, exitCode int) {
	t.Helper()
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl not installed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	base := []string{"--silent", "--show-error", "--max-time", "15", "--noproxy", ""}
	cmd := exec.CommandContext(ctx, "curl", append(base, args...)...)
	// Keep the environment's proxies out of the way.
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return out.String(), ee.ExitCode()
	} else if err != nil {
		t.Fatalf("curl: %v (%s)", err, errb.String())
	}
	return out.String(), 0
}

func decodeSeen(t *testing.T, body string) seen {
	t.Helper()
	var s seen
	if err := json.Unmarshal([]byte(body), &s); err != nil {
		t.Fatalf("upstream answer %q: %v", body, err)
	}
	return s
}

func TestCurl(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: real listeners and curl")
	}
	e := newEnv(t)
	proxyURL := "http://" + e.addr

	t.Run("connect https", func(t *testing.T) {
		target := fmt.Sprintf("https://%s:%d/v1/orders?id=7", partnerHost, e.good.port)
		out, code := curl(t, "-x", proxyURL, "--cacert", e.caFile, target)
		if code != 0 {
			t.Fatalf("curl exit %d: %s", code, out)
		}
		s := decodeSeen(t, out)
		if s.Path != "/v1/orders" || s.Query != "id=7" || s.SNI != partnerHost {
			t.Errorf("upstream saw %+v", s)
		}
		// The endpoint was dialed by its endpoint DNS name, never the
		// client's host.
		if last := *e.dialer.last.Load(); last != fmt.Sprintf("127.0.0.1:%d", e.good.port) {
			t.Errorf("dialed %q", last)
		}
	})

	t.Run("connect https mixed case trailing dot", func(t *testing.T) {
		target := fmt.Sprintf("https://API.Partner.Example.:%d/v1/x", e.good.port)
		out, code := curl(t, "-x", proxyURL, "--cacert", e.caFile, "--resolve", "ignored:1:127.0.0.1", target)
		// curl sends SNI without the trailing dot; the certificate is for
		// the lower-case name, which curl matches case-insensitively.
		if code != 0 {
			t.Fatalf("curl exit %d: %s", code, out)
		}
	})

	t.Run("connect refused shows status and Proxy-Status", func(t *testing.T) {
		hdrs := filepath.Join(t.TempDir(), "h.txt")
		target := fmt.Sprintf("https://pending.partner.example:%d/", e.port("Pending"))
		out, code := curl(t, "-x", proxyURL, "-D", hdrs, "-o", os.DevNull, "-w", "%{http_connect}", target)
		if code == 0 || out != "503" {
			t.Fatalf("curl exit %d, http_connect %q; want a failure with 503", code, out)
		}
		h, _ := os.ReadFile(hdrs)
		if !strings.Contains(string(h), "Proxy-Status: callgate; error=destination_unavailable") {
			t.Errorf("CONNECT response headers:\n%s", h)
		}
	})

	t.Run("absolute form", func(t *testing.T) {
		target := fmt.Sprintf("http://plain.partner.example:%d/base/items?q=1", e.plain.port)
		out, code := curl(t, "-x", proxyURL, "-H", "Connection: X-Secret", "-H", "X-Secret: 1", "-H", "Proxy-Foo: bar", target)
		if code != 0 {
			t.Fatalf("curl exit %d: %s", code, out)
		}
		s := decodeSeen(t, out)
		if s.Path != "/base/items" || s.Query != "q=1" || s.Host != fmt.Sprintf("plain.partner.example:%d", e.plain.port) {
			t.Errorf("upstream saw %+v", s)
		}
		if s.Header.Get("X-Secret") != "" || s.Header.Get("Proxy-Foo") != "" || s.Header.Get("Proxy-Connection") != "" {
			t.Errorf("hop-by-hop headers forwarded: %v", s.Header)
		}
		if s.Header.Get("Via") != "1.1 callgate" {
			t.Errorf("Via %q", s.Header.Get("Via"))
		}
	})

	t.Run("callout https", func(t *testing.T) {
		out, code := curl(t, "-H", "Authorization: Bearer client", fmt.Sprintf("http://%s/callout/Partner/orders/42?x=1", e.addr))
		if code != 0 {
			t.Fatalf("curl exit %d: %s", code, out)
		}
		s := decodeSeen(t, out)
		if s.Path != "/v1/orders/42" || s.Query != "x=1" || s.SNI != partnerHost || s.Host != fmt.Sprintf("%s:%d", partnerHost, e.good.port) {
			t.Errorf("upstream saw %+v", s)
		}
		// No injector configured: the client's Authorization passes.
		if s.Header.Get("Authorization") != "Bearer client" {
			t.Errorf("Authorization %q", s.Header.Get("Authorization"))
		}
	})

	t.Run("callout http with base path", func(t *testing.T) {
		out, code := curl(t, fmt.Sprintf("http://%s/callout/Plain/a%%20b/c/", e.addr))
		if code != 0 {
			t.Fatalf("curl exit %d: %s", code, out)
		}
		s := decodeSeen(t, out)
		if s.Path != "/base/a b/c/" || s.RequestURI != "/base/a%20b/c/" {
			t.Errorf("upstream saw %+v", s)
		}
	})

	t.Run("callout certificate mismatch", func(t *testing.T) {
		out, _ := curl(t, "-o", os.DevNull, "-w", "%{http_code}", fmt.Sprintf("http://%s/callout/Mismatch/x", e.addr))
		if out != "502" {
			t.Errorf("status %s, want 502", out)
		}
	})

	t.Run("callout path escapes", func(t *testing.T) {
		for _, p := range []string{"/callout/Plain/../Partner/x", "/callout/Plain/%2e%2e/x", "/callout/Plain/.%2E/x",
			"/callout/Plain/a%2F..%2F..%2Fx", "/callout/Plain/a%5c..%5cx", "/callout/../x", "/callout/Plain/./x"} {
			out, _ := curl(t, "--path-as-is", "-o", os.DevNull, "-w", "%{http_code}", "http://"+e.addr+p)
			if out != "400" {
				t.Errorf("%s: status %s, want 400", p, out)
			}
		}
	})
}

// TestGoClient drives the proxy with net/http's client configured with a
// proxy, the way HTTP_PROXY / HTTPS_PROXY users do.
func TestGoClient(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: real listeners")
	}
	e := newEnv(t)
	pu, _ := url.Parse("http://" + e.addr)
	var connectStatus int
	var connectPS string
	tr := &http.Transport{
		Proxy:           http.ProxyURL(pu),
		TLSClientConfig: &tls.Config{RootCAs: e.ca.Pool()},
		OnProxyConnectResponse: func(_ context.Context, _ *url.URL, _ *http.Request, res *http.Response) error {
			connectStatus, connectPS = res.StatusCode, res.Header.Get("Proxy-Status")
			return nil
		},
	}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}

	res, err := c.Get(fmt.Sprintf("https://%s:%d/v1/hello", partnerHost, e.good.port))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || decodeSeen(t, string(body)).Path != "/v1/hello" || connectStatus != 200 {
		t.Fatalf("https via CONNECT: %d %s (CONNECT %d)", res.StatusCode, body, connectStatus)
	}

	res, err = c.Post(fmt.Sprintf("http://plain.partner.example:%d/base/p", e.plain.port), "text/plain", strings.NewReader("hello"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if s := decodeSeen(t, string(body)); res.StatusCode != 200 || s.Method != "POST" || s.BodyLen != 5 {
		t.Fatalf("absolute POST: %d %+v", res.StatusCode, s)
	}

	e.gate.set("partner", connstate.PendingActivation, "", 0)
	// The open tunnel is cut (asynchronously); a new request needs a new
	// CONNECT, which is refused.
	eventually(t, "tunnel cut", func() bool {
		return counterValue(t, e.reg, "callgate_tunnels_active", map[string]string{"named_credential": "Partner"}) == 0
	})
	tr.CloseIdleConnections()
	_, err = c.Get(fmt.Sprintf("https://%s:%d/v1/hello", partnerHost, e.good.port))
	if err == nil || connectStatus != 503 || !strings.HasPrefix(connectPS, "callgate; error=destination_unavailable") {
		t.Fatalf("CONNECT to a pending connection: err %v, status %d, Proxy-Status %q", err, connectStatus, connectPS)
	}
}

// TestTLSProxyListener: HTTPS_PROXY=https://… — the proxy listener itself
// speaks TLS; CONNECT tunnels (TLS inside TLS) and callouts still work.
func TestTLSProxyListener(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: real listeners and curl")
	}
	e := newEnv(t)
	leaf, err := e.ca.Server("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = e.srv.Serve(tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{leaf.TLS}})) }()
	proxyURL := "https://" + ln.Addr().String()
	target := fmt.Sprintf("https://%s:%d/v1/over-tls", partnerHost, e.good.port)
	out, code := curl(t, "-x", proxyURL, "--proxy-cacert", e.caFile, "--cacert", e.caFile, target)
	if code != 0 {
		t.Fatalf("curl exit %d: %s", code, out)
	}
	if s := decodeSeen(t, out); s.Path != "/v1/over-tls" || s.SNI != partnerHost {
		t.Errorf("upstream saw %+v", s)
	}
	out, code = curl(t, "--cacert", e.caFile, "https://"+ln.Addr().String()+"/callout/Plain/x")
	if code != 0 || decodeSeen(t, out).Path != "/base/x" {
		t.Fatalf("callout over TLS: exit %d: %s", code, out)
	}
}
