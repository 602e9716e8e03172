package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/callgate/callgate/internal/testwait"
)

// openTunnel CONNECTs through the proxy to target and returns the tunnel
// with its reader.
func openTunnel(t *testing.T, proxyAddr, target string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.DialTimeout("tcp", proxyAddr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", target, target)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("CONNECT %s: %v %v", target, resp, err)
	}
	return c, br
}

// roundTrip sends one request inside a tunnel and checks the answer.
func roundTrip(c net.Conn, br *bufio.Reader, path string) error {
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: orders.internal\r\n\r\n", path); err != nil {
		return err
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	if resp.StatusCode != 200 || string(body) != "ok "+path {
		return fmt.Errorf("tunnel answer %d %q", resp.StatusCode, body)
	}
	return nil
}

// TestReloadsUnderLoad: 1,000 reloads, valid and invalid in turn, while
// requests and tunnels run: no request fails, no tunnel is cut, and the
// reload counters are exact.
func TestReloadsUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("1,000 reloads under load")
	}
	upstream := startUpstream(t).addr
	_, port, _ := net.SplitHostPort(upstream)
	extra := `  - name: Inventory
    url: http://inventory.internal:` + port + `
    outbound_network_connection: orders
`
	valid := []string{opsConfig(upstream, "variant a", ""), opsConfig(upstream, "variant b", extra)}
	invalid := []string{
		opsConfig(upstream, "typo", "") + "warmpu: 5s\n",
		strings.Replace(opsConfig(upstream, "bad url", ""), "http://orders.internal", "ftp://orders.internal", 1),
		renameConnection(opsConfig(upstream, "renamed", ""), "orders2"), // removes a provisioned connection
	}
	path := tempConfig(t, valid[0])
	s, reg := opsStart(t, path, zap.NewNop(), false)
	proxyURL, _ := url.Parse("http://" + s.ProxyAddr())
	target := "orders.internal:" + port

	// Tunnels opened before the reloads must survive them all.
	type tunnel struct {
		c  net.Conn
		br *bufio.Reader
	}
	var tunnels []tunnel
	for i := 0; i < 4; i++ {
		c, br := openTunnel(t, s.ProxyAddr(), target)
		defer c.Close()
		tunnels = append(tunnels, tunnel{c, br})
	}

	ctx, stop := context.WithCancel(context.Background())
	var sent, failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: http.ProxyURL(proxyURL)}}
			defer client.CloseIdleConnections()
			for i := 0; i < 100000 && ctx.Err() == nil; i++ {
				resp, err := client.Get("http://" + target + "/load")
				sent.Add(1)
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
				}
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				}
			}
		}()
	}

	const reloads = 1000
	var okReloads, badReloads int
	for i := 0; i < reloads; i++ {
		content := valid[(i/2)%2]
		wantOK := i%2 == 0
		if !wantOK {
			content = invalid[(i/2)%len(invalid)]
		}
		writeFile(t, path, content)
		err := s.app.reloader.Reload(context.Background())
		if wantOK != (err == nil) {
			stop()
			wg.Wait()
			t.Fatalf("reload %d: want ok=%v, got %v", i, wantOK, err)
		}
		if wantOK {
			okReloads++
		} else {
			badReloads++
		}
		if i%100 == 0 {
			for j, tn := range tunnels {
				if err := roundTrip(tn.c, tn.br, fmt.Sprintf("/tunnel-%d-%d", j, i)); err != nil {
					t.Fatalf("tunnel %d cut after reload %d: %v", j, i, err)
				}
			}
		}
	}
	stop()
	wg.Wait()

	if n := failed.Load(); n != 0 {
		t.Fatalf("%d of %d requests failed during reloads; first: %v", n, sent.Load(), firstErr.Load())
	}
	if sent.Load() < 100 {
		t.Fatalf("only %d requests ran during the reloads", sent.Load())
	}
	for j, tn := range tunnels {
		if err := roundTrip(tn.c, tn.br, fmt.Sprintf("/tunnel-%d-end", j)); err != nil {
			t.Fatalf("tunnel %d cut by the reloads: %v", j, err)
		}
	}
	if got := metricSum(t, reg, "callgate_config_reloads_total", map[string]string{"result": "success"}); got != float64(okReloads+1) {
		t.Errorf("config_reloads_total{success} = %v, want %d (start + %d reloads)", got, okReloads+1, okReloads)
	}
	if got := metricSum(t, reg, "callgate_config_reloads_total", map[string]string{"result": "failure"}); got != float64(badReloads) {
		t.Errorf("config_reloads_total{failure} = %v, want %d", got, badReloads)
	}
	// Counted when each handler ends, which may trail the client's last byte.
	testwait.UntilExplained(t, fltWait, "requests_total{Orders,absolute,200} to count every request sent", func() (bool, string) {
		got := metricSum(t, reg, "callgate_requests_total", map[string]string{"named_credential": "Orders", "form": "absolute", "code": "200"})
		return got == float64(sent.Load()), fmt.Sprintf("%v, want %d", got, sent.Load())
	})
	t.Logf("%d reloads (%d ok, %d refused) under %d requests and %d tunnels: 0 failures", reloads, okReloads, badReloads, sent.Load(), len(tunnels))
}

