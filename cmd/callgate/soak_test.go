package main

// The soak test (issue 6, item 5): bounded mixed load on the simulated
// backend with reloads and status flips, then a check that goroutines,
// open fds and the heap came back down once the load drained, and that no
// request failed for a reason the flips do not explain.

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime/pprof"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/callgate/callgate/connstate"
	"github.com/callgate/callgate/internal/testwait"
)

const (
	// fltSoakEnv overrides the soak's length (a Go duration).
	fltSoakEnv = "CALLGATE_SOAK_DURATION"
	// Slack allowed between the figures before the load and after it drained.
	fltSoakGoroutineSlack = 10
	fltSoakFDSlack        = 10
	fltSoakHeapSlack      = 8 << 20
	// fltSoakFlipEvery is the pace of the status flips; fltSoakReloadEvery
	// of the reloads.
	fltSoakFlipEvery   = 5 * time.Second
	fltSoakReloadEvery = 500 * time.Millisecond
	// fltSoakLongTunnels are kept open (and reopened after a flip cut them).
	fltSoakLongTunnels = 3
)

// TestSoakMixedLoadReloadsAndFlips runs, for CALLGATE_SOAK_DURATION
// (default 60s): absolute-form requests on keep-alive connections, callout
// requests, short CONNECT tunnels and a few long ones, at a bounded rate
// from a few goroutines; a reload every 500ms alternating two valid
// configs; and every ~5s a status flip through the admin API (the endpoint
// deleted remotely, then torn down, provisioned and accepted again). Every
// failure must be explained by a flip (a 503 connection_not_ready or
// warming_up, or a request or tunnel cut while one ran); and once the
// load drained, goroutines, fds and heap must be back near where they were.
func TestSoakMixedLoadReloadsAndFlips(t *testing.T) {
	if testing.Short() {
		t.Skip("soak test")
	}
	dur := 60 * time.Second
	if v := os.Getenv(fltSoakEnv); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			t.Fatalf("%s=%q: want a positive Go duration", fltSoakEnv, v)
		}
		dur = d
	}

	o := startUpstream(t)
	base := fltSim{service: o.addr, port: o.port, acceptance: "manual", top: "timeouts: {idle_conn: 2s}\n"}
	cfgA, cfgB := base, base
	cfgA.description, cfgB.description = "soak a", "soak b"
	cfgB.creds = fmt.Sprintf("  - name: Inventory\n    url: http://inventory.internal:%s\n    outbound_network_connection: orders\n", o.port)
	configs := [2]string{cfgA.String(), cfgB.String()}
	path := tempConfig(t, configs[0])
	reg := prometheus.NewRegistry()
	s, err := startServer(context.Background(), path, zap.NewNop(), serverOptions{reg: reg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })

	sk := newFltSoak(t, s, o.port)
	if err := sk.toReady(fltWait); err != nil {
		t.Fatalf("bring-up: %v", err)
	}

	// Warm up every path once (a flip and a reload included), so lazily
	// made things (metric series, pools) are in the baseline.
	sk.runLoad(3*time.Second, path, configs, true)
	if n := sk.stats.unexpectedN; n != 0 {
		t.Fatalf("%d unexpected failures during the warm-up: %v", n, sk.stats.unexpected)
	}
	sk.drain()
	// Pooled idle connections close after timeouts.idle_conn (2s).
	time.Sleep(3 * time.Second)
	before := fltMeasure(t)
	sk.stats = newFltSoakStats()

	start := time.Now()
	flips, reloads := sk.runLoad(dur, path, configs, false)
	loadTime := time.Since(start)
	sk.drain()

	// Bounded wait for everything the load opened to close: back to the
	// baseline exactly, or the bound (the slack is for what is still
	// closing when the bound ends).
	settle := time.Now()
	testwait.Poll(20*time.Second, func() bool {
		f := fltMeasure(t)
		return f.goroutines <= before.goroutines && f.fds <= before.fds
	})
	after := fltMeasure(t)

	st := sk.stats
	t.Logf("soak: %v of load, %d status flips, %d reloads", loadTime.Round(time.Millisecond), flips, reloads)
	t.Logf("succeeded: %s", fltCounts(st.ok))
	t.Logf("expected failures during flips: %s", fltCounts(st.expected))
	t.Logf("before: %v", before)
	t.Logf("after:  %v (settled in %v)", after, time.Since(settle).Round(time.Millisecond))
	t.Logf("growth: goroutines %+d, fds %+d, heap %+.2f MiB", after.goroutines-before.goroutines,
		after.fds-before.fds, (float64(after.heap)-float64(before.heap))/(1<<20))

	if st.unexpectedN != 0 {
		t.Errorf("%d unexpected failures; first ones:\n  %s", st.unexpectedN, strings.Join(st.unexpected, "\n  "))
	}
	for _, kind := range []string{"absolute", "callout", "short tunnel", "long tunnel"} {
		if st.ok[kind] < 10 {
			t.Errorf("only %d %s operations succeeded: the load did not run", st.ok[kind], kind)
		}
	}
	if wantFlips := int(dur / (2 * fltSoakFlipEvery)); flips < wantFlips {
		t.Errorf("%d status flips in %v, want at least %d", flips, dur, wantFlips)
	}
	if reloads < int(dur/(4*fltSoakReloadEvery)) {
		t.Errorf("only %d reloads in %v", reloads, dur)
	}
	if n := metricSum(t, reg, "callgate_tunnels_active", nil); n != 0 {
		t.Errorf("tunnels_active = %v after the load drained", n)
	}
	leak := false
	if after.goroutines > before.goroutines+fltSoakGoroutineSlack {
		t.Errorf("goroutines grew from %d to %d (slack %d)", before.goroutines, after.goroutines, fltSoakGoroutineSlack)
		leak = true
	}
	if after.fds > before.fds+fltSoakFDSlack {
		t.Errorf("open fds grew from %d to %d (slack %d)", before.fds, after.fds, fltSoakFDSlack)
		leak = true
	}
	if after.heap > before.heap+fltSoakHeapSlack {
		t.Errorf("heap grew from %.1f to %.1f MiB (slack %d MiB)", float64(before.heap)/(1<<20), float64(after.heap)/(1<<20), fltSoakHeapSlack>>20)
	}
	if leak {
		var b bytes.Buffer
		_ = pprof.Lookup("goroutine").WriteTo(&b, 1)
		if b.Len() > 64<<10 {
			b.Truncate(64 << 10)
		}
		t.Logf("goroutines now:\n%s", b.String())
	}
}

