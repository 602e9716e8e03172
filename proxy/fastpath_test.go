package proxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/callgate/callgate/routing"
)

// TestFastPathPools: bodiless absolute-form requests take the fast path
// (no Transport is made), reuse one pooled upstream connection, and a
// reload empties the retired state's pool.
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
	if st.dest(d).transport.Load() != nil {
		t.Error("a Transport was made for bodiless requests: the fast path was not taken")
	}
	p := st.dest(d).fast.Load()
	if p == nil {
		t.Fatal("no fast pool")
	}
	// The proxy returns the connection to the pool just after the client
	// has its last byte, so give it a moment.
	idleConns := func() int {
		p.mu.Lock()
		defer p.mu.Unlock()
		return len(p.free)
	}
	idle := idleConns()
	for deadline := time.Now().Add(2 * time.Second); idle != 1 && time.Now().Before(deadline); idle = idleConns() {
		time.Sleep(5 * time.Millisecond)
	}
	if idle != 1 {
		t.Errorf("fast pool holds %d idle connections, want 1", idle)
	}
	// A request with a body keeps the Transport.
	res, err := c.Post(fmt.Sprintf("http://plain.partner.example:%d/base/post", e.plain.port), "text/plain", http.NoBody)
	if err == nil {
		res.Body.Close()
	}
	req, _ := http.NewRequest(http.MethodPut, fmt.Sprintf("http://plain.partner.example:%d/base/put", e.plain.port), nil)
	if res, err = c.Do(req); err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if st.dest(d).transport.Load() == nil {
		t.Error("PUT did not use the Transport")
	}

	e.setCreds(e.creds)
	if idle = idleConns(); idle != 0 {
		t.Errorf("retired state's fast pool holds %d connections after reload, want 0", idle)
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

// TestFastPoolExpire: idle connections are closed after the idle timeout,
// and a full pool closes what it cannot keep.
func TestFastPoolExpire(t *testing.T) {
	p := &fastPool{idle: 50 * time.Millisecond}
	var retired atomic.Bool
	a, b := net.Pipe()
	defer b.Close()
	p.put(newFastConn(a, "x:80"), &retired)
	if got := p.get("y:80"); got != nil {
		t.Fatal("got a connection for another address")
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		p.mu.Lock()
		n := len(p.free)
		p.mu.Unlock()
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("idle connection not expired")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := a.Write([]byte("x")); err == nil {
		t.Error("expired connection still open")
	}
	retired.Store(true)
	c, d := net.Pipe()
	defer d.Close()
	p.put(newFastConn(c, "x:80"), &retired)
	if p.get("x:80") != nil {
		t.Error("a retired state pooled a connection")
	}
}