// TestReloadRefusals: each reload the running state cannot take is refused
// with a message that says why, and changes nothing.
func TestReloadRefusals(t *testing.T) {
	upstream := startUpstream(t).addr
	base := opsConfig(upstream, "base", "")
	path := tempConfig(t, base)
	core, logs := observer.New(zap.WarnLevel)
	s, _ := opsStart(t, path, zap.New(core), false)

	cases := []struct {
		name, content string
		want          []string
	}{
		{"remove provisioned connection", renameConnection(base, "payments"),
			[]string{`connection "orders" is Ready`, "tear it down"}},
		{"change service_name", strings.Replace(base, "service_name: com.amazonaws.vpce.us-east-1.vpce-svc-0aaaaaaaaaaaaaaa1\n",
			"service_name: com.amazonaws.vpce.us-east-1.vpce-svc-0bbbbbbbbbbbbbbb2\n", 1),
			[]string{"service_name", "tear"}},
		{"change region", strings.Replace(base, "    provision: true\n", "    provision: true\n    region: eu-west-1\n", 1),
			[]string{"region", "tear"}},
		{"adopt an endpoint id", strings.Replace(base, "    provision: true\n", "    provision: true\n    vpc_endpoint_id: vpce-0123456789abcdef0\n", 1),
			[]string{"vpc_endpoint_id", "tear"}},
		{"unknown key", base + "warmpu: 1s\n", []string{"callgate.yaml:", "warmpu"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			writeFile(t, path, tc.content)
			err := s.app.reloader.Reload(context.Background())
			if err == nil {
				t.Fatal("reload accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if !s.app.manager.Admit("orders").Allowed() || s.app.proxy.Snapshot().Routes.ByName("Orders") == nil {
				t.Fatal("a refused reload changed the running state")
			}
		})
	}

	// A listen address change applies the rest and reports the restart it needs.
	writeFile(t, path, strings.Replace(base, "proxy: 127.0.0.1:0", "proxy: 127.0.0.1:1", 1))
	if err := s.app.reloader.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if logs.FilterMessageSnippet("needs a restart").FilterField(zap.String("key", "listen.proxy")).Len() != 1 {
		t.Fatalf("listen.proxy change not reported as needing a restart; logs: %v", logs.All())
	}
	// POST /-/reload says so too, and keeps saying so on later reloads
	// until a restart applies it.
	writeFile(t, path, strings.Replace(strings.Replace(base, "proxy: 127.0.0.1:0", "proxy: 127.0.0.1:1", 1), `"base"`, `"later"`, 1))
	resp, err := http.Post("http://"+s.AdminAddr()+"/-/reload", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"restart_required"`) || !strings.Contains(string(body), `"listen.proxy"`) {
		t.Fatalf("POST /-/reload: %d %s, want restart_required with listen.proxy", resp.StatusCode, body)
	}
}

// TestConfigMapSymlinkSwapReloadsOnce: Kubernetes updates a mounted
// ConfigMap by swapping the ..data symlink; that is one reload.
func TestConfigMapSymlinkSwapReloadsOnce(t *testing.T) {
	upstream := startUpstream(t).addr
	dir := t.TempDir()
	mkVersion := func(name, content string) {
		if err := os.Mkdir(filepath.Join(dir, name), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, name, "callgate.yaml"), content)
	}
	mkVersion("..2026_11_27_01", opsConfig(upstream, "first", ""))
	if err := os.Symlink("..2026_11_27_01", filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "callgate.yaml")
	if err := os.Symlink("..data/callgate.yaml", path); err != nil {
		t.Fatal(err)
	}
	_, reg := opsStart(t, path, zap.NewNop(), true)
	successes := func() float64 {
		return metricSum(t, reg, "callgate_config_reloads_total", map[string]string{"result": "success"})
	}
	if got := successes(); got != 1 {
		t.Fatalf("successes at start = %v", got)
	}

	// The kubelet's atomic writer: new version dir, temp symlink, rename over ..data, remove old.
	mkVersion("..2026_11_27_02", opsConfig(upstream, "second", ""))
	if err := os.Symlink("..2026_11_27_02", filepath.Join(dir, "..data_tmp")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(dir, "..2026_11_27_01")); err != nil {
		t.Fatal(err)
	}
	testwait.Until(t, 10*time.Second, "the symlink swap to trigger a reload", func() bool { return successes() >= 2 })
	time.Sleep(4 * watchDebounce) // any second reload would land by now
	if got := successes(); got != 2 {
		t.Fatalf("successful reloads = %v, want exactly 2 (start + one for the swap)", got)
	}
	if got := metricSum(t, reg, "callgate_config_reloads_total", map[string]string{"result": "failure"}); got != 0 {
		t.Fatalf("failed reloads = %v", got)
	}
}

// renameConnection renames the connection "orders" and its reference: to
// the running state that removes a provisioned connection.
func renameConnection(cfg, name string) string {
	cfg = strings.Replace(cfg, "name: orders\n", "name: "+name+"\n", 1)
	return strings.Replace(cfg, "outbound_network_connection: orders\n", "outbound_network_connection: "+name+"\n", 1)
}

// TestReloadChangesWarmupLive: warmup applies on reload, measured from the
// connection's ready-since moment.
func TestReloadChangesWarmupLive(t *testing.T) {
	upstream := startUpstream(t).addr
	base := opsConfig(upstream, "warm", "")
	path := tempConfig(t, base)
	s, _ := opsStart(t, path, zap.NewNop(), false)
	_, port := mustSplit(t, upstream)
	client := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(mustURL(t, "http://"+s.ProxyAddr()))}}
	get := func() (int, string) {
		resp, err := client.Get("http://orders.internal:" + port + "/w")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Retry-After")
	}
	if code, _ := get(); code != 200 {
		t.Fatalf("warm at start: %d", code)
	}
	writeFile(t, path, strings.Replace(base, "warmup: 0s", "warmup: 1h", 1))
	if err := s.app.reloader.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if code, retry := get(); code != 503 || retry == "" {
		t.Fatalf("after warmup: 1h: %d Retry-After %q, want 503 warming_up", code, retry)
	}
	writeFile(t, path, base)
	if err := s.app.reloader.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if code, _ := get(); code != 200 {
		t.Fatalf("after warmup: 0s again: %d", code)
	}
}