// fltSoak drives the load of the soak test.
type fltSoak struct {
	t         *testing.T
	s         *server
	proxyAddr string
	admin     string
	absURL    string
	calloutTo string
	target    string // CONNECT authority

	abs, callout *http.Client

	// epoch counts flip edges: odd while a flip runs. An operation that
	// saw an odd epoch, or a different one at its end, overlapped a flip.
	epoch atomic.Uint64
	// dialGate keeps new requests out while a flip has the endpoint
	// deleted but callgate has not yet noticed: in simulated mode the
	// dialer no longer knows the vanished endpoint's name and would fall
	// back to a real DNS lookup of it (…vpce.amazonaws.com), which these
	// tests must never send. Operations hold it for reading.
	dialGate sync.RWMutex

	stats *fltSoakStats
}

// fltSoakStats classifies every operation's result.
type fltSoakStats struct {
	mu          sync.Mutex
	ok          map[string]int
	expected    map[string]int
	unexpected  []string // the first 20
	unexpectedN int
}

func newFltSoakStats() *fltSoakStats {
	return &fltSoakStats{ok: map[string]int{}, expected: map[string]int{}}
}

func newFltSoak(t *testing.T, s *server, port string) *fltSoak {
	sk := &fltSoak{
		t:         t,
		s:         s,
		proxyAddr: s.ProxyAddr(),
		admin:     s.AdminAddr(),
		absURL:    fmt.Sprintf("http://%s:%s", fltHost, port),
		calloutTo: "http://" + s.ProxyAddr() + "/callout/Orders",
		target:    fltHost + ":" + port,
		stats:     newFltSoakStats(),
	}
	sk.newClients()
	return sk
}

func (sk *fltSoak) newClients() {
	sk.abs = &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{
		Proxy: http.ProxyURL(mustURL(sk.t, "http://"+sk.proxyAddr)), MaxIdleConnsPerHost: 4,
	}}
	sk.callout = &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
}

// drain closes every client connection the load kept and makes fresh
// clients for the next run.
func (sk *fltSoak) drain() {
	sk.abs.CloseIdleConnections()
	sk.callout.CloseIdleConnections()
	fltAdminHTTP.CloseIdleConnections()
	sk.newClients()
}

