package proxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/callgate/callgate/proxy/h1"
	"github.com/callgate/callgate/routing"
)

// TestFastPathPools: bodiless absolute-form requests take the fast
// engine's transport, reuse one pooled upstream connection, and a reload
// empties the retired state's pool.
func TestFastPathPools(t *testing.T) {
	needFastEngine(t)
	if testing.Short() {
		t.Skip("integration: real listeners")
	}
	e := newEnv(t)
	c := e.proxyClient()
	before := e.plain.conns.Load()
	for i, m := range []string{http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodDelete, http.MethodGet} {
		req, _ := http.NewRequest(m, fmt.Sprintf("http://plain.partner.example:%d/base/%d", e.plain.port, i), nil)
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("%s: %d", m, res.StatusCode)
		}
	}
	if n := e.plain.conns.Load() - before; n != 1 {
		t.Errorf("upstream accepted %d connections for 5 sequential requests, want 1", n)
	}
	st := e.srv.state.Load()
	d := st.snap.Routes.ByName("Plain")
	fast, ok := (*st.dest(d).upstream.Load()).(*h1.Transport)
	if !ok {
		t.Fatal("engine fast did not give the credential an h1.Transport")
	}
	// The proxy returns the connection to the pool just after the client
	// has its last byte, so give it a moment.
	eventually(t, "the connection to be pooled by the fast engine", func() bool { return fast.IdleConns() == 1 })
	// A request with a body goes to the http.Transport, on a connection
	// of its own.
	req, _ := http.NewRequest(http.MethodPut, fmt.Sprintf("http://plain.partner.example:%d/base/put", e.plain.port), strings.NewReader("x"))
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if n := e.plain.conns.Load() - before; n != 2 {
		t.Errorf("upstream accepted %d connections after a PUT, want 2 (one per transport)", n)
	}
	if n := fast.IdleConns(); n != 1 {
		t.Errorf("fast pool holds %d connections after the PUT, want 1", n)
	}

	e.setCreds(e.creds)
	if n := fast.IdleConns(); n != 0 {
		t.Errorf("retired state's fast pool holds %d connections after reload, want 0", n)
	}
}

// TestFastPathStaleRetry: an endpoint that closes each connection after
// one keep-alive response (silently, or after an unsolicited 408) leaves a
// stale connection in the pool; the next request fails on it and is
// retried on a fresh dial.
func TestFastPathStaleRetry(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: real listeners")
	}
	for _, tc := range []struct{ name, bye string }{
		{"eof", ""},
		{"408", "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { ln.Close() })
			var accepted atomic.Int64
			go func() {
				for range 16 {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					accepted.Add(1)
					_ = c.SetDeadline(time.Now().Add(5 * time.Second))
					if _, err := http.ReadRequest(bufio.NewReader(c)); err == nil {
						_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
					}
					// Closed as if by the endpoint's keep-alive timeout.
					time.Sleep(20 * time.Millisecond)
					_, _ = io.WriteString(c, tc.bye)
					c.Close()
				}
			}()
			port := ln.Addr().(*net.TCPAddr).Port
			e := newEnv(t)
			e.setCreds(append(e.creds, routing.Credential{Name: "Flaky", URL: fmt.Sprintf("http://flaky.partner.example:%d", port), Connection: "plain"}))
			c := e.proxyClient()
			for i := range 3 {
				res, err := c.Get(fmt.Sprintf("http://flaky.partner.example:%d/%d", port, i))
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode != 200 || string(b) != "ok" {
					t.Fatalf("request %d: %d %q, want 200 ok (stale pooled connection not retried)", i, res.StatusCode, b)
				}
				time.Sleep(50 * time.Millisecond) // let the endpoint close it
			}
			if n := accepted.Load(); n != 3 {
				t.Errorf("endpoint accepted %d connections, want 3", n)
			}
		})
	}
}
