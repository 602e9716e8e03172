package tlslisten

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/callgate/callgate/internal/certgen"
)

// pebbleVersion is the ACME test server the test builds from the Go module
// proxy when no `pebble` binary is on PATH.
const pebbleVersion = "github.com/letsencrypt/pebble/v2/cmd/pebble@v2.10.3"

func pebbleBinary(t *testing.T) string {
	if p, err := exec.LookPath("pebble"); err == nil {
		return p
	}
	gobin := filepath.Join(os.TempDir(), "callgate-pebble-bin")
	bin := filepath.Join(gobin, "pebble")
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	cmd := exec.Command("go", "install", pebbleVersion)
	cmd.Env = append(os.Environ(), "GOBIN="+gobin, "GOFLAGS=-mod=mod")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building pebble: %v\n%s", err, out)
	}
	return bin
}

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startPebble runs Pebble on loopback ports with validation always passing
// and returns its directory URL, the CA that signs its own HTTPS listener,
// and its management URL.
func startPebble(t *testing.T) (dirURL, mgmtURL string, ca *certgen.CA) {
	bin := pebbleBinary(t)
	dir := t.TempDir()
	ca, err := certgen.NewCA("pebble listener CA")
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := ca.Server("127.0.0.1", "localhost")
	certFile, keyFile, err := leaf.WriteFiles(dir, "pebble-")
	if err != nil {
		t.Fatal(err)
	}
	port, mgmt := freePort(t), freePort(t)
	cfg := map[string]any{"pebble": map[string]any{
		"listenAddress":                  fmt.Sprintf("127.0.0.1:%d", port),
		"managementListenAddress":        fmt.Sprintf("127.0.0.1:%d", mgmt),
		"certificate":                    certFile,
		"privateKey":                     keyFile,
		"httpPort":                       freePort(t),
		"tlsPort":                        freePort(t),
		"ocspResponderURL":               "",
		"externalAccountBindingRequired": false,
		"keyAlgorithm":                   "ecdsa",
		"profiles":                       map[string]any{"default": map[string]any{"description": "test", "validityPeriod": 86400}},
	}}
	b, _ := json.Marshal(cfg)
	cfgFile := filepath.Join(dir, "pebble.json")
	if err := os.WriteFile(cfgFile, b, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-config", cfgFile, "-strict=false")
	cmd.Env = append(os.Environ(), "PEBBLE_VA_ALWAYS_VALID=1", "PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0", "PEBBLE_AUTHZREUSE=100")
	logFile, _ := os.Create(filepath.Join(dir, "pebble.log"))
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
		logFile.Close()
		if t.Failed() {
			out, _ := os.ReadFile(logFile.Name())
			t.Logf("pebble log:\n%s", out)
		}
	})
	dirURL = fmt.Sprintf("https://127.0.0.1:%d/dir", port)
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}}}
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := client.Get(dirURL)
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pebble did not come up: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return dirURL, fmt.Sprintf("https://127.0.0.1:%d", mgmt), ca
}

func TestACMEAgainstPebble(t *testing.T) {
	if testing.Short() {
		t.Skip("ACME end to end: builds and runs Pebble")
	}
	dirURL, mgmtURL, listenerCA := startPebble(t)
	dir := t.TempDir()
	caRoot := filepath.Join(dir, "pebble-listener-ca.pem")
	if err := os.WriteFile(caRoot, listenerCA.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	const domain = "proxy.callgate.test"
	p, err := New(ctx, Options{ACME: &ACME{
		CA: dirURL, Email: "ops@callgate.test", Domains: []string{domain}, CARootFile: caRoot,
		StorageDir: filepath.Join(dir, "storage"), ListenHost: "127.0.0.1",
		HTTPPort: freePort(t), TLSALPNPort: freePort(t),
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	addr := serve(t, p)

	// The root that signs the certificates Pebble issues.
	mgmt := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: listenerCA.Pool()}}}
	resp, err := mgmt.Get(mgmtURL + "/roots/0")
	if err != nil {
		t.Fatal(err)
	}
	rootPEM, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(rootPEM) {
		t.Fatalf("pebble root: %q", rootPEM)
	}
	conn, err := tls.Dial("tcp", addr, &tls.Config{ServerName: domain, RootCAs: roots})
	if err != nil {
		t.Fatalf("a client trusting Pebble's root cannot connect: %v", err)
	}
	leaf := conn.ConnectionState().PeerCertificates[0]
	conn.Close()
	if leaf.Subject.CommonName != domain && !contains(leaf.DNSNames, domain) {
		t.Fatalf("certificate names %v, want %s", leaf.DNSNames, domain)
	}

	// And the real curl binary, as an HTTPS_PROXY client would.
	rootFile := filepath.Join(dir, "pebble-root.pem")
	_ = os.WriteFile(rootFile, rootPEM, 0o644)
	_, port, _ := net.SplitHostPort(addr)
	out, err := exec.Command("curl", "-sS", "--max-time", "10", "--cacert", rootFile,
		"--resolve", domain+":"+port+":127.0.0.1", "https://"+domain+":"+port+"/").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "ok" {
		t.Fatalf("curl: %v: %s", err, out)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
