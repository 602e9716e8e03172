package main

import (
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/callgate/callgate/internal/pebbletest"
)

// TestACMEProxyListener: callgate obtains its proxy listener's certificate
// from an ACME server (Pebble) at start, and curl uses it as an HTTPS proxy
// (HTTPS_PROXY=https://…) trusting only Pebble's root.
func TestACMEProxyListener(t *testing.T) {
	if testing.Short() {
		t.Skip("ACME end to end: builds and runs Pebble")
	}
	pebble := pebbletest.Start(t)
	dir := t.TempDir()
	const domain = "proxy.callgate.test"
	upstream := startUpstream(t).addr
	_, port := mustSplit(t, upstream)
	cfg := opsConfig(upstream, "acme", "") + fmt.Sprintf(`tls:
  listeners: [proxy]
  acme:
    ca: %s
    email: ops@callgate.test
    domains: [%s]
    ca_root_file: %s
    storage_dir: %s
    listen_host: 127.0.0.1
    http_port: %d
    tls_alpn_port: %d
`, pebble.DirURL, domain, pebble.ListenerCAFile, filepath.Join(dir, "acme"), pebbletest.FreePort(t), pebbletest.FreePort(t))
	s, _ := opsStart(t, tempConfig(t, cfg), zap.NewNop(), false)

	rootFile := pebble.IssuingRootFile(t)
	_, proxyPort, _ := net.SplitHostPort(s.ProxyAddr())
	out, err := exec.Command("curl", "-sS", "--max-time", "10",
		"--proxy", "https://"+domain+":"+proxyPort, "--proxy-cacert", rootFile,
		"--resolve", domain+":"+proxyPort+":127.0.0.1",
		"http://orders.internal:"+port+"/through-tls-proxy").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "ok /through-tls-proxy" {
		t.Fatalf("curl through the ACME-certified proxy listener: %v: %s", err, out)
	}
	// A client that does not trust Pebble's root is refused at the handshake.
	if out, err := exec.Command("curl", "-sS", "--max-time", "10",
		"--proxy", "https://"+domain+":"+proxyPort, "--resolve", domain+":"+proxyPort+":127.0.0.1",
		"http://orders.internal:"+port+"/").CombinedOutput(); err == nil {
		t.Fatalf("curl without Pebble's root succeeded: %s", out)
	}
}
