package main

// Fault tests (issue 6, item 4): black-box runs of an in-process callgate
// on real loopback listeners while an upstream, the endpoint, DNS or AWS
// misbehaves. Each asserts the refusal (docs/refusals.md) and that
// callgate keeps serving.

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/callgate/callgate/connstate"
	"github.com/callgate/callgate/internal/faultfront"
	"github.com/callgate/callgate/internal/motoserver"
	"github.com/callgate/callgate/internal/testwait"
)

// TestFaultUpstreamResetMidBody: the upstream sends its headers and part of
// a Content-Length body, then a RST. The client sees the headers and a
// truncated body that fails to read (never a hang, never a body that looks
// complete), the summary line says "aborted", and the next request is
// served.
func TestFaultUpstreamResetMidBody(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: real listeners")
	}
	o := startUpstream(t)
	core, logs := observer.New(zap.InfoLevel)
	s, reg := fltStart(t, fltSim{service: o.addr, port: o.port, provision: true}.String(), zap.New(core))
	fltWaitAllowed(t, s)
	absolute := fmt.Sprintf("http://%s:%s", fltHost, o.port)
	callout := "http://" + s.ProxyAddr() + "/callout/Orders"

	for _, tc := range []struct {
		form   string
		client *http.Client
		base   string
	}{
		{"absolute", fltProxyClient(t, s.ProxyAddr()), absolute},
		{"callout", &http.Client{Timeout: 15 * time.Second}, callout},
	} {
		t.Run(tc.form, func(t *testing.T) {
			aborted := map[string]any{"form": tc.form, "named_credential": "Orders", "outcome": "aborted", "status": 200}
			before := len(fltSummaries(logs, aborted))
			o.drainRelease()
			resp, err := tc.client.Get(tc.base + "/reset")
			if err != nil {
				t.Fatalf("the response headers should arrive before the reset: %v", err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK || resp.ContentLength != upResetBody {
				t.Fatalf("got %s with Content-Length %d, want 200 with %d", resp.Status, resp.ContentLength, upResetBody)
			}
			part := make([]byte, upResetSent)
			if _, err := io.ReadFull(resp.Body, part); err != nil {
				t.Fatalf("reading the part the upstream sent: %v", err)
			}
			select { // now the upstream may reset
			case o.release <- struct{}{}:
			default:
			}
			start := time.Now()
			rest, err := io.ReadAll(resp.Body)
			if err == nil {
				t.Fatalf("a body cut by the upstream's RST read as complete (%d bytes)", upResetSent+len(rest))
			}
			if got := upResetSent + len(rest); got >= upResetBody {
				t.Fatalf("got %d body bytes of a body cut at %d", got, upResetSent)
			}
			t.Logf("client saw %d of %d bytes, then %v after %v", upResetSent+len(rest), upResetBody, err, time.Since(start))

			_, body, err := fltGet(tc.client, tc.base+"/after-reset")
			if err != nil || body != "ok /after-reset" {
				t.Fatalf("next request after the reset: %q, %v", body, err)
			}
			testwait.UntilExplained(t, fltWait, "the aborted exchange's summary line", func() (bool, string) {
				n := len(fltSummaries(logs, aborted))
				return n == before+1, fmt.Sprintf("%d aborted %s lines, want %d", n, tc.form, before+1)
			})
			line := fltSummaries(logs, aborted)[before].ContextMap()
			if e, _ := line["error"].(string); e == "" {
				t.Errorf("the aborted summary line has no error: %v", line)
			}
		})
	}

	t.Run("curl", func(t *testing.T) {
		e2eNeedCurl(t)
		before := len(fltSummaries(logs, map[string]any{"form": "absolute", "outcome": "aborted"}))
		o.drainRelease()
		out, err := e2eCurl(t, "-x", "http://"+s.ProxyAddr(), absolute+"/reset-curl",
			"-o", "/dev/null", "-w", "%{http_code} %{size_download}")
		var code, size int
		if _, serr := fmt.Sscan(out, &code, &size); serr != nil {
			t.Fatalf("curl output %q: %v (curl: %v)", out, serr, err)
		}
		if err == nil || code != 200 || size >= upResetBody {
			t.Fatalf("curl: %q, %v; want the 200's body cut short (%d < %d bytes) and curl failing", out, err, size, upResetBody)
		}
		t.Logf("curl: %s bytes, %v", out, err)
		out, err = e2eCurl(t, "-x", "http://"+s.ProxyAddr(), absolute+"/after-curl", "--fail")
		if err != nil || out != "ok /after-curl" {
			t.Fatalf("curl after the reset: %q, %v", out, err)
		}
		testwait.UntilExplained(t, fltWait, "curl's aborted summary line", func() (bool, string) {
			n := len(fltSummaries(logs, map[string]any{"form": "absolute", "outcome": "aborted"}))
			return n == before+1, fmt.Sprintf("%d lines, want %d", n, before+1)
		})
	})

	// The relayed 200s are counted (when each handler ends, which may
	// trail the client's last byte); the log line tells them apart.
	testwait.UntilExplained(t, fltWait, "requests_total{Orders,200} ≥ 6", func() (bool, string) {
		got := metricSum(t, reg, "callgate_requests_total", map[string]string{"named_credential": "Orders", "code": "200"})
		return got >= 6, fmt.Sprintf("%v", got)
	})
}

// TestFaultUpstreamSlow: an upstream that sends no response header within
// timeouts.response_header is answered 504 upstream_timeout, soon after
// that timeout.
func TestFaultUpstreamSlow(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: real listeners")
	}
	const limit = time.Second
	o := startUpstream(t)
	cfg := fltSim{service: o.addr, port: o.port, provision: true, top: "timeouts: {response_header: 1s}\n"}
	s, reg := fltStart(t, cfg.String(), zap.NewNop())
	fltWaitAllowed(t, s)
	absolute := fmt.Sprintf("http://%s:%s", fltHost, o.port)

	for _, tc := range []struct {
		form   string
		client *http.Client
		base   string
	}{
		{"absolute", fltProxyClient(t, s.ProxyAddr()), absolute},
		{"callout", &http.Client{Timeout: 15 * time.Second}, "http://" + s.ProxyAddr() + "/callout/Orders"},
	} {
		t.Run(tc.form, func(t *testing.T) {
			start := time.Now()
			resp, body, err := fltGet(tc.client, tc.base+"/slow")
			elapsed := time.Since(start)
			if err != nil {
				t.Fatalf("slow upstream: %v after %v", err, elapsed)
			}
			r := e2eRefused(t, resp, body, http.StatusGatewayTimeout, "upstream_timeout", "connection_timeout")
			if r.NamedCredential != "Orders" || r.Connection != "orders" {
				t.Errorf("refusal names %q / %q", r.NamedCredential, r.Connection)
			}
			// Bounds, not a benchmark: not before the timeout, and not
			// stuck long after it.
			if elapsed < limit-100*time.Millisecond || elapsed > limit+5*time.Second {
				t.Fatalf("504 after %v, want soon after the %v response_header timeout", elapsed, limit)
			}
			t.Logf("504 upstream_timeout after %v", elapsed)
			if _, body, err := fltGet(tc.client, tc.base+"/quick"); err != nil || body != "ok /quick" {
				t.Fatalf("next request: %q, %v", body, err)
			}
		})
	}
	t.Run("curl", func(t *testing.T) {
		e2eNeedCurl(t)
		out, err := e2eCurl(t, "-x", "http://"+s.ProxyAddr(), absolute+"/slow-curl", "-o", "/dev/null", "-w", "%{http_code}")
		if err != nil || out != "504" {
			t.Fatalf("curl: %q, %v; want 504", out, err)
		}
	})
	if got := metricSum(t, reg, "callgate_refusals_total", map[string]string{"named_credential": "Orders", "reason": "upstream_timeout"}); got != 3 {
		t.Errorf("refusals_total{Orders,upstream_timeout} = %v, want 3", got)
	}
}

