package proxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/callgate/callgate/access"
	"github.com/callgate/callgate/internal/testclient"
)

// tryTunnel sends CONNECT target and, on a 200, proves the tunnel works
// with one request through it; the tunnel stays open until the returned
// conn is closed. On a refusal it returns the response and its body.
func (e *env) tryTunnel(t *testing.T, target string) (net.Conn, *http.Response, []byte) {
	t.Helper()
	c, err := net.DialTimeout("tcp", e.addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", target, target)
	br := bufio.NewReader(c)
	res, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil {
		c.Close()
		t.Fatalf("CONNECT %s: %v", target, err)
	}
	if res.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(res.Body)
		c.Close()
		return nil, res, body
	}
	fmt.Fprintf(c, "GET /base/in-tunnel HTTP/1.1\r\nHost: %s\r\n\r\n", target)
	in, err := http.ReadResponse(br, nil)
	if err != nil {
		c.Close()
		t.Fatalf("request through the tunnel to %s: %v", target, err)
	}
	_, _ = io.Copy(io.Discard, in.Body)
	in.Body.Close()
	_ = c.SetDeadline(time.Time{})
	t.Cleanup(func() { c.Close() })
	return c, res, nil
}

// openTunnel is tryTunnel that must succeed.
func (e *env) openTunnel(t *testing.T, target string) net.Conn {
	t.Helper()
	c, res, body := e.tryTunnel(t, target)
	if c == nil {
		t.Fatalf("CONNECT %s: %d %s", target, res.StatusCode, body)
	}
	return c
}

// assertLimitReached checks a 503 limit_reached refusal.
func assertLimitReached(t *testing.T, res *http.Response, body []byte, cred, msgHas string) {
	t.Helper()
	if res.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503: %s", res.StatusCode, body)
	}
	if ps := res.Header.Get("Proxy-Status"); !strings.Contains(ps, "error=connection_limit_reached") {
		t.Errorf("Proxy-Status %q", ps)
	}
	b := refusalOf(t, body)
	if b.Error != "limit_reached" || b.NamedCredential != cred || !strings.Contains(b.Message, msgHas) {
		t.Errorf("body %+v, want limit_reached for %q mentioning %q", b, cred, msgHas)
	}
}

// TestLimitTunnels: global and per-credential caps on open tunnels; a
// closed tunnel frees its slot; counts survive a reload.
func TestLimitTunnels(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: real listeners")
	}
	e := newEnv(t)
	plain := fmt.Sprintf("plain.partner.example:%d", e.plain.port)
	slow := fmt.Sprintf("slow.partner.example:%d", e.slow.port)
	waitFree := func(target string) net.Conn {
		t.Helper()
		var c net.Conn
		eventually(t, "a freed tunnel slot", func() bool {
			c, _, _ = e.tryTunnel(t, target)
			return c != nil
		})
		return c
	}

	t.Run("global", func(t *testing.T) {
		e.setAccess(nil, access.Limits{MaxTunnels: 2})
		first := e.openTunnel(t, plain)
		second := e.openTunnel(t, slow)
		_, res, body := e.tryTunnel(t, plain)
		assertLimitReached(t, res, body, "Plain", "open tunnels")
		if !res.Close {
			t.Error("a refused CONNECT must close the connection")
		}
		// Requests are counted apart from tunnels.
		if res, body := e.roundTrip("GET http://" + plain + "/base/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"); res.StatusCode != 200 {
			t.Errorf("a request while the tunnels are full: %d %s", res.StatusCode, body)
		}
		first.Close()
		third := waitFree(plain)
		second.Close()
		third.Close()
		e.waitNothingHeld(t) // closes are seen by callgate a moment later
	})
	t.Run("per credential", func(t *testing.T) {
		e.setAccess(nil, access.Limits{MaxTunnelsPerCredential: 1})
		held := waitFree(plain)
		_, res, body := e.tryTunnel(t, plain)
		assertLimitReached(t, res, body, "Plain", "named credential Plain")
		other := e.openTunnel(t, slow) // another credential has its own count
		held.Close()
		again := waitFree(plain)
		other.Close()
		again.Close()
		e.waitNothingHeld(t)
	})
	t.Run("counts survive a reload", func(t *testing.T) {
		e.setAccess(nil, access.Limits{})
		held := e.openTunnel(t, plain) // counted although nothing is capped
		e.setAccess(nil, access.Limits{MaxTunnels: 1})
		_, res, body := e.tryTunnel(t, slow)
		assertLimitReached(t, res, body, "Slow", "open tunnels")
		e.setAccess(nil, access.Limits{MaxTunnelsPerCredential: 1})
		_, res, body = e.tryTunnel(t, plain)
		assertLimitReached(t, res, body, "Plain", "named credential Plain")
		e.setAccess(nil, access.Limits{MaxTunnels: 2})
		e.openTunnel(t, slow).Close()
		held.Close()
	})
	if counterValue(t, e.reg, "callgate_refusals_total", map[string]string{"named_credential": "Plain", "reason": "limit_reached"}) < 2 {
		t.Error("limit_reached refusals not counted for Plain")
	}
	e.waitNothingHeld(t)
}