// record classifies one operation: success, a failure a flip explains, or
// an unexpected one.
func (sk *fltSoak) record(kind string, e0 uint64, resp *http.Response, body string, err error, want string) {
	e1 := sk.epoch.Load()
	st := sk.stats
	st.mu.Lock()
	defer st.mu.Unlock()
	if err == nil && resp != nil && resp.StatusCode == http.StatusOK && body == want {
		st.ok[kind]++
		return
	}
	flip := e0%2 == 1 || e1 != e0
	code := ""
	if resp != nil && resp.StatusCode == http.StatusServiceUnavailable {
		code = fltRefusalCode(body)
	}
	switch {
	case flip && (code == "connection_not_ready" || code == "warming_up"):
		st.expected[kind+" refused "+code]++
	case flip && err != nil:
		st.expected[kind+" cut"]++
	default:
		st.unexpectedN++
		if len(st.unexpected) < 20 {
			status := "no response"
			if resp != nil {
				status = resp.Status
			}
			st.unexpected = append(st.unexpected, fmt.Sprintf("%s (flip %v): %s %q: %v", kind, flip, status, fltTrim(body), err))
		}
	}
}

func (sk *fltSoak) unexpected(what string, err error) {
	st := sk.stats
	st.mu.Lock()
	defer st.mu.Unlock()
	st.unexpectedN++
	if len(st.unexpected) < 20 {
		st.unexpected = append(st.unexpected, fmt.Sprintf("%s: %v", what, err))
	}
}

