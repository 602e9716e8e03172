package proxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/zap/zapcore"

	"github.com/callgate/callgate/connstate"
	"github.com/callgate/callgate/routing"
)

// proxyClient is a keep-alive Go client using the proxy for http:// URLs.
func (e *env) proxyClient() *http.Client {
	pu, _ := url.Parse("http://" + e.addr)
	tr := &http.Transport{Proxy: http.ProxyURL(pu), MaxIdleConnsPerHost: 4}
	e.t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 20 * time.Second}
}

// directClient talks to the proxy listener itself (callout form).
func (e *env) directClient() *http.Client {
	tr := &http.Transport{MaxIdleConnsPerHost: 4}
	e.t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 20 * time.Second}
}

func TestKeepAliveReuse(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: real listeners")
	}
	e := newEnv(t)
	get := func(c *http.Client, u string) {
		t.Helper()
		res, err := c.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("%s: %d", u, res.StatusCode)
		}
	}
	before := e.plain.conns.Load()
	c := e.proxyClient()
	for i := 0; i < 5; i++ {
		get(c, fmt.Sprintf("http://plain.partner.example:%d/base/%d", e.plain.port, i))
	}
	if n := e.plain.conns.Load() - before; n != 1 {
		t.Errorf("absolute form: upstream accepted %d connections for 5 sequential requests, want 1", n)
	}
	before = e.good.conns.Load()
	d := e.directClient()
	for i := 0; i < 5; i++ {
		get(d, fmt.Sprintf("http://%s/callout/Partner/%d", e.addr, i))
	}
	if n := e.good.conns.Load() - before; n != 1 {
		t.Errorf("callout form: upstream accepted %d TLS connections for 5 sequential requests, want 1", n)
	}
}

func TestHopByHopHeaders(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: real listeners")
	}
	e := newEnv(t)
	req := fmt.Sprintf("GET http://plain.partner.example:%d/base/hop HTTP/1.1\r\n"+
		"Host: plain.partner.example\r\n"+
		"Connection: keep-alive, X-Named-Hop\r\n"+
		"X-Named-Hop: 1\r\n"+
		"Keep-Alive: timeout=5\r\n"+
		"Proxy-Authorization: Basic c2VjcmV0\r\n"+
		"Proxy-Connection: keep-alive\r\n"+
		"Proxy-Whatever: 1\r\n"+
		"TE: trailers\r\n"+
		"Upgrade: websocket\r\n"+
		"X-End-To-End: kept\r\n"+
		"Via: 1.1 client-side\r\n\r\n", e.plain.port)
	res, body := e.roundTrip(req)
	if res.StatusCode != 200 {
		t.Fatalf("status %d %s", res.StatusCode, body)
	}
	s := decodeSeen(t, string(body))
	for _, h := range []string{"X-Named-Hop", "Keep-Alive", "Proxy-Authorization", "Proxy-Connection", "Proxy-Whatever", "Te", "Upgrade", "Transfer-Encoding"} {
		if v := s.Header.Values(h); len(v) > 0 {
			t.Errorf("upstream got %s: %q", h, v)
		}
	}
	if s.Header.Get("X-End-To-End") != "kept" {
		t.Errorf("end-to-end header lost: %v", s.Header)
	}
	if via := s.Header.Values("Via"); strings.Join(via, ", ") != "1.1 client-side, 1.1 callgate" {
		t.Errorf("upstream Via %q", via)
	}
	// And on the way back.
	if res.Header.Get("X-Resp-Hop") != "" || res.Header.Get("Proxy-Agent") != "" {
		t.Errorf("response hop-by-hop headers relayed: %v", res.Header)
	}
	if res.Header.Get("X-Kept") != "1" || res.Header.Get("Via") != "1.1 callgate" {
		t.Errorf("response headers: %v", res.Header)
	}
}