// holdRequest starts a POST whose body stays open, waits until the
// endpoint has seen its first bytes (so callgate holds its slot), and
// returns a func that finishes it.
func (e *env) holdRequest(t *testing.T, c *http.Client, url string, up *upstream) (finish func()) {
	t.Helper()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, url, pr)
		res, err := c.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != 200 {
				err = fmt.Errorf("held request: status %d", res.StatusCode)
			}
		}
		done <- err
	}()
	if _, err := pw.Write([]byte("first bytes")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-up.upload:
	case err := <-done:
		t.Fatalf("held request ended early: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("the endpoint never saw the held request")
	}
	return func() {
		pw.Close()
		select {
		case err := <-done:
			if err != nil {
				t.Error(err)
			}
		case <-time.After(5 * time.Second):
			t.Error("held request did not finish")
		}
	}
}

// TestLimitRequests: global and per-credential caps on requests in
// flight, for the absolute and callout forms.
func TestLimitRequests(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: real listeners")
	}
	e := newEnv(t)
	plainAbs := fmt.Sprintf("http://plain.partner.example:%d/base/upload", e.plain.port)
	get := func(target string) (*http.Response, []byte) {
		return e.roundTrip("GET " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	}
	waitOK := func(target string) {
		t.Helper()
		eventually(t, "a freed request slot", func() bool {
			res, _ := get(target)
			return res.StatusCode == 200
		})
	}

	t.Run("global", func(t *testing.T) {
		e.setAccess(nil, access.Limits{MaxRequests: 1})
		finish := e.holdRequest(t, e.proxyClient(), plainAbs, e.plain)
		res, body := get("/callout/Slow/x")
		assertLimitReached(t, res, body, "Slow", "open requests")
		// Tunnels are counted apart from requests.
		e.openTunnel(t, fmt.Sprintf("slow.partner.example:%d", e.slow.port)).Close()
		finish()
		waitOK("/callout/Slow/x")
		// A handler releases its slots after the client has read the
		// last byte; the next subtest must start with none held.
		e.waitNothingHeld(t)
	})
	t.Run("per credential", func(t *testing.T) {
		e.setAccess(nil, access.Limits{MaxRequestsPerCredential: 1})
		finish := e.holdRequest(t, e.directClient(), "http://"+e.addr+"/callout/Plain/upload", e.plain)
		res, body := get(fmt.Sprintf("http://plain.partner.example:%d/base/x", e.plain.port))
		assertLimitReached(t, res, body, "Plain", "named credential Plain")
		if res, body := get("/callout/Slow/x"); res.StatusCode != 200 {
			t.Errorf("another credential: %d %s", res.StatusCode, body)
		}
		finish()
		waitOK("/callout/Plain/x")
	})
	e.waitNothingHeld(t)
}

// waitNothingHeld waits until no request or tunnel holds a limit slot,
// globally or for any named credential.
func (e *env) waitNothingHeld(t *testing.T) {
	t.Helper()
	eventually(t, "no request or tunnel counted", func() bool {
		if req, tun := e.srv.lim.Open(); req != 0 || tun != 0 {
			return false
		}
		st := e.srv.state.Load()
		for i := range st.dests {
			if req, tun := st.dests[i].held.Open(); req != 0 || tun != 0 {
				return false
			}
		}
		return true
	})
}

