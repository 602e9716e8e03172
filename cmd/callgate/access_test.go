package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	"golang.org/x/crypto/bcrypt"
)

// TestClientAccessFromConfig: clients, proxy_auth and limits from the
// config file reach the proxy, and a reload changes them live without
// cutting an open tunnel.
func TestClientAccessFromConfig(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: in-process callgate")
	}
	const (
		shopPass   = "pw-shop-e2e-5d1e"
		batchToken = "tok-batch-e2e-0123456789abcdef"
	)
	secrets := []string{shopPass, batchToken, base64.StdEncoding.EncodeToString([]byte("shop:" + shopPass))}
	hash, err := bcrypt.GenerateFromPassword([]byte(shopPass), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	upstream := startUpstream(t).addr
	_, port, _ := net.SplitHostPort(upstream)
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "batch-token")
	writeFile(t, tokenFile, batchToken+"\n")
	render := func(shopPermit string, maxTunnels int) string {
		return opsConfig(upstream, "access", fmt.Sprintf(`  - name: Inventory
    url: http://inventory.internal:%s
    outbound_network_connection: orders
proxy_auth: {required: true}
clients:
  - name: shop
    basic: {username: shop, password_hash: %q}
    permit: [%s]
  - name: batch
    token_file: %s
    permit: [Orders, Inventory]
limits:
  max_tunnels: %d
`, port, hash, shopPermit, tokenFile, maxTunnels))
	}
	path := filepath.Join(dir, "callgate.yaml")
	writeFile(t, path, render("Orders", 1))
	core, logs := observer.New(zap.DebugLevel)
	s, reg := opsStart(t, path, zap.New(core), false)

	get := func(user *url.Userinfo, host, auth string) (int, string, http.Header) {
		t.Helper()
		pu := &url.URL{Scheme: "http", Host: s.ProxyAddr(), User: user}
		tr := &http.Transport{Proxy: http.ProxyURL(pu)}
		defer tr.CloseIdleConnections()
		req, _ := http.NewRequest(http.MethodGet, "http://"+host+":"+port+"/x", nil)
		if auth != "" {
			req.Header.Set("Proxy-Authorization", auth)
		}
		res, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		var refusal struct{ Error string }
		if res.StatusCode != 200 {
			_ = json.Unmarshal(body, &refusal)
			return res.StatusCode, refusal.Error, res.Header
		}
		return 200, string(body), res.Header
	}
	shop := url.UserPassword("shop", shopPass)
	connect := func(auth string) (net.Conn, *bufio.Reader, int) {
		t.Helper()
		c, err := net.DialTimeout("tcp", s.ProxyAddr(), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		target := "orders.internal:" + port
		fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\nProxy-Authorization: %s\r\n\r\n", target, target, auth)
		br := bufio.NewReader(c)
		res, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
		if err != nil {
			c.Close()
			t.Fatal(err)
		}
		if res.StatusCode != 200 {
			c.Close()
			return nil, nil, res.StatusCode
		}
		t.Cleanup(func() { c.Close() })
		return c, br, 200
	}

	if st, body, _ := get(shop, "orders.internal", ""); st != 200 || body != "ok /x" {
		t.Errorf("shop → Orders: %d %q", st, body)
	}
	if st, code, _ := get(shop, "inventory.internal", ""); st != 403 || code != "not_permitted" {
		t.Errorf("shop → Inventory: %d %s, want 403 not_permitted", st, code)
	}
	if st, code, h := get(nil, "orders.internal", ""); st != 407 || code != "proxy_auth_required" || !strings.Contains(h.Get("Proxy-Authenticate"), `realm="callgate"`) {
		t.Errorf("no credentials: %d %s %q, want 407 with a challenge", st, code, h.Get("Proxy-Authenticate"))
	}
	if st, _, _ := get(nil, "inventory.internal", "Bearer "+batchToken); st != 200 {
		t.Errorf("batch → Inventory: %d", st)
	}
	held, heldBR, st := connect("Bearer " + batchToken)
	if st != 200 {
		t.Fatalf("first tunnel: %d", st)
	}
	if _, _, st := connect("Bearer " + batchToken); st != 503 {
		t.Errorf("second tunnel with max_tunnels 1: %d, want 503", st)
	}

	// Reload: shop may use Inventory too, and two tunnels may be open.
	writeFile(t, path, render("Orders, Inventory", 2))
	if err := s.app.reloader.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st, _, _ := get(shop, "inventory.internal", ""); st != 200 {
		t.Errorf("after reload, shop → Inventory: %d", st)
	}
	if _, _, st := connect(accessBasicAuth("shop", shopPass)); st != 200 {
		t.Errorf("after reload, second tunnel: %d", st)
	}
	if err := roundTrip(held, heldBR, "/still-open"); err != nil {
		t.Errorf("the tunnel opened before the reload: %v", err)
	}
	// A reload naming an unknown named credential changes nothing.
	writeFile(t, path, render("Orders, Nowhere", 1))
	if err := s.app.reloader.Reload(context.Background()); err == nil || !strings.Contains(err.Error(), `"Nowhere"`) {
		t.Errorf("bad permit: reload error %v", err)
	}
	if st, _, _ := get(shop, "inventory.internal", ""); st != 200 {
		t.Errorf("after a refused reload, shop → Inventory: %d", st)
	}

	if n := logs.FilterMessageSnippet("needs a restart").Len(); n != 0 {
		t.Errorf("%d restart warnings for settings that reload live", n)
	}
	if metricSum(t, reg, "callgate_refusals_total", map[string]string{"reason": "not_permitted"}) < 1 ||
		metricSum(t, reg, "callgate_refusals_total", map[string]string{"reason": "limit_reached"}) < 1 ||
		metricSum(t, reg, "callgate_refusals_total", map[string]string{"reason": "proxy_auth_required"}) < 1 {
		t.Error("refusals not counted by reason")
	}
	for _, le := range logs.All() {
		line := fmt.Sprintf("%s %v", le.Message, le.ContextMap())
		for _, sec := range secrets {
			if strings.Contains(line, sec) {
				t.Errorf("log line %q holds a secret", le.Message)
			}
		}
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				for _, sec := range secrets {
					if strings.Contains(l.GetValue(), sec) {
						t.Errorf("metric %s holds a secret", f.GetName())
					}
				}
			}
		}
	}
}

func accessBasicAuth(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}