// TestStreaming proves bodies are streamed, not buffered: each side waits
// for the other to see a part before sending the next, which deadlocks
// (and times out) if the proxy holds a whole body.
func TestStreaming(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: real listeners")
	}
	e := newEnv(t)
	urls := map[string]string{
		"absolute": fmt.Sprintf("http://plain.partner.example:%d/base", e.plain.port),
		"callout":  fmt.Sprintf("http://%s/callout/Plain", e.addr),
	}
	clients := map[string]*http.Client{"absolute": e.proxyClient(), "callout": e.directClient()}
	for _, form := range []string{"absolute", "callout"} {
		t.Run(form+" upload", func(t *testing.T) {
			// Drain progress left by an earlier subtest.
			for len(e.plain.upload) > 0 {
				<-e.plain.upload
			}
			const part, parts = 256 << 10, 16 // 4 MiB in total
			pr, pw := io.Pipe()
			errc := make(chan error, 1)
			go func() {
				chunk := make([]byte, part)
				for i := 0; i < parts; i++ {
					if _, err := pw.Write(chunk); err != nil {
						errc <- err
						return
					}
					// Wait until the upstream has read what we sent.
					want := int64(i+1) * part
					deadline := time.After(10 * time.Second)
					for got := int64(0); got < want; {
						select {
						case got = <-e.plain.upload:
						case <-deadline:
							pw.CloseWithError(errors.New("upstream never saw the part: the body is buffered"))
							errc <- fmt.Errorf("part %d not streamed", i)
							return
						}
					}
				}
				errc <- pw.Close()
			}()
			req, _ := http.NewRequest(http.MethodPost, urls[form]+"/upload", pr)
			res, err := clients[form].Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
			if string(body) != fmt.Sprint(part*parts) {
				t.Errorf("upstream read %s bytes", body)
			}
		})
		t.Run(form+" download", func(t *testing.T) {
			res, err := clients[form].Get(urls[form] + "/download")
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			br := bufio.NewReader(res.Body)
			for i := 0; i < 4; i++ {
				line, err := br.ReadString('\n')
				if err != nil || len(line) != 1001 {
					t.Fatalf("chunk %d: %d bytes, %v", i, len(line), err)
				}
				e.plain.download <- struct{}{}
			}
		})
	}
}

// stubInjector adds a fixed Authorization, as credauth would.
type stubInjector struct{ err error }

func (s stubInjector) Inject(r *http.Request) error {
	if s.err != nil {
		return s.err
	}
	r.Header.Set("Authorization", "Bearer injected")
	return nil
}

// TestCalloutInjectsAuth: the injected Authorization replaces the
// client's, and a failed injection is a 502 credential_unavailable. The
// endpoint records what it got (an endpoint that echoed it back would have
// its answer cut: TestReflectedCredentialNeverRelayed).
func TestCalloutInjectsAuth(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: real listeners")
	}
	e, u := newBoundaryEnv(t, testEngine())
	res, body := e.roundTrip("GET /callout/Echo/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer client-secret\r\nConnection: close\r\n\r\n")
	if res.StatusCode != 200 || string(body) != "ok" {
		t.Fatalf("status %d %s", res.StatusCode, body)
	}
	seen := u.seen()
	if got := seen[len(seen)-1].Header.Values("Authorization"); len(got) != 1 || got[0] != "Bearer "+secretBearer {
		t.Errorf("upstream Authorization %q", got)
	}
	creds := append([]routing.Credential(nil), e.creds...)
	for i := range creds {
		if creds[i].Name == "Plain" {
			creds[i].Auth = stubInjector{err: errors.New("token endpoint down")}
		}
	}
	e.setCreds(creds)
	res, body = e.roundTrip("GET /callout/Plain/me HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	if res.StatusCode != http.StatusBadGateway || !strings.Contains(string(body), `"credential_unavailable"`) {
		t.Errorf("failed injection: %d %s", res.StatusCode, body)
	}
}

// TestShutdown: in-flight requests finish, tunnels are then closed, and
// Serve returns.
func TestShutdown(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: real listeners")
	}
	e := newEnv(t, func(o *Options) { o.Timeouts.ResponseHeader = 10 * time.Second })
	// A tunnel that stays open.
	tun := e.dialTunnel(fmt.Sprintf("plain.partner.example:%d", e.plain.port), 0)
	if _, err := tun.Write(nil); err != nil {
		t.Fatal(err)
	}
	if _, err := tun.Read(nil); err != nil {
		t.Fatal(err)
	}
	// A request waiting for its upstream.
	type result struct {
		status int
		err    error
	}
	done := make(chan result, 1)
	go func() {
		c, err := net.Dial("tcp", e.addr)
		if err != nil {
			done <- result{err: err}
			return
		}
		defer c.Close()
		fmt.Fprintf(c, "GET http://slow.partner.example:%d/slow HTTP/1.1\r\nHost: x\r\n\r\n", e.slow.port)
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			done <- result{err: err}
			return
		}
		done <- result{status: res.StatusCode}
	}()
	eventually(t, "request in flight", func() bool { return e.srv.flows.count() == 2 })

	shut := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		shut <- e.srv.Shutdown(ctx)
	}()
	time.Sleep(100 * time.Millisecond)
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned before the in-flight request ended: %v", err)
	default:
	}
	// New connections are refused while draining.
	if c, err := net.DialTimeout("tcp", e.addr, time.Second); err == nil {
		c.Close()
		t.Error("proxy still accepting during shutdown")
	}
	e.slow.once.Do(func() { close(e.slow.release) })
	r := <-done
	if r.err != nil || r.status != 200 {
		t.Fatalf("in-flight request: %d %v", r.status, r.err)
	}
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	_ = tun.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := tun.br.ReadByte(); err == nil || isTimeout(err) {
		t.Fatalf("tunnel open after shutdown: %v", err)
	}
}

