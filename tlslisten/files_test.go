package tlslisten

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/callgate/callgate/internal/certgen"
)

// serve starts an HTTPS server on loopback with the provider's config.
func serve(t *testing.T, p *Provider) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })}
	go func() { _ = srv.Serve(tls.NewListener(ln, p.TLSConfig())) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// servedSerial handshakes (with the given SNI, "" for none) and returns the
// serial of the certificate the server presented.
func servedSerial(t *testing.T, addr, sni string, ca *certgen.CA) string {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{ServerName: sni, RootCAs: ca.Pool(), InsecureSkipVerify: sni == ""})
	if err != nil {
		t.Fatalf("handshake with %s (sni %q): %v", addr, sni, err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber.String()
}

func TestFilesRotatedWithoutRestart(t *testing.T) {
	dir := t.TempDir()
	ca, err := certgen.NewCA("test CA")
	if err != nil {
		t.Fatal(err)
	}
	first, _ := ca.Server("proxy.callgate.test", "127.0.0.1")
	certFile, keyFile, err := first.WriteFiles(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(context.Background(), Options{CertFile: certFile, KeyFile: keyFile})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	addr := serve(t, p)
	want1 := first.TLS.Leaf.SerialNumber.String()
	if got := servedSerial(t, addr, "proxy.callgate.test", ca); got != want1 {
		t.Fatalf("served serial %s, want %s", got, want1)
	}
	if got := servedSerial(t, addr, "", ca); got != want1 {
		t.Fatalf("without SNI: served serial %s, want %s", got, want1)
	}

	// Rotate the way cert-manager and editors do: write aside, then rename.
	second, _ := ca.Server("proxy.callgate.test", "127.0.0.1")
	tmp := t.TempDir()
	c2, k2, _ := second.WriteFiles(tmp, "")
	if err := os.Rename(k2, keyFile); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(c2, certFile); err != nil {
		t.Fatal(err)
	}
	want2 := second.TLS.Leaf.SerialNumber.String()
	deadline := time.Now().Add(10 * time.Second)
	for servedSerial(t, addr, "proxy.callgate.test", ca) != want2 {
		if time.Now().After(deadline) {
			t.Fatal("rotated certificate not served within 10s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := servedSerial(t, addr, "", ca); got != want2 {
		t.Fatalf("without SNI after rotation: served %s, want %s", got, want2)
	}

	// A broken rotation keeps the last good certificate.
	if err := os.WriteFile(filepath.Join(dir, "cert.pem"), []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * reloadDebounce)
	if got := servedSerial(t, addr, "proxy.callgate.test", ca); got != want2 {
		t.Fatalf("after a broken rotation: served %s, want the previous %s", got, want2)
	}
}

func TestOptionsErrors(t *testing.T) {
	for name, opts := range map[string]Options{
		"nothing":       {},
		"cert only":     {CertFile: "/nonexistent/cert.pem"},
		"both":          {CertFile: "a", KeyFile: "b", ACME: &ACME{Domains: []string{"x"}}},
		"missing files": {CertFile: "/nonexistent/cert.pem", KeyFile: "/nonexistent/key.pem"},
		"acme no names": {ACME: &ACME{}},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := New(context.Background(), opts); err == nil {
				t.Fatal("want an error")
			}
		})
	}
}
