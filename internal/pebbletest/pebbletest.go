// Package pebbletest runs Pebble, Let's Encrypt's ACME test server, on
// loopback ports for tests: validation always passes, so no challenge
// traffic leaves the machine.
package pebbletest

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/callgate/callgate/internal/certgen"
)

// pebbleVersion is the ACME test server the test builds from the Go module
// proxy when no `pebble` binary is on PATH.
const pebbleVersion = "github.com/letsencrypt/pebble/v2/cmd/pebble@v2.10.3"

func pebbleBinary(t testing.TB) string {
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

// FreePort returns a loopback port that was free a moment ago.
func FreePort(t testing.TB) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Server is a running Pebble.
type Server struct {
	DirURL  string // ACME directory URL
	MgmtURL string // management API (roots, intermediates)
	// ListenerCA signs Pebble's own HTTPS listener; ListenerCAFile holds
	// it as PEM, for an ACME client's ca_root_file.
	ListenerCA     *certgen.CA
	ListenerCAFile string
}

// Start runs Pebble on loopback ports with validation always passing;
// t.Cleanup stops it.
func Start(t testing.TB) *Server {
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
	port, mgmt := FreePort(t), FreePort(t)
	cfg := map[string]any{"pebble": map[string]any{
		"listenAddress":                  fmt.Sprintf("127.0.0.1:%d", port),
		"managementListenAddress":        fmt.Sprintf("127.0.0.1:%d", mgmt),
		"certificate":                    certFile,
		"privateKey":                     keyFile,
		"httpPort":                       FreePort(t),
		"tlsPort":                        FreePort(t),
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
	dirURL := fmt.Sprintf("https://127.0.0.1:%d/dir", port)
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
	caFile := filepath.Join(dir, "pebble-listener-ca.pem")
	if err := os.WriteFile(caFile, ca.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	return &Server{DirURL: dirURL, MgmtURL: fmt.Sprintf("https://127.0.0.1:%d", mgmt), ListenerCA: ca, ListenerCAFile: caFile}
}

// IssuingRoot returns the PEM root that signs the certificates Pebble
// issues (it changes with every Pebble start).
func (s *Server) IssuingRoot(t testing.TB) []byte {
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: s.ListenerCA.Pool()}}}
	resp, err := client.Get(s.MgmtURL + "/roots/0")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	pem, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return pem
}

// IssuingRootFile writes IssuingRoot to a file (for curl's --cacert) and
// returns its path.
func (s *Server) IssuingRootFile(t testing.TB) string {
	path := filepath.Join(t.TempDir(), "pebble-root.pem")
	if err := os.WriteFile(path, s.IssuingRoot(t), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