// TestSummaryLog: exactly one line per request or tunnel, with the
// agreed field names, and no client header values.
func TestSummaryLog(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: real listeners")
	}
	e := newEnv(t)
	e.roundTrip(fmt.Sprintf("GET http://plain.partner.example:%d/base/x HTTP/1.1\r\nHost: x\r\nX-Token: sekrit-value\r\nConnection: close\r\n\r\n", e.plain.port))
	e.roundTrip("CONNECT unknown.example:443 HTTP/1.1\r\nHost: x\r\nProxy-Authorization: Basic c2VrcmV0\r\n\r\n")
	e.roundTrip("GET /callout/Pending/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	var lines []map[string]any
	eventually(t, "three summary lines", func() bool {
		lines = lines[:0]
		for _, l := range e.logs.All() {
			if l.Message == "request" {
				lines = append(lines, l.ContextMap())
			}
		}
		return len(lines) == 3
	})
	for _, l := range e.logs.All() {
		enc := zapcore.NewMapObjectEncoder()
		for _, f := range l.Context {
			f.AddTo(enc)
		}
		if s := fmt.Sprint(enc.Fields); strings.Contains(s, "sekrit") || strings.Contains(s, "c2VrcmV0") {
			t.Errorf("client header value logged: %s", s)
		}
		if l.LoggerName != "proxy" {
			t.Errorf("logger name %q", l.LoggerName)
		}
	}
	want := []map[string]any{
		{FieldNamedCredential: "Plain", FieldConnection: "plain", FieldForm: "absolute", FieldOutcome: OutcomeOK, FieldStatus: int64(200)},
		{FieldNamedCredential: "", FieldForm: "connect", FieldOutcome: OutcomeRefused, FieldCode: "unknown_destination", FieldStatus: int64(403), FieldTarget: "unknown.example:443"},
		{FieldNamedCredential: "Pending", FieldConnection: "pending", FieldForm: "callout", FieldOutcome: OutcomeRefused, FieldCode: "connection_not_ready", FieldStatus: int64(503)},
	}
	// A line is written when its handler returns, which may be after the
	// client read the response: match lines by form, not by order.
	byForm := map[any]map[string]any{}
	for _, l := range lines {
		byForm[l[FieldForm]] = l
	}
	for i, w := range want {
		got := byForm[w[FieldForm]]
		for k, v := range w {
			if got[k] != v {
				t.Errorf("%s line: %s = %#v, want %#v (%v)", w[FieldForm], k, got[k], v, got)
			}
		}
		lines[i] = got
		for _, k := range []string{FieldBytesUp, FieldBytesDown, FieldDuration} {
			if _, ok := lines[i][k]; !ok {
				t.Errorf("line %d lacks %s", i, k)
			}
		}
	}
	if lines[0][FieldBytesDown].(int64) == 0 {
		t.Errorf("bytes_down not counted: %v", lines[0])
	}
}

func TestMetricsLint(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: real listeners")
	}
	e := newEnv(t)
	e.roundTrip(fmt.Sprintf("GET http://plain.partner.example:%d/base/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", e.plain.port))
	e.roundTrip("CONNECT unknown.example:443 HTTP/1.1\r\nHost: x\r\n\r\n")
	c := e.dialTunnel(fmt.Sprintf("plain.partner.example:%d", e.plain.port), 0)
	fmt.Fprintf(c, "GET /base/t HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	_, _ = io.ReadAll(c)
	c.Close()
	eventually(t, "tunnel bytes", func() bool {
		return counterValue(t, e.reg, "callgate_tunnel_bytes_total", map[string]string{"named_credential": "Plain", "direction": "down"}) > 0
	})
	problems, err := promlint.NewWithMetricFamilies(mustGather(t, e)).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
	for _, name := range []string{"callgate_requests_total", "callgate_request_duration_seconds", "callgate_tunnels_active",
		"callgate_tunnel_bytes_total", "callgate_refusals_total"} {
		found := false
		for _, mf := range mustGather(t, e) {
			found = found || mf.GetName() == name
		}
		if !found {
			t.Errorf("metric %s missing", name)
		}
	}
	// A reload that removes a credential drops its series.
	var kept []routing.Credential
	for _, c := range e.creds {
		if c.Name != "Plain" {
			kept = append(kept, c)
		}
	}
	e.setCreds(kept)
	if v := counterValue(t, e.reg, "callgate_requests_total", map[string]string{"named_credential": "Plain"}); v != 0 {
		t.Errorf("removed credential still exported: %v", v)
	}
}

