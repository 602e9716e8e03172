package tlslisten

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
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
	pebble := pebbletest.Start(t)
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	const domain = "proxy.callgate.test"
	p, err := New(ctx, Options{ACME: &ACME{
		CA: pebble.DirURL, Email: "ops@callgate.test", Domains: []string{domain}, CARootFile: pebble.ListenerCAFile,
		StorageDir: filepath.Join(dir, "storage"), ListenHost: "127.0.0.1",
		HTTPPort: pebbletest.FreePort(t), TLSALPNPort: pebbletest.FreePort(t),
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	addr := serve(t, p)

	// The root that signs the certificates Pebble issues.
	rootPEM := pebble.IssuingRoot(t)
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
	rootFile := pebble.IssuingRootFile(t)
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
