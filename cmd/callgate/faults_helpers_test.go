package main

// Helpers for the fault and soak tests (issue 6, items 4 and 5): config
// builders, a start that does not wait for traffic, raw CONNECT, admin API
// calls, log counting and the process figures (goroutines, fds, heap) a
// leak check compares. Their origin, which misbehaves on request, is
// startUpstream's (upstream_helpers_test.go).

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/callgate/callgate/connstate"
	"github.com/callgate/callgate/internal/testwait"
)

const (
	// fltService is the simulated endpoint service of the fault tests.
	fltService = "com.amazonaws.vpce.us-east-1.vpce-svc-0aaaaaaaaaaaaaaa1"
	// fltHost is the named credential's host; it is never resolved (the
	// proxy dials the endpoint's DNS name, never the URL's host).
	fltHost = "orders.internal"
	// fltWait bounds every wait of these tests.
	fltWait = 30 * time.Second
)

// fltSim describes a simulated-mode config with one connection "orders"
// and one http named credential "Orders" on fltHost.
type fltSim struct {
	service     string // where the simulated endpoints lead (host:port)
	port        string // the named credential's port
	acceptance  string // "" (auto) or "manual"
	provision   bool
	description string
	top         string // more top-level YAML (timeouts, resolve, …)
	creds       string // more named_credentials items
}

func (c fltSim) String() string {
	acceptance := c.acceptance
	if acceptance == "" {
		acceptance = "auto"
	}
	return fmt.Sprintf(`listen: {proxy: 127.0.0.1:0, admin: 127.0.0.1:0}
warmup: 0s
sync: {interval: 1s}
shutdown: {drain: 2s}
aws:
  mode: simulated
  simulated:
    acceptance: %s
    delays: {allocating: 0s, pending_acceptance: 0s, pending: 0s, deleting: 0s}
    services:
      %s: %s
%soutbound_connections:
  - name: orders
    description: %q
    service_name: %s
    provision: %v
named_credentials:
  - name: Orders
    url: http://%s:%s
    outbound_network_connection: orders
%s`, acceptance, fltService, c.service, c.top, c.description, fltService, c.provision, fltHost, c.port, c.creds)
}

// fltAWS describes an aws-mode config (against moto or a front before it)
// with one connection "orders" and one http named credential "Orders".
type fltAWS struct {
	endpointURL, vpc, subnet, sg string
	service                      string
	resolve                      string // a "*.suffix" to map to 127.0.0.1; "" for none
	port                         string // the named credential's port
}

func (c fltAWS) String() string {
	resolve := ""
	if c.resolve != "" {
		resolve = fmt.Sprintf("resolve:\n  %q: 127.0.0.1\n", c.resolve)
	}
	return fmt.Sprintf(`listen: {proxy: 127.0.0.1:0, admin: 127.0.0.1:0}
warmup: 0s
sync: {interval: 1s}
shutdown: {drain: 2s}
aws:
  mode: aws
  region: us-east-1
  endpoint_url: %s
  vpc_id: %s
  subnet_ids: [%s]
  security_group_ids: [%s]
%soutbound_connections:
  - name: orders
    description: fault test
    service_name: %s
    provision: true
named_credentials:
  - name: Orders
    url: http://%s:%s
    outbound_network_connection: orders
`, c.endpointURL, c.vpc, c.subnet, c.sg, resolve, c.service, fltHost, c.port)
}