func mustGather(t *testing.T, e *env) []*dto.MetricFamily {
	t.Helper()
	mfs, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	return mfs
}

// TestStalledUpstreamBody: an upstream that goes silent mid-body is cut
// after the idle timeout; the client sees a truncated body, not a hang.
func TestStalledUpstreamBody(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: real listeners")
	}
	e := newEnv(t, func(o *Options) { o.Timeouts.IdleTunnel = 300 * time.Millisecond })
	for name, u := range map[string]string{
		"absolute": fmt.Sprintf("http://slow.partner.example:%d/stall", e.slow.port),
		"callout":  fmt.Sprintf("http://%s/callout/Slow/stall", e.addr),
	} {
		t.Run(name, func(t *testing.T) {
			c := e.proxyClient()
			if name == "callout" {
				c = e.directClient()
			}
			start := time.Now()
			res, err := c.Get(u)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(res.Body)
			res.Body.Close()
			if err == nil || len(body) != 100 {
				t.Errorf("read %d bytes, err %v; want a truncated body", len(body), err)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("cut after %v", d)
			}
		})
	}
}

// TestFullDuplex: the endpoint answers before the request body is done and
// echoes it part by part; each part must come back before the next is sent.
func TestFullDuplex(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: real listeners")
	}
	e := newEnv(t)
	for name, u := range map[string]string{
		"absolute": fmt.Sprintf("http://plain.partner.example:%d/base/duplex", e.plain.port),
		"callout":  fmt.Sprintf("http://%s/callout/Plain/duplex", e.addr),
	} {
		t.Run(name, func(t *testing.T) {
			c := e.proxyClient()
			if name == "callout" {
				c = e.directClient()
			}
			pr, pw := io.Pipe()
			defer pw.Close()
			// Bound the test: if the proxy never answers, closing the body
			// unblocks the client.
			timer := time.AfterFunc(10*time.Second, func() { pw.CloseWithError(errors.New("no answer before the body ended: not full duplex")) })
			defer timer.Stop()
			req, _ := http.NewRequest(http.MethodPost, u, pr)
			res, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			part := strings.Repeat("d", 300<<10) // more than net/http would drain
			for i := 0; i < 3; i++ {
				if _, err := io.WriteString(pw, part); err != nil {
					t.Fatal(err)
				}
				got := make([]byte, len(part))
				if _, err := io.ReadFull(res.Body, got); err != nil {
					t.Fatalf("part %d: %v", i, err)
				}
			}
		})
	}
}

// TestClientStopsReading: a client that reads the response head and then
// stops reading cannot pin the exchange: after the idle timeout callgate
// aborts it, the endpoint's connection is released, and callgate keeps
// serving.
func TestClientStopsReading(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: real listeners")
	}
	e := newEnv(t, func(o *Options) { o.Timeouts.IdleTunnel = 500 * time.Millisecond })
	for name, target := range map[string]string{
		"absolute": fmt.Sprintf("GET http://plain.partner.example:%d/base/flood HTTP/1.1\r\nHost: x\r\n\r\n", e.plain.port),
		"callout":  "GET /callout/Plain/flood HTTP/1.1\r\nHost: x\r\n\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			c, err := net.DialTimeout("tcp", e.addr, 2*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.(*net.TCPConn).SetReadBuffer(4 << 10)
			if _, err := io.WriteString(c, target); err != nil {
				t.Fatal(err)
			}
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			head := make([]byte, 16<<10)
			if _, err := io.ReadAtLeast(c, head, 1024); err != nil {
				t.Fatalf("reading the start of the response: %v", err)
			}
			if !strings.HasPrefix(string(head), "HTTP/1.1 200") {
				t.Fatalf("response %q", head[:min(len(head), 64)])
			}
			// Now read nothing more. The endpoint's write loop must end.
			select {
			case n := <-e.plain.flooded:
				if n >= 1<<30 {
					t.Fatal("the whole body was sent to a client that stopped reading")
				}
			case <-time.After(15 * time.Second):
				t.Fatal("the exchange is still pinned by a client that stopped reading")
			}
			eventually(t, "the exchange ended", func() bool { return flowCount(&e.srv.flows) == 0 })
			if res, body := e.roundTrip(fmt.Sprintf("GET http://plain.partner.example:%d/base/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", e.plain.port)); res.StatusCode != 200 {
				t.Fatalf("after the abort: %d %s", res.StatusCode, body)
			}
		})
	}
}

