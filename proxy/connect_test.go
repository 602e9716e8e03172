package proxy

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/callgate/callgate/connstate"
	"github.com/callgate/callgate/routing"
)

// earlyConn sends the CONNECT request in the same write as the client's
// first bytes (a client that does not wait for the 200), optionally
// splits its writes into tiny segments, and strips the 200 from the reads.
type earlyConn struct {
	net.Conn
	t       testing.TB
	connect string
	chunk   int // >0: write in pieces of this size
	sent    bool
	br      *bufio.Reader
	status  string
}

func (c *earlyConn) Write(p []byte) (int, error) {
	data := p
	if !c.sent {
		c.sent = true
		data = append([]byte(c.connect), p...)
	}
	if c.chunk > 0 {
		for len(data) > 0 {
			n := min(c.chunk, len(data))
			if _, err := c.Conn.Write(data[:n]); err != nil {
				return 0, err
			}
			data = data[n:]
			time.Sleep(time.Millisecond) // separate TCP segments
		}
		return len(p), nil
	}
	if _, err := c.Conn.Write(data); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (c *earlyConn) Read(p []byte) (int, error) {
	if c.br == nil {
		c.br = bufio.NewReader(c.Conn)
		line, err := c.br.ReadString('\n')
		if err != nil {
			return 0, fmt.Errorf("reading CONNECT reply: %w", err)
		}
		c.status = strings.TrimSpace(line)
		for {
			l, err := c.br.ReadString('\n')
			if err != nil {
				return 0, err
			}
			if l == "\r\n" {
				break
			}
		}
		if !strings.HasPrefix(c.status, "HTTP/1.1 200") {
			return 0, fmt.Errorf("CONNECT reply %q", c.status)
		}
	}
	return c.br.Read(p)
}

// dialTunnel opens a TCP connection to the proxy wrapped as an earlyConn.
func (e *env) dialTunnel(target string, chunk int) *earlyConn {
	e.t.Helper()
	c, err := net.DialTimeout("tcp", e.addr, 2*time.Second)
	if err != nil {
		e.t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	e.t.Cleanup(func() { c.Close() })
	return &earlyConn{Conn: c, t: e.t, chunk: chunk,
		connect: fmt.Sprintf("CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", target, target)}
}

// httpsGet performs a GET over TLS on conn, verifying serverName.
func (e *env) httpsGet(conn net.Conn, serverName, path string) (*http.Response, error) {
	tc := tls.Client(conn, &tls.Config{RootCAs: e.ca.Pool(), ServerName: serverName})
	if err := tc.Handshake(); err != nil {
		return nil, err
	}
	if _, err := fmt.Fprintf(tc, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", path, serverName); err != nil {
		return nil, err
	}
	return http.ReadResponse(bufio.NewReader(tc), nil)
}

func TestTunnelClientHello(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: real listeners")
	}
	e := newEnv(t)
	target := fmt.Sprintf("%s:%d", partnerHost, e.good.port)
	refusals := func(reason string) float64 {
		return counterValue(t, e.reg, "callgate_refusals_total", map[string]string{"named_credential": "Partner", "reason": reason})
	}

	t.Run("hello sent with the CONNECT is not lost", func(t *testing.T) {
		res, err := e.httpsGet(e.dialTunnel(target, 0), partnerHost, "/v1/early")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("status %d", res.StatusCode)
		}
	})

	t.Run("hello split over many segments", func(t *testing.T) {
		res, err := e.httpsGet(e.dialTunnel(target, 7), partnerHost, "/v1/split")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("status %d", res.StatusCode)
		}
	})

	t.Run("plain bytes sent with the CONNECT reach an http credential", func(t *testing.T) {
		plain := fmt.Sprintf("plain.partner.example:%d", e.plain.port)
		c := e.dialTunnel(plain, 0)
		if _, err := fmt.Fprintf(c, "GET /base/early HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", plain); err != nil {
			t.Fatal(err)
		}
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		if s := decodeSeen(t, string(body)); s.Path != "/base/early" {
			t.Errorf("upstream saw %+v", s)
		}
	})

	t.Run("hello naming another host closes the tunnel", func(t *testing.T) {
		before := refusals("sni_mismatch")
		_, err := e.httpsGet(e.dialTunnel(target, 0), "evil.example", "/v1/x")
		if err == nil {
			t.Fatal("handshake through a mismatched tunnel succeeded")
		}
		eventually(t, "sni_mismatch counted", func() bool { return refusals("sni_mismatch") == before+1 })
	})

	t.Run("not TLS closes the tunnel", func(t *testing.T) {
		before := refusals("not_tls")
		c := e.dialTunnel(target, 0)
		if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadAll(c); err != nil && !errors.Is(err, io.EOF) && !isReset(err) {
			t.Fatalf("read: %v", err)
		}
		eventually(t, "not_tls counted", func() bool { return refusals("not_tls") == before+1 })
	})

	t.Run("hello without SNI is allowed", func(t *testing.T) {
		c := e.dialTunnel(target, 0)
		// No ServerName: Go sends no SNI; verify against the host anyway.
		tc := tls.Client(c, &tls.Config{RootCAs: e.ca.Pool(), InsecureSkipVerify: true,
			VerifyConnection: func(cs tls.ConnectionState) error {
				return cs.PeerCertificates[0].VerifyHostname(partnerHost)
			}})
		if err := tc.Handshake(); err != nil {
			t.Fatal(err)
		}
		tc.Close()
	})
}

