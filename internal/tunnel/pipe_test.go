package tunnel

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"io"
	"net"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// exchange sends up from the client and down from the upstream at the same
// time, each followed by a half-close, and checks that each side received
// exactly the other's bytes.
func exchange(t *testing.T, client, upstream net.Conn, up, down []byte) {
	t.Helper()
	type got struct {
		sum [32]byte
		n   int
		err error
	}
	recv := func(c net.Conn, ch chan<- got) {
		h := sha256.New()
		n, err := io.Copy(h, c)
		var g got
		copy(g.sum[:], h.Sum(nil))
		g.n, g.err = int(n), err
		ch <- g
	}
	send := func(c net.Conn, p []byte, ch chan<- error) {
		_, err := c.Write(p)
		if err == nil {
			err = c.(closeWriter).CloseWrite()
		}
		ch <- err
	}
	atClient, atUpstream := make(chan got, 1), make(chan got, 1)
	sent := make(chan error, 2)
	go recv(client, atClient)
	go recv(upstream, atUpstream)
	go send(client, up, sent)
	go send(upstream, down, sent)
	for range 2 {
		if err := <-sent; err != nil {
			t.Fatalf("send: %v", err)
		}
	}
	for _, c := range []struct {
		name string
		ch   chan got
		want []byte
	}{{"upstream", atUpstream, up}, {"client", atClient, down}} {
		select {
		case g := <-c.ch:
			if g.err != nil || g.n != len(c.want) || g.sum != sha256.Sum256(c.want) {
				t.Fatalf("%s received %d bytes (err %v), want %d with matching checksum", c.name, g.n, g.err, len(c.want))
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("%s did not receive everything", c.name)
		}
	}
}

func randomBytes(t testing.TB, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPipeBytesBothWays(t *testing.T) {
	const size = 8 << 20
	up, down := randomBytes(t, size), randomBytes(t, size)
	cases := []struct {
		name     string
		make     func(t *testing.T, l *loopback) legs
		noSplice bool
	}{
		{name: "tcp_raw_splice", make: func(t *testing.T, l *loopback) legs { return l.legs(t) }},
		{name: "tcp_raw_buffers", make: func(t *testing.T, l *loopback) legs { return l.legs(t) }, noSplice: true},
		{name: "unix_client_leg", make: func(t *testing.T, l *loopback) legs {
			cli, srv := unixPair(t)
			pu, u := l.pair(t)
			return legs{client: cli, proxyC: srv, proxyU: pu, upstream: u}
		}},
		{name: "plain_loop", make: func(t *testing.T, l *loopback) legs {
			g := l.legs(t)
			g.proxyC, g.proxyU = plainConn{g.proxyC.(*net.TCPConn)}, plainConn{g.proxyU.(*net.TCPConn)}
			return g
		}},
		{name: "tls_client_leg", make: func(t *testing.T, l *loopback) legs {
			srv, cli := tlsPair(t, l)
			pu, u := l.pair(t)
			return legs{client: cli, proxyC: srv, proxyU: pu, upstream: u}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := tc.make(t, newLoopback(t))
			defer g.closeTestEnds()
			var onUp, onDown atomic.Int64
			opts := Options{IdleTimeout: time.Minute, OnBytes: func(u, d int64) {
				onUp.Add(u)
				onDown.Add(d)
			}}
			res := make(chan Result, 1)
			go func() { res <- pipe(g.proxyC, g.proxyU, opts, defaultPools, !tc.noSplice) }()
			bursts := spliceBursts.Load()
			exchange(t, g.client, g.upstream, up, down)
			r := waitResult(t, res, 10*time.Second)
			if r.Reason != ReasonEOF || r.Err != nil || r.Up != size || r.Down != size {
				t.Fatalf("result %+v, want eof with %d bytes each way", r, size)
			}
			spliced := spliceBursts.Load() > bursts
			if want := tc.name == "tcp_raw_splice" && runtime.GOOS == "linux"; spliced != want {
				t.Errorf("bulk bursts spliced: %v, want %v", spliced, want)
			}
			if onUp.Load() != size || onDown.Load() != size {
				t.Errorf("OnBytes summed up=%d down=%d, want %d each", onUp.Load(), onDown.Load(), size)
			}
		})
	}
}

// TestPipeHalfClose: the client finishes its request first and must still
// get the whole reply, sent after the upstream saw the end of the request.
func TestPipeHalfClose(t *testing.T) {
	g := newLoopback(t).legs(t)
	defer g.closeTestEnds()
	res := startPipe(g, Options{})
	if _, err := g.client.Write([]byte("request")); err != nil {
		t.Fatal(err)
	}
	if err := g.client.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	_ = g.upstream.SetDeadline(time.Now().Add(10 * time.Second))
	req, err := io.ReadAll(g.upstream)
	if err != nil || string(req) != "request" {
		t.Fatalf("upstream read %q, %v; want the request then EOF", req, err)
	}
	reply := randomBytes(t, 1<<20)
	if _, err := g.upstream.Write(reply); err != nil {
		t.Fatalf("reply after the client's half-close: %v", err)
	}
	g.upstream.Close()
	_ = g.client.SetDeadline(time.Now().Add(10 * time.Second))
	got, err := io.ReadAll(g.client)
	if err != nil || !bytes.Equal(got, reply) {
		t.Fatalf("client got %d bytes (%v), want the %d-byte reply", len(got), err, len(reply))
	}
	r := waitResult(t, res, 5*time.Second)
	if r.Reason != ReasonEOF || r.Up != 7 || r.Down != int64(len(reply)) {
		t.Fatalf("result %+v", r)
	}
}

// TestPipeNoHalfClose: net.Pipe cannot half-close, so an end of stream
// towards it ends the tunnel.
func TestPipeNoHalfClose(t *testing.T) {
	l := newLoopback(t)
	client, proxyC := net.Pipe()
	pu, upstream := l.pair(t)
	defer client.Close()
	defer upstream.Close()
	res := startPipe(legs{proxyC: proxyC, proxyU: pu}, Options{})
	go func() { _, _ = client.Write([]byte("hi")) }()
	buf := make([]byte, 2)
	_ = upstream.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(upstream, buf); err != nil || string(buf) != "hi" {
		t.Fatalf("upstream got %q, %v", buf, err)
	}
	if _, err := upstream.Write([]byte("yo")); err != nil {
		t.Fatal(err)
	}
	if err := upstream.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	_ = client.SetDeadline(time.Now().Add(10 * time.Second))
	got, err := io.ReadAll(client)
	if err != nil || string(got) != "yo" {
		t.Fatalf("client got %q, %v", got, err)
	}
	r := waitResult(t, res, 5*time.Second)
	if r.Reason != ReasonEOF || r.Up != 2 || r.Down != 2 {
		t.Fatalf("result %+v", r)
	}
}

func TestPipeIdleTimeout(t *testing.T) {
	const timeout = 150 * time.Millisecond
	g := newLoopback(t).legs(t)
	defer g.closeTestEnds()
	res := startPipe(g, Options{IdleTimeout: timeout})
	// A byte each 50ms for 600ms keeps it open though that is 4 timeouts.
	buf := make([]byte, 1)
	var last time.Time
	for i := range 12 {
		if _, err := g.client.Write([]byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(g.upstream, buf); err != nil {
			t.Fatal(err)
		}
		last = time.Now()
		time.Sleep(timeout / 3)
	}
	select {
	case r := <-res:
		t.Fatalf("closed while bytes kept moving: %+v", r)
	default:
	}
	r := waitResult(t, res, 5*time.Second)
	if r.Reason != ReasonIdle || r.Err != nil || r.Up != 12 {
		t.Fatalf("result %+v, want idle", r)
	}
	// The byte is counted just after its write, which the reader may see
	// a moment before: allow a little slack.
	if idle := time.Since(last); idle < timeout-5*time.Millisecond {
		t.Errorf("closed after %v of silence, before the %v timeout", idle, timeout)
	}
	assertClosed(t, g)
}

// assertClosed checks that both test ends see the proxy ends closed.
func assertClosed(t *testing.T, g legs) {
	t.Helper()
	for _, c := range []net.Conn{g.client, g.upstream} {
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if n, err := io.Copy(io.Discard, c); err != nil && !errors.Is(err, errReset) {
			t.Errorf("after %d bytes, read: %v; want EOF", n, err)
		}
	}
}

func TestPipeStop(t *testing.T) {
	g := newLoopback(t).legs(t)
	defer g.closeTestEnds()
	stop := make(chan struct{})
	res := startPipe(g, Options{Stop: stop, IdleTimeout: time.Hour})
	if _, err := g.upstream.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(g.client, make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	close(stop)
	r := waitResult(t, res, 2*time.Second)
	if r.Reason != ReasonStopped || r.Err != nil || r.Down != 1 {
		t.Fatalf("result %+v, want stopped", r)
	}
	assertClosed(t, g)
}

func TestPipeStopBeforeStart(t *testing.T) {
	g := newLoopback(t).legs(t)
	defer g.closeTestEnds()
	stop := make(chan struct{})
	close(stop)
	if r := waitResult(t, startPipe(g, Options{Stop: stop}), 2*time.Second); r.Reason != ReasonStopped {
		t.Fatalf("result %+v, want stopped", r)
	}
}

// TestPipeUpstreamReset: the upstream aborts (RST) in the middle of a
// download; the tunnel reports an error and closes the client.
func TestPipeUpstreamReset(t *testing.T) {
	g := newLoopback(t).legs(t)
	defer g.closeTestEnds()
	res := startPipe(g, Options{})
	chunk := randomBytes(t, 256<<10)
	if _, err := g.upstream.Write(chunk); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(g.client, make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}
	up := g.upstream.(*net.TCPConn)
	_ = up.SetLinger(0) // close sends RST
	// Unread request bytes make the kernel reset even without linger.
	if _, err := g.client.Write([]byte("more request")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	up.Close()
	r := waitResult(t, res, 5*time.Second)
	if r.Reason != ReasonError || r.Err == nil {
		t.Fatalf("result %+v, want an error", r)
	}
	t.Logf("reset reported as: %v", r.Err)
	_ = g.client.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.Copy(io.Discard, g.client); err != nil && !errors.Is(err, errReset) {
		t.Errorf("client read after reset: %v, want EOF", err)
	}
}

func TestPipeClosedConn(t *testing.T) {
	g := newLoopback(t).legs(t)
	defer g.closeTestEnds()
	g.proxyU.Close()
	r := waitResult(t, startPipe(g, Options{}), 5*time.Second)
	if r.Reason != ReasonError || !errors.Is(r.Err, net.ErrClosed) {
		t.Fatalf("result %+v, want an error wrapping net.ErrClosed", r)
	}
}

// TestPipeClearsDeadline: a deadline left from reading the CONNECT request
// must not cut the tunnel.
func TestPipeClearsDeadline(t *testing.T) {
	g := newLoopback(t).legs(t)
	defer g.closeTestEnds()
	_ = g.proxyC.SetDeadline(time.Now().Add(-time.Second))
	_ = g.proxyU.SetDeadline(time.Now().Add(-time.Second))
	res := startPipe(g, Options{})
	exchange(t, g.client, g.upstream, []byte("ping"), []byte("pong"))
	if r := waitResult(t, res, 5*time.Second); r.Reason != ReasonEOF {
		t.Fatalf("result %+v", r)
	}
}