// TestLimitClientRate: per-client token buckets answer 429 with
// Retry-After; each client (or source address) has its own.
func TestLimitClientRate(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: real listeners")
	}
	e := newEnv(t)
	plain := fmt.Sprintf("plain.partner.example:%d", e.plain.port)
	// One token per 10 s: the test never waits long enough to earn one.
	slowRate := access.Limits{ClientRate: access.Rate{PerSecond: 0.1, Burst: 2}}
	get := func(target, auth string) (*http.Response, []byte) {
		h := ""
		if auth != "" {
			h = "Proxy-Authorization: " + auth + "\r\n"
		}
		return e.roundTrip("GET " + target + " HTTP/1.1\r\nHost: x\r\n" + h + "Connection: close\r\n\r\n")
	}
	assertRateLimited := func(t *testing.T, res *http.Response, body []byte) {
		t.Helper()
		if res.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("status %d, want 429: %s", res.StatusCode, body)
		}
		ra, err := strconv.Atoi(res.Header.Get("Retry-After"))
		if err != nil || ra < 1 || ra > 10 {
			t.Errorf("Retry-After %q, want 1..10 seconds", res.Header.Get("Retry-After"))
		}
		if ps := res.Header.Get("Proxy-Status"); !strings.Contains(ps, "error=http_request_denied") {
			t.Errorf("Proxy-Status %q", ps)
		}
		if b := refusalOf(t, body); b.Error != "rate_limited" || b.NamedCredential != "Plain" {
			t.Errorf("body %+v", b)
		}
	}

	t.Run("by source address", func(t *testing.T) {
		e.setAccess(nil, slowRate)
		for i := 0; i < 2; i++ {
			if res, body := get("http://"+plain+"/base/x", ""); res.StatusCode != 200 {
				t.Fatalf("request %d within the burst: %d %s", i, res.StatusCode, body)
			}
		}
		res, body := get("/callout/Plain/x", "")
		assertRateLimited(t, res, body)
		// A CONNECT takes from the same bucket.
		_, res, body = e.tryTunnel(t, plain)
		assertRateLimited(t, res, body)
	})
	t.Run("by client", func(t *testing.T) {
		e.setAccess(testClients(t, access.ProxyAuth{Required: true}), slowRate)
		for i := 0; i < 2; i++ {
			if res, body := get("http://"+plain+"/base/x", "Bearer "+testclient.BearerToken); res.StatusCode != 200 {
				t.Fatalf("request %d within the burst: %d %s", i, res.StatusCode, body)
			}
		}
		res, body := get("http://"+plain+"/base/x", "Bearer "+testclient.BearerToken)
		assertRateLimited(t, res, body)
		// Another client from the same address has its own bucket.
		if res, body := get("http://"+plain+"/base/x", testclient.BasicAuth(testclient.PlainUser, testclient.PlainPass)); res.StatusCode != 200 {
			t.Errorf("another client: %d %s", res.StatusCode, body)
		}
		// A reload that changes the rate starts the buckets over.
		e.setAccess(testClients(t, access.ProxyAuth{Required: true}), access.Limits{ClientRate: access.Rate{PerSecond: 0.1, Burst: 3}})
		if res, body := get("http://"+plain+"/base/x", "Bearer "+testclient.BearerToken); res.StatusCode != 200 {
			t.Errorf("after the rate changed: %d %s", res.StatusCode, body)
		}
	})
	if counterValue(t, e.reg, "callgate_refusals_total", map[string]string{"named_credential": "Plain", "reason": "rate_limited"}) < 3 {
		t.Error("rate_limited refusals not counted")
	}
	e.assertLogsClean(t)
}

// TestLimitIdleClientConn: an idle keep-alive client connection is closed
// after timeouts.idle_conn (slowloris and huge headers: TestHostileRequests).
func TestLimitIdleClientConn(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: real listeners")
	}
	e := newEnv(t, func(o *Options) { o.Timeouts.IdleConn = 300 * time.Millisecond })
	c, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "GET http://plain.partner.example:%d/base/x HTTP/1.1\r\nHost: x\r\n\r\n", e.plain.port)
	br := bufio.NewReader(c)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	start := time.Now()
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("idle keep-alive connection: %v after %v, want EOF", err, time.Since(start))
	}
}

// TestLimitHeaderSizeDefault: with Options.MaxHeaderBytes unset the 64 KiB
// default is in force.
func TestLimitHeaderSizeDefault(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: real listeners")
	}
	e := newEnv(t)
	target := fmt.Sprintf("http://plain.partner.example:%d/base/x", e.plain.port)
	for _, tc := range []struct {
		size   int
		status int
	}{{32 << 10, 200}, {DefaultMaxHeaderBytes + 8<<10, 431}} {
		res, _ := e.roundTrip("GET " + target + " HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", tc.size) + "\r\nConnection: close\r\n\r\n")
		if res.StatusCode != tc.status {
			t.Errorf("%d-byte header: %d, want %d", tc.size, res.StatusCode, tc.status)
		}
	}
}