// runLoad runs the load for d with reloads and flips, and returns the
// numbers of flips and reloads done. warm runs one flip at once.
func (sk *fltSoak) runLoad(d time.Duration, path string, configs [2]string, warm bool) (flips, reloads int) {
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var wg sync.WaitGroup
	every := func(pause time.Duration, op func(i int)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 1_000_000 && ctx.Err() == nil; i++ {
				op(i)
				time.Sleep(pause)
			}
		}()
	}
	for w := 0; w < 2; w++ {
		every(5*time.Millisecond, func(i int) { sk.absolute(fmt.Sprintf("/abs/%d/%d", w, i)) })
	}
	every(5*time.Millisecond, func(i int) { sk.calloutOp(fmt.Sprintf("/co/%d", i)) })
	every(10*time.Millisecond, func(i int) { sk.shortTunnel(fmt.Sprintf("/short/%d", i)) })
	wg.Add(1)
	go func() {
		defer wg.Done()
		sk.longTunnels(ctx)
	}()
	var reloadCount atomic.Int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 1; i < 1_000_000 && ctx.Err() == nil; i++ {
			if err := fltSwapFile(path, configs[i%2]); err != nil {
				sk.unexpected("write config", err)
			} else if code, body, err := fltAdmin(sk.admin, "/-/reload"); err != nil || code != http.StatusOK {
				sk.unexpected("reload", fmt.Errorf("%d %s %v", code, fltTrim(body), err))
			} else {
				reloadCount.Add(1)
			}
			select {
			case <-ctx.Done():
			case <-time.After(fltSoakReloadEvery):
			}
		}
	}()

	deadline := time.Now().Add(d)
	next := time.Now().Add(fltSoakFlipEvery)
	if warm {
		next = time.Now()
	}
	for i := 0; i < 100_000 && time.Now().Before(deadline); i++ {
		if !time.Now().Before(next) && !(warm && flips > 0) {
			began := time.Now()
			if err := sk.flip(); err != nil {
				sk.unexpected("status flip", err)
				break // the connection may not come back; stop here
			}
			flips++
			next = began.Add(fltSoakFlipEvery)
			if floor := time.Now().Add(2 * time.Second); next.Before(floor) {
				next = floor // some Ready time between flips
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	wg.Wait()
	return flips, int(reloadCount.Load())
}

func (sk *fltSoak) absolute(path string) {
	sk.dialGate.RLock()
	defer sk.dialGate.RUnlock()
	e0 := sk.epoch.Load()
	resp, body, err := fltGet(sk.abs, sk.absURL+path)
	sk.record("absolute", e0, resp, body, err, "ok "+path)
}

func (sk *fltSoak) calloutOp(path string) {
	sk.dialGate.RLock()
	defer sk.dialGate.RUnlock()
	e0 := sk.epoch.Load()
	resp, body, err := fltGet(sk.callout, sk.calloutTo+path)
	sk.record("callout", e0, resp, body, err, "ok "+path)
}

// shortTunnel opens a tunnel, sends one request in it and closes it.
func (sk *fltSoak) shortTunnel(path string) {
	sk.dialGate.RLock()
	defer sk.dialGate.RUnlock()
	e0 := sk.epoch.Load()
	resp, body, c, br, err := fltConnect(sk.proxyAddr, sk.target)
	if err != nil || resp.StatusCode != http.StatusOK {
		sk.record("short tunnel", e0, resp, body, err, "")
		return
	}
	defer c.Close()
	got, err := fltTunnelGet(c, br, path)
	sk.record("short tunnel", e0, resp, got, err, "ok "+path)
}

// longTunnels keeps fltSoakLongTunnels tunnels open, sending a request in
// each every 100ms, and reopens the ones a flip cut.
func (sk *fltSoak) longTunnels(ctx context.Context) {
	type slot struct {
		c     net.Conn
		br    *bufio.Reader
		epoch uint64 // when it opened
		n     int
	}
	var slots [fltSoakLongTunnels]slot
	defer func() {
		for _, s := range slots {
			if s.c != nil {
				s.c.Close()
			}
		}
	}()
	for i := 0; i < 1_000_000 && ctx.Err() == nil; i++ {
		for j := range slots {
			s := &slots[j]
			if s.c == nil {
				sk.dialGate.RLock()
				e0 := sk.epoch.Load()
				resp, body, c, br, err := fltConnect(sk.proxyAddr, sk.target)
				sk.dialGate.RUnlock()
				if err != nil || resp.StatusCode != http.StatusOK {
					sk.record("long tunnel open", e0, resp, body, err, "")
					continue
				}
				*s = slot{c: c, br: br, epoch: e0}
			}
			s.n++
			path := fmt.Sprintf("/long/%d/%d", j, s.n)
			got, err := fltTunnelGet(s.c, s.br, path)
			// A failure is a flip's doing if one began since the tunnel opened.
			sk.record("long tunnel", s.epoch, &http.Response{StatusCode: http.StatusOK}, got, err, "ok "+path)
			if err != nil {
				s.c.Close()
				*s = slot{}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// flip takes the connection out of Ready and back through the admin API:
// the endpoint is deleted remotely (a sync makes callgate notice at once),
// then torn down, provisioned and accepted again.
func (sk *fltSoak) flip() error {
	sk.epoch.Add(1)
	defer sk.epoch.Add(1)
	if err := sk.deleteRemotely(); err != nil {
		return err
	}
	return sk.toReady(fltWait)
}

func (sk *fltSoak) deleteRemotely() error {
	sk.dialGate.Lock()
	defer sk.dialGate.Unlock()
	if code, body, err := fltAdmin(sk.admin, "/v1/simulated/orders/delete-remotely"); err != nil || code != http.StatusOK {
		return fmt.Errorf("delete-remotely: %d %s %v", code, fltTrim(body), err)
	}
	if code, body, err := fltAdmin(sk.admin, "/v1/connections/orders/sync"); err != nil || code != http.StatusOK {
		return fmt.Errorf("sync after delete-remotely: %d %s %v", code, fltTrim(body), err)
	}
	if sk.s.app.manager.Admit("orders").Allowed() {
		v, _ := sk.s.app.manager.Get("orders")
		return fmt.Errorf("connection still admits traffic after the endpoint vanished and a sync: %+v", v)
	}
	return nil
}

// toReady drives connection orders to Ready with the actions its status
// allows, until it carries traffic.
func (sk *fltSoak) toReady(max time.Duration) error {
	var last string
	var failed error
	done := testwait.Poll(max, func() bool {
		v, err := fltView(sk.admin, "orders")
		if err != nil {
			failed = err
			return true
		}
		last = fmt.Sprintf("status %s, last_error %q", v.Status, v.LastError)
		action := ""
		switch v.Status {
		case connstate.Ready:
			return sk.s.app.manager.Admit("orders").Allowed()
		case connstate.Unprovisioned:
			action = "/v1/connections/orders/provision"
		case connstate.PendingAcceptance:
			action = "/v1/simulated/orders/accept"
		case connstate.DeletedRemotely, connstate.RejectedRemotely:
			action = "/v1/connections/orders/teardown"
		}
		if action != "" {
			// 409: the status moved on since we looked; look again.
			if code, body, err := fltAdmin(sk.admin, action); err != nil || (code != http.StatusOK && code != http.StatusConflict) {
				failed = fmt.Errorf("POST %s: %d %s %v", action, code, fltTrim(body), err)
				return true
			}
		}
		return false
	})
	switch {
	case failed != nil:
		return failed
	case !done:
		return fmt.Errorf("not Ready within %v; last: %s", max, last)
	}
	return nil
}

// fltSwapFile replaces path's content atomically (write, then rename), as
// writeFile does, but returns the error: it runs off the test goroutine.
func fltSwapFile(path, content string) error {
	tmp := path + ".soak.tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func fltTrim(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}

// fltCounts formats a count map in a stable order.
func fltCounts(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}
