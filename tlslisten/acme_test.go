package tlslisten

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/callgate/callgate/internal/pebbletest"
)

func TestACMEAgainstPebble(t *testing.T) {
	if testing.Short() {
		t.Skip("ACME end to end: builds and runs Pebble")
	}
	dirURL, mgmtURL, listenerCA := pebbletest.Start(t)
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
		HTTPPort: pebbletest.FreePort(t), TLSALPNPort: pebbletest.FreePort(t),
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