// TestNoGuessedContentType: a response the endpoint sent without
// Content-Type reaches the client without one, whether the lane (GET) or
// net/http's server (a request with a body) served it, in both forms.
func TestNoGuessedContentType(t *testing.T) {
	e := newEnv(t)
	urls := map[string]string{
		"absolute": fmt.Sprintf("http://plain.partner.example:%d/base/untyped", e.plain.port),
		"callout":  fmt.Sprintf("http://%s/callout/Plain/untyped", e.addr),
	}
	clients := map[string]*http.Client{"absolute": e.proxyClient(), "callout": e.directClient()}
	for _, form := range []string{"absolute", "callout"} {
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			t.Run(form+" "+method, func(t *testing.T) {
				var body io.Reader
				if method == http.MethodPost {
					body = strings.NewReader("payload")
				}
				req, err := http.NewRequest(method, urls[form], body)
				if err != nil {
					t.Fatal(err)
				}
				res, err := clients[form].Do(req)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusOK || !strings.Contains(string(b), "not labelled") {
					t.Fatalf("status %d, body %q", res.StatusCode, b)
				}
				if ct, ok := res.Header["Content-Type"]; ok {
					t.Fatalf("Content-Type %q added to a response that had none", ct)
				}
			})
		}
	}
}

// TestClientGoneCancelsRequest: a client that leaves while its request
// waits for a slow endpoint cancels it — the endpoint's connection is let
// go and the request is logged as client_gone — on the lane (GET) and on
// net/http's path (a request with a body).
func TestClientGoneCancelsRequest(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct{ name, raw string }{
		{"lane", fmt.Sprintf("GET http://plain.partner.example:%d/base/slow HTTP/1.1\r\nHost: x\r\n\r\n", e.plain.port)},
		{"net/http", fmt.Sprintf("POST http://plain.partner.example:%d/base/slow HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi", e.plain.port)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := countLogs(e, OutcomeClientGone)
			c, err := net.Dial("tcp", e.addr)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.WriteString(c, tc.raw); err != nil {
				t.Fatal(err)
			}
			time.Sleep(200 * time.Millisecond) // past clientWatchDelay: the request waits upstream
			_ = c.Close()
			eventually(t, "a client_gone summary line", func() bool { return countLogs(e, OutcomeClientGone) > before })
		})
	}
}

// countLogs counts the summary lines with this outcome.
func countLogs(e *env, outcome string) int {
	n := 0
	for _, l := range e.logs.All() {
		if l.Message == "request" && l.ContextMap()[FieldOutcome] == outcome {
			n++
		}
	}
	return n
}

// TestRequestCut: a request waiting on its endpoint ends with 503
// connection_not_ready when its connection leaves Ready, on the fast path
// (a bodiless GET, cut by closing its endpoint connection) and on the
// Transport's (a POST, cut through its context). The endpoint's response
// timeout is far beyond the test's wait, so only the cut can end it.
func TestRequestCut(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: real listeners")
	}
	e := newEnv(t, func(o *Options) { o.Timeouts.ResponseHeader = time.Minute })
	u := fmt.Sprintf("http://plain.partner.example:%d/base/slow", e.plain.port)
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		t.Run(method, func(t *testing.T) {
			defer e.gate.set("plain", connstate.Ready, plainEP, 0)
			type result struct {
				status int
				body   string
				err    error
			}
			done := make(chan result, 1)
			go func() {
				var body io.Reader
				if method == http.MethodPost {
					body = strings.NewReader("hi")
				}
				req, _ := http.NewRequest(method, u, body)
				res, err := e.proxyClient().Do(req)
				if err != nil {
					done <- result{err: err}
					return
				}
				b, err := io.ReadAll(res.Body)
				res.Body.Close()
				done <- result{status: res.StatusCode, body: string(b), err: err}
			}()
			eventually(t, "the request registered as a flow", func() bool { return e.srv.flows.count() == 1 })
			e.gate.set("plain", connstate.DeletedRemotely, "", 0)
			select {
			case r := <-done:
				if r.err != nil || r.status != http.StatusServiceUnavailable || !strings.Contains(r.body, "connection_not_ready") {
					t.Fatalf("got %d %q (err %v), want 503 connection_not_ready", r.status, r.body, r.err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the request was not cut when its connection left Ready")
			}
		})
	}
}