// fltStart starts an in-process callgate on a fresh registry without
// waiting for its connection; it is shut down in t.Cleanup.
func fltStart(t *testing.T, cfg string, log *zap.Logger) (*server, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	s, err := startServer(context.Background(), tempConfig(t, cfg), log, serverOptions{reg: reg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	return s, reg
}

// fltWaitAllowed waits until connection "orders" carries traffic.
func fltWaitAllowed(t *testing.T, s *server) {
	t.Helper()
	testwait.UntilExplained(t, fltWait, "connection orders carries traffic", func() (bool, string) {
		v, _ := s.app.manager.Get("orders")
		return s.app.manager.Admit("orders").Allowed(), fmt.Sprintf("%+v", v)
	})
}

// fltProxyClient is a Go HTTP client that sends every request through the
// proxy listener, with a bound on the whole exchange.
func fltProxyClient(t *testing.T, proxyAddr string) *http.Client {
	c := &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{
		Proxy: http.ProxyURL(mustURL(t, "http://"+proxyAddr)),
	}}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// fltGet sends GET url and reads the whole body; err is the transport's
// or the body read's error (a truncated body shows up there).
func fltGet(c *http.Client, url string) (*http.Response, string, error) {
	resp, err := c.Get(url)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp, string(b), err
}

// fltConnect sends CONNECT target on a new connection and reads the
// answer. On a 200 the tunnel is returned open (conn and its reader); on a
// refusal conn is closed and body holds the refusal.
func fltConnect(proxyAddr, target string) (resp *http.Response, body string, conn net.Conn, br *bufio.Reader, err error) {
	c, err := net.DialTimeout("tcp", proxyAddr, 5*time.Second)
	if err != nil {
		return nil, "", nil, nil, err
	}
	_ = c.SetDeadline(time.Now().Add(15 * time.Second))
	if _, err := fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", target, target); err != nil {
		c.Close()
		return nil, "", nil, nil, err
	}
	br = bufio.NewReader(c)
	resp, err = http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil {
		c.Close()
		return nil, "", nil, nil, err
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		c.Close()
		return resp, string(b), nil, nil, nil
	}
	_ = c.SetDeadline(time.Time{})
	return resp, "", c, br, nil
}

// fltTunnelGet sends one GET inside an open tunnel and returns the body of
// a 200, or an error.
func fltTunnelGet(c net.Conn, br *bufio.Reader, path string) (string, error) {
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	defer c.SetDeadline(time.Time{})
	if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", path, fltHost); err != nil {
		return "", err
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return "", err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return string(b), fmt.Errorf("tunnel answer %d %q", resp.StatusCode, b)
	}
	return string(b), nil
}

// fltRefusalCode returns the `error` code of a refusal body ("" if the
// body is not one).
func fltRefusalCode(body string) string {
	var r e2eRefusal
	if json.Unmarshal([]byte(body), &r) != nil {
		return ""
	}
	return r.Error
}

var fltAdminHTTP = &http.Client{Timeout: 30 * time.Second}

// fltAdmin POSTs to an admin API path and returns the status and body.
func fltAdmin(adminAddr, path string) (int, string, error) {
	resp, err := fltAdminHTTP.Post("http://"+adminAddr+path, "application/json", nil)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(b), nil
}

// fltViews is GET /v1/connections.
func fltViews(adminAddr string) ([]connstate.View, error) {
	resp, err := fltAdminHTTP.Get("http://" + adminAddr + "/v1/connections")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var vs []connstate.View
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /v1/connections: %s", resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&vs); err != nil {
		return nil, fmt.Errorf("GET /v1/connections: %w", err)
	}
	return vs, nil
}

// fltView is connection name's row of GET /v1/connections.
func fltView(adminAddr, name string) (connstate.View, error) {
	vs, err := fltViews(adminAddr)
	if err != nil {
		return connstate.View{}, err
	}
	for _, v := range vs {
		if v.Name == name {
			return v, nil
		}
	}
	return connstate.View{}, fmt.Errorf("no connection %q in GET /v1/connections", name)
}

// fltSummaries returns the proxy's summary lines ("request") whose fields
// include every one of want.
func fltSummaries(logs *observer.ObservedLogs, want map[string]any) []observer.LoggedEntry {
	var out []observer.LoggedEntry
	for _, e := range logs.FilterMessage("request").All() {
		m := e.ContextMap()
		ok := true
		for k, v := range want {
			if fmt.Sprint(m[k]) != fmt.Sprint(v) {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, e)
		}
	}
	return out
}

// fltFigures are the process figures a leak check compares.
type fltFigures struct {
	goroutines int
	fds        int
	heap       uint64 // bytes live after a GC
}

func (f fltFigures) String() string {
	return fmt.Sprintf("goroutines %d, fds %d, heap %.1f MiB", f.goroutines, f.fds, float64(f.heap)/(1<<20))
}

// fltMeasure collects the figures after a GC.
func fltMeasure(t *testing.T) fltFigures {
	t.Helper()
	runtime.GC()
	runtime.GC() // the second frees what the first's finalizers released
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatalf("count open fds: %v", err)
	}
	return fltFigures{goroutines: runtime.NumGoroutine(), fds: len(ents), heap: ms.HeapAlloc}
}

// fltIsTimeout reports whether err is a deadline running out.
func fltIsTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