func isReset(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "connection reset") || strings.Contains(err.Error(), "broken pipe"))
}

// TestTunnelCut: a tunnel ends when its connection leaves Ready, when a
// reload removes its named credential, and when it is idle; a tunnel whose
// credential survives the reload keeps working.
func TestTunnelCut(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: real listeners")
	}
	e := newEnv(t, func(o *Options) { o.Timeouts.IdleTunnel = 10 * time.Second })
	plain := fmt.Sprintf("plain.partner.example:%d", e.plain.port)
	partner := fmt.Sprintf("%s:%d", partnerHost, e.good.port)
	open := func(target string) *earlyConn {
		c := e.dialTunnel(target, 0)
		if _, err := c.Write(nil); err != nil { // sends the CONNECT
			t.Fatal(err)
		}
		return c
	}
	// A kept-alive HTTP request through a plain tunnel proves it is open.
	alive := func(c *earlyConn) error {
		if _, err := fmt.Fprintf(c, "GET /base/ping HTTP/1.1\r\nHost: %s\r\n\r\n", plain); err != nil {
			return err
		}
		if c.br == nil {
			if _, err := c.Read(nil); err != nil {
				return err
			}
		}
		res, err := http.ReadResponse(c.br, nil)
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, res.Body)
		return err
	}
	waitClosed := func(t *testing.T, c *earlyConn) {
		t.Helper()
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err := c.br.ReadByte()
		if err == nil || isTimeout(err) {
			t.Fatalf("tunnel still open: %v (flows %d)", err, e.srv.flows.count())
		}
	}
	gauge := func(name string) float64 {
		return counterValue(t, e.reg, "callgate_tunnels_active", map[string]string{"named_credential": name})
	}

	t.Run("connection leaves Ready", func(t *testing.T) {
		c := open(plain)
		if err := alive(c); err != nil {
			t.Fatal(err)
		}
		eventually(t, "tunnel gauge 1", func() bool { return gauge("Plain") == 1 })
		defer e.gate.set("plain", connstate.Ready, plainEP, 0)
		e.gate.set("plain", connstate.DeletedRemotely, "", 0)
		waitClosed(t, c)
		eventually(t, "tunnel gauge 0", func() bool { return gauge("Plain") == 0 })
		res, _ := e.roundTrip(fmt.Sprintf("CONNECT %s HTTP/1.1\r\nHost: x\r\n\r\n", plain))
		if res.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("new CONNECT: %d, want 503", res.StatusCode)
		}
	})

	t.Run("reload removes the credential", func(t *testing.T) {
		cPlain := open(plain)
		if err := alive(cPlain); err != nil {
			t.Fatal(err)
		}
		cPartner := open(partner)
		tc := tls.Client(cPartner, &tls.Config{RootCAs: e.ca.Pool(), ServerName: partnerHost})
		if err := tc.Handshake(); err != nil {
			t.Fatal(err)
		}
		var kept []routing.Credential
		for _, c := range e.creds {
			if c.Name != "Plain" {
				kept = append(kept, c)
			}
		}
		e.setCreds(kept)
		defer e.setCreds(e.creds)
		waitClosed(t, cPlain)
		// The surviving credential's tunnel still carries traffic.
		if _, err := fmt.Fprintf(tc, "GET /v1/after HTTP/1.1\r\nHost: %s\r\n\r\n", partnerHost); err != nil {
			t.Fatal(err)
		}
		res, err := http.ReadResponse(bufio.NewReader(tc), nil)
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("tunnel of a kept credential: %v", err)
		}
		res.Body.Close()
		tc.Close()
	})

	t.Run("idle", func(t *testing.T) {
		e2 := newEnv(t, func(o *Options) { o.Timeouts.IdleTunnel = 300 * time.Millisecond })
		c := e2.dialTunnel(fmt.Sprintf("plain.partner.example:%d", e2.plain.port), 0)
		if _, err := c.Write(nil); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Read(nil); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		waitClosed(t, c)
		if time.Since(start) > 4*time.Second {
			t.Errorf("idle tunnel closed after %v", time.Since(start))
		}
	})
}