// TestFaultEndpointDNSFailure: the endpoint's DNS name does not resolve →
// 502 dns_error in every form. It runs in aws mode against moto, whose
// endpoint DNS name is vpce-ID-RANDOM.<service name>, with a service name
// under the reserved .invalid TLD (RFC 2606), which no resolver can map to
// a host, and no resolve override: the lookup is a real one that fails.
// (In simulated mode the dialer maps the simulated names itself.)
func TestFaultEndpointDNSFailure(t *testing.T) {
	if testing.Short() {
		t.Skip("runs moto")
	}
	moto := motoserver.Start(t)
	motoserver.UseTestCredentials(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ec2c := e2eEC2Client(t, ctx, moto.URL())
	vpc, subnet, sg := e2eNetwork(t, ctx, ec2c)
	// An AWS-service-shaped name (config accepts com.amazonaws.*); moto
	// does not check that the service exists.
	const service = "com.amazonaws.callgate-fault.invalid"
	const port = "8080"
	cfg := fltAWS{endpointURL: moto.URL(), vpc: vpc, subnet: subnet, sg: sg, service: service, port: port}
	s, reg := fltStart(t, cfg.String(), zap.NewNop())
	fltWaitAllowed(t, s)
	v, _ := s.app.manager.Get("orders")
	if !strings.HasSuffix(v.EndpointDNS, "."+service) {
		// Never look up a name that might exist.
		t.Fatalf("endpoint_dns %q is not under %s; refusing to send a DNS query for it", v.EndpointDNS, service)
	}
	t.Logf("endpoint_dns %s", v.EndpointDNS)
	target := fltHost + ":" + port

	t.Run("absolute", func(t *testing.T) {
		resp, body, err := fltGet(fltProxyClient(t, s.ProxyAddr()), "http://"+target+"/x")
		if err != nil {
			t.Fatal(err)
		}
		e2eRefused(t, resp, body, http.StatusBadGateway, "dns_error", "dns_error")
	})
	t.Run("callout", func(t *testing.T) {
		resp, body := e2eCallout(t, s.ProxyAddr(), "Orders", "x")
		r := e2eRefused(t, resp, body, http.StatusBadGateway, "dns_error", "dns_error")
		if r.NamedCredential != "Orders" || r.Connection != "orders" {
			t.Errorf("refusal names %q / %q", r.NamedCredential, r.Connection)
		}
	})
	t.Run("connect", func(t *testing.T) {
		resp, body, _, _, err := fltConnect(s.ProxyAddr(), target)
		if err != nil {
			t.Fatal(err)
		}
		e2eRefused(t, resp, body, http.StatusBadGateway, "dns_error", "dns_error")
	})
	t.Run("curl_connect", func(t *testing.T) {
		e2eNeedCurl(t)
		out, err := e2eCurl(t, "-p", "-x", "http://"+s.ProxyAddr(), "http://"+target+"/x", "-o", "/dev/null", "-w", "%{http_connect}")
		if err == nil || out != "502" {
			t.Fatalf("curl CONNECT: %q, %v; want the tunnel refused with 502", out, err)
		}
	})
	if got := metricSum(t, reg, "callgate_refusals_total", map[string]string{"named_credential": "Orders", "reason": "dns_error"}); got != 4 {
		t.Errorf("refusals_total{Orders,dns_error} = %v, want 4", got)
	}
}

// TestFaultEndpointRefusesConnections: the endpoint's address is a closed
// loopback port → 502 upstream_unreachable with Proxy-Status
// connection_refused in every form, and callgate keeps answering.
func TestFaultEndpointRefusesConnections(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: real listeners")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	const port = "8080" // the simulated endpoint leads to closed whatever the port
	s, reg := fltStart(t, fltSim{service: closed, port: port, provision: true}.String(), zap.NewNop())
	fltWaitAllowed(t, s)
	target := fltHost + ":" + port
	refused := func(t *testing.T, resp *http.Response, body string) {
		t.Helper()
		r := e2eRefused(t, resp, body, http.StatusBadGateway, "upstream_unreachable", "connection_refused")
		if r.NamedCredential != "Orders" || r.Connection != "orders" {
			t.Errorf("refusal names %q / %q", r.NamedCredential, r.Connection)
		}
	}

	t.Run("absolute", func(t *testing.T) {
		resp, body, err := fltGet(fltProxyClient(t, s.ProxyAddr()), "http://"+target+"/x")
		if err != nil {
			t.Fatal(err)
		}
		refused(t, resp, body)
	})
	t.Run("callout", func(t *testing.T) {
		resp, body := e2eCallout(t, s.ProxyAddr(), "Orders", "x")
		refused(t, resp, body)
	})
	t.Run("connect", func(t *testing.T) {
		resp, body, _, _, err := fltConnect(s.ProxyAddr(), target)
		if err != nil {
			t.Fatal(err)
		}
		refused(t, resp, body)
	})
	t.Run("curl_connect", func(t *testing.T) {
		e2eNeedCurl(t)
		out, err := e2eCurl(t, "-p", "-x", "http://"+s.ProxyAddr(), "http://"+target+"/x", "-o", "/dev/null", "-w", "%{http_connect}")
		if err == nil || out != "502" {
			t.Fatalf("curl CONNECT: %q, %v; want the tunnel refused with 502", out, err)
		}
	})
	if got := metricSum(t, reg, "callgate_refusals_total", map[string]string{"named_credential": "Orders", "reason": "upstream_unreachable"}); got != 4 {
		t.Errorf("refusals_total{Orders,upstream_unreachable} = %v, want 4", got)
	}
}

// TestFaultAWSThrottlingDuringSync: once the connection is Ready and warm,
// every DescribeVpcEndpoints is throttled (then, in a second phase, answered
// with a bare 500) for several sync intervals. Traffic keeps flowing with no
// failed request, the status never leaves Ready, last_error says what is
// wrong and the API call metric counts it; once AWS answers again,
// last_error clears.
func TestFaultAWSThrottlingDuringSync(t *testing.T) {
	if testing.Short() {
		t.Skip("runs moto")
	}
	moto := motoserver.Start(t)
	motoserver.UseTestCredentials(t)
	front, err := faultfront.New(moto.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = front.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	vpc, subnet, sg := e2eNetwork(t, ctx, e2eEC2Client(t, ctx, moto.URL()))
	viaFront := e2eEC2Client(t, ctx, front.URL())

	o := startUpstream(t)
	const service = "com.amazonaws.vpce.us-east-1.vpce-svc-0fa17fa17fa17fa17"
	cfg := fltAWS{endpointURL: front.URL(), vpc: vpc, subnet: subnet, sg: sg, service: service,
		resolve: "*." + service, port: o.port}
	s, reg := fltStart(t, cfg.String(), zap.NewNop())
	fltWaitAllowed(t, s)
	admin := s.AdminAddr()

	// Traffic in two forms, and a watcher of the status, all the while.
	loadCtx, stopLoad := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var sent, failed, polls, flaps atomic.Int64
	var firstFailure, firstFlap atomic.Value
	load := func(form string, get func(i int) (string, string, error)) {
		defer wg.Done()
		for i := 0; i < 100000 && loadCtx.Err() == nil; i++ {
			want, body, err := get(i)
			sent.Add(1)
			if err != nil || body != want {
				failed.Add(1)
				firstFailure.CompareAndSwap(nil, fmt.Sprintf("%s: %q, %v", form, body, err))
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	proxied := fltProxyClient(t, s.ProxyAddr())
	direct := &http.Client{Timeout: 15 * time.Second}
	t.Cleanup(direct.CloseIdleConnections)
	wg.Add(3)
	go load("absolute", func(i int) (string, string, error) {
		path := fmt.Sprintf("/abs/%d", i)
		_, body, err := fltGet(proxied, fmt.Sprintf("http://%s:%s%s", fltHost, o.port, path))
		return "ok " + path, body, err
	})
	go load("callout", func(i int) (string, string, error) {
		path := fmt.Sprintf("/co/%d", i)
		_, body, err := fltGet(direct, "http://"+s.ProxyAddr()+"/callout/Orders"+path)
		return "ok " + path, body, err
	})
	go func() {
		defer wg.Done()
		for i := 0; i < 100000 && loadCtx.Err() == nil; i++ {
			polls.Add(1)
			vs, err := fltViews(admin)
			if err == nil && (len(vs) != 1 || vs[0].Status != connstate.Ready) {
				err = fmt.Errorf("connections %+v", vs)
			}
			if err != nil {
				flaps.Add(1)
				firstFlap.CompareAndSwap(nil, err.Error())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	defer func() {
		stopLoad()
		wg.Wait()
	}()

	describeCalls := func(outcome string) float64 {
		return metricSum(t, reg, "callgate_aws_api_calls_total", map[string]string{"operation": "DescribeVpcEndpoints", "outcome": outcome})
	}
	phase := func(t *testing.T, fault faultfront.Fault, outcome string) {
		before := describeCalls(outcome)
		start := time.Now()
		stopFeed := fltFeedFaults(front, fault)
		// At least five sync intervals, and until two syncs failed (each
		// after the SDK's own retries, the loop backing off in between).
		testwait.UntilExplained(t, 90*time.Second, "failed syncs", func() (bool, string) {
			n := describeCalls(outcome) - before
			return time.Since(start) >= 5*time.Second && n >= 2, fmt.Sprintf("%v DescribeVpcEndpoints %s after %v", n, outcome, time.Since(start))
		})
		v, err := fltView(admin, "orders")
		if err != nil {
			t.Fatal(err)
		}
		if v.Status != connstate.Ready || v.LastError == "" {
			t.Fatalf("during the fault: status %s, last_error %q; want Ready with the error", v.Status, v.LastError)
		}
		t.Logf("after %v of %s: status %s, last_error %q, %v calls %s", time.Since(start).Round(time.Millisecond),
			outcome, v.Status, v.LastError, describeCalls(outcome)-before, outcome)
		stopFeed()
		fltDrainFaults(t, ctx, front, viaFront)
		recovered := time.Now()
		// The loop retries after its backoff, which grows per failure.
		testwait.UntilExplained(t, 90*time.Second, "last_error cleared", func() (bool, string) {
			v, err := fltView(admin, "orders")
			if err != nil {
				return false, err.Error()
			}
			return v.Status == connstate.Ready && v.LastError == "", fmt.Sprintf("status %s, last_error %q", v.Status, v.LastError)
		})
		t.Logf("last_error cleared %v after AWS answered again", time.Since(recovered).Round(time.Millisecond))
	}
	t.Run("throttling", func(t *testing.T) { phase(t, faultfront.Throttle, "throttled") })
	t.Run("server_errors", func(t *testing.T) { phase(t, faultfront.ServerError, "error") })

	stopLoad()
	wg.Wait()
	if n := failed.Load(); n != 0 {
		t.Errorf("%d of %d requests failed while AWS failed; first: %v", n, sent.Load(), firstFailure.Load())
	}
	if n := flaps.Load(); n != 0 {
		t.Errorf("%d of %d polls of /v1/connections did not show orders Ready; first: %v", n, polls.Load(), firstFlap.Load())
	}
	if sent.Load() < 100 || polls.Load() < 50 {
		t.Errorf("only %d requests and %d status polls ran", sent.Load(), polls.Load())
	}
	t.Logf("%d requests, 0 failed; %d status polls, all Ready; front answered %d AWS requests itself",
		sent.Load(), polls.Load(), front.Injected())
}

// fltFeedFaults keeps at least three faults queued for
// DescribeVpcEndpoints (one call's worth of SDK attempts), so every
// attempt fails until the returned stop is called.
func fltFeedFaults(front *faultfront.Front, fault faultfront.Fault) (stop func()) {
	done := make(chan struct{})
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			if front.Pending() < 3 {
				front.FailNext(3, "DescribeVpcEndpoints", fault)
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return func() {
		close(done)
		<-exited
	}
}

// fltDrainFaults uses up the faults still queued, with DescribeVpcEndpoints
// calls of its own (no SDK retries), so callgate's next call succeeds.
func fltDrainFaults(t *testing.T, ctx context.Context, front *faultfront.Front, c *ec2.Client) {
	t.Helper()
	for i := 0; i < 50 && front.Pending() > 0; i++ {
		_, _ = c.DescribeVpcEndpoints(ctx, &ec2.DescribeVpcEndpointsInput{}, func(o *ec2.Options) { o.RetryMaxAttempts = 1 })
	}
	if n := front.Pending(); n != 0 {
		t.Fatalf("%d faults still queued after draining", n)
	}
}

// TestFaultStatusChangeMidTunnel: a tunnel is open when its connection
// leaves Ready (the endpoint is deleted behind callgate's back). It is
// closed within the sync interval and counted, and a new CONNECT is
// refused 503 connection_not_ready.
func TestFaultStatusChangeMidTunnel(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: real listeners")
	}
	const interval = time.Second // sync.interval of fltSim
	o := startUpstream(t)
	core, logs := observer.New(zap.InfoLevel)
	s, reg := fltStart(t, fltSim{service: o.addr, port: o.port, provision: true, acceptance: "manual"}.String(), zap.New(core))
	admin := s.AdminAddr()
	testwait.UntilExplained(t, fltWait, "PendingAcceptance", func() (bool, string) {
		v, err := fltView(admin, "orders")
		return err == nil && v.Status == connstate.PendingAcceptance, fmt.Sprintf("%+v %v", v, err)
	})
	if code, body, err := fltAdmin(admin, "/v1/simulated/orders/accept"); err != nil || code != http.StatusOK {
		t.Fatalf("accept: %d %s %v", code, body, err)
	}
	fltWaitAllowed(t, s)

	target := fltHost + ":" + o.port
	resp, body, c, br, err := fltConnect(s.ProxyAddr(), target)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("CONNECT: %v %s %v", resp, body, err)
	}
	defer c.Close()
	if got, err := fltTunnelGet(c, br, "/in-tunnel"); err != nil || got != "ok /in-tunnel" {
		t.Fatalf("request in the tunnel: %q, %v", got, err)
	}
	tunnels := func() float64 {
		return metricSum(t, reg, "callgate_tunnels_active", map[string]string{"named_credential": "Orders"})
	}
	notReady := func() float64 {
		return metricSum(t, reg, "callgate_refusals_total", map[string]string{"named_credential": "Orders", "reason": "connection_not_ready"})
	}
	if n := tunnels(); n != 1 {
		t.Fatalf("tunnels_active = %v, want 1", n)
	}
	refusalsBefore := notReady()

	start := time.Now()
	if code, body, err := fltAdmin(admin, "/v1/simulated/orders/delete-remotely"); err != nil || code != http.StatusOK {
		t.Fatalf("delete-remotely: %d %s %v", code, body, err)
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, rerr := br.ReadByte()
	closedAfter := time.Since(start)
	if rerr == nil || fltIsTimeout(rerr) {
		t.Fatalf("the tunnel is still open %v after its connection left Ready (read: %v)", closedAfter, rerr)
	}
	// The next sync (interval ±10%) sees the endpoint gone; allow for
	// scheduling under -race.
	if bound := interval + interval/10 + 1500*time.Millisecond; closedAfter > bound {
		t.Errorf("tunnel closed %v after the endpoint vanished, want within the sync interval (%v, bound %v)", closedAfter, interval, bound)
	}
	t.Logf("tunnel closed %v after delete-remotely (%v)", closedAfter, rerr)
	v, err := fltView(admin, "orders")
	if err != nil || v.Status != connstate.DeletedRemotely {
		t.Fatalf("status after the tunnel closed: %+v, %v; want DeletedRemotely", v, err)
	}

	t.Run("counted_in_summary_log", func(t *testing.T) {
		want := map[string]any{"form": "connect", "named_credential": "Orders", "outcome": "closed", "close_reason": "connection_not_ready"}
		testwait.UntilExplained(t, fltWait, "the cut tunnel's summary line", func() (bool, string) {
			n := len(fltSummaries(logs, want))
			return n == 1, fmt.Sprintf("%d lines %v", n, want)
		})
		testwait.UntilExplained(t, fltWait, "tunnels_active 0", func() (bool, string) {
			n := tunnels()
			return n == 0, fmt.Sprintf("tunnels_active %v", n)
		})
	})
	t.Run("counted_in_refusals_total", func(t *testing.T) {
		// refusals_total's Help: "Requests and tunnels refused or closed
		// by callgate, by … reason".
		if got := notReady() - refusalsBefore; got != 1 {
			t.Fatalf("a tunnel cut because its connection left Ready: refusals_total{Orders,connection_not_ready} went up by %v, want 1", got)
		}
	})
	t.Run("new_connect_refused", func(t *testing.T) {
		before := notReady()
		resp, body, _, _, err := fltConnect(s.ProxyAddr(), target)
		if err != nil {
			t.Fatal(err)
		}
		r := e2eRefused(t, resp, body, http.StatusServiceUnavailable, "connection_not_ready", "destination_unavailable")
		if r.Status != connstate.DeletedRemotely.String() || r.Connection != "orders" {
			t.Errorf("refusal: status %q connection %q", r.Status, r.Connection)
		}
		if got := notReady() - before; got != 1 {
			t.Errorf("refusals_total{Orders,connection_not_ready} went up by %v, want 1", got)
		}
	})
}
