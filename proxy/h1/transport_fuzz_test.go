package h1

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// scriptedUpstream is a loopback endpoint that reads one request head on
// each connection and replies with resp, then closes. (An in-memory pipe
// would not do: it fails a deadline set after the peer closed, where TCP
// does not.)
type scriptedUpstream struct {
	ln   net.Listener
	resp atomic.Pointer[[]byte]
}

func startScriptedUpstream(tb testing.TB) *scriptedUpstream {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	u := &scriptedUpstream{ln: ln}
	tb.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go u.serve(c, *u.resp.Load())
		}
	}()
	return u
}

func (u *scriptedUpstream) serve(c net.Conn, resp []byte) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		if line == "\r\n" {
			break
		}
	}
	_, _ = c.Write(resp)
}

// DialContext dials the upstream, whatever address is asked for.
func (u *scriptedUpstream) DialContext(ctx context.Context, network, _ string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, network, u.ln.Addr().String())
}

// errClass is what a caller can tell apart in a round trip's error: the
// header cap, a timeout, or any other failure (callgate answers each
// differently).
type errClass uint8

const (
	errNone errClass = iota
	errHeaderTooLarge
	errTimeout
	errFailed
)

func classOf(err error) errClass {
	var ne net.Error
	switch {
	case err == nil:
		return errNone
	case errors.Is(err, ErrResponseHeaderTooLarge), strings.Contains(err.Error(), "server response headers exceeded"):
		return errHeaderTooLarge
	case errors.As(err, &ne) && ne.Timeout():
		return errTimeout
	}
	return errFailed
}

// upstreamOutcome is what a caller gets from one upstream response: the
// class of the error, or the response.
type upstreamOutcome struct {
	Class      errClass
	Status     int
	Header     http.Header
	Body       []byte
	BodyFailed bool
	Trailer    http.Header
	err        error // for the failure message; not compared
}

func outcomeOf(res *http.Response, err error) upstreamOutcome {
	if err != nil {
		return upstreamOutcome{Class: classOf(err), err: err}
	}
	defer res.Body.Close()
	body, berr := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	return upstreamOutcome{Status: res.StatusCode, Header: res.Header, Body: body, BodyFailed: berr != nil, Trailer: res.Trailer}
}

// FuzzUpstreamResponse holds Transport to http.Transport on what an
// endpoint answers: for any bytes, both fail in the same way (the
// response header cap included) or give the same status, header, body and
// trailers.
func FuzzUpstreamResponse(f *testing.F) {
	for _, seed := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n2\r\nok\r\n0\r\nX-Sum: 1\r\n\r\n",
		"HTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.0 200 OK\r\n\r\nuntil close",
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nshort",
		"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n1\r\na\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nX-Big: " + string(bytes.Repeat([]byte("h"), 9000)) + "\r\n\r\n",
		"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 103 Early Hints\r\nX-Pad: " + string(bytes.Repeat([]byte("p"), 5000)) + "\r\n\r\nHTTP/1.1 200 OK\r\n\r\n",
		"HTTP/1.1 2000 OK\r\n\r\n",
		"garbage\r\n\r\n",
		"HTTP/1.1 200 OK\r\nBad Header\r\n\r\n",
		"HTTP/1.1 200 OK\r\n folded: x\r\n\r\n",
		"",
	} {
		f.Add([]byte(seed))
	}
	relay := newUpstreamRelay(f)
	f.Fuzz(func(t *testing.T, resp []byte) {
		fast, std := relay(resp)
		fe, se := fast.err, std.err
		fast.err, std.err = nil, nil
		if !reflect.DeepEqual(fast, std) {
			t.Errorf("response %.200q:\nfast path: %+v (%v)\ntransport: %+v (%v)", resp, fast, fe, std, se)
		}
	})
}

// relayLimit is the response header cap of newUpstreamRelay: small, so that
// the fuzzer reaches it.
const relayLimit = 8 << 10

// newUpstreamRelay returns a function that sends a GET with Transport and
// with http.Transport, configured alike, to an endpoint answering resp,
// and what each gives.
func newUpstreamRelay(tb testing.TB) func(resp []byte) (fast, std upstreamOutcome) {
	up := startScriptedUpstream(tb)
	stdT := &http.Transport{DialContext: up.DialContext, ResponseHeaderTimeout: 2 * time.Second,
		MaxResponseHeaderBytes: relayLimit, DisableCompression: true}
	fastT := &Transport{Fallback: stdT, DialContext: up.DialContext, ResponseHeaderTimeout: 2 * time.Second,
		MaxResponseHeaderBytes: relayLimit}
	newReq := func() *http.Request {
		return &http.Request{Method: http.MethodGet, URL: &url.URL{Scheme: "http", Host: "vpce.example:80", Path: "/"},
			Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: http.Header{}, Host: "fuzz.example"}
	}
	if !Carries(newReq()) {
		tb.Fatal("Transport would hand the relay's request to its fallback: the comparison would be with itself")
	}
	return func(resp []byte) (upstreamOutcome, upstreamOutcome) {
		up.resp.Store(&resp)
		fast := outcomeOf(fastT.RoundTrip(newReq()))
		fastT.pool.closeAll()
		std := outcomeOf(stdT.RoundTrip(newReq()))
		stdT.CloseIdleConnections()
		return fast, std
	}
}

// TestUpstreamRelayOutcomes: the relay the fuzzer compares sees real
// outcomes (so agreement means something), the cap among them.
func TestUpstreamRelayOutcomes(t *testing.T) {
	relay := newUpstreamRelay(t)
	pad := func(n int) string { return string(bytes.Repeat([]byte("h"), n)) }
	for _, tc := range []struct {
		resp   string
		class  errClass
		status int
		body   string
	}{
		{"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 0, 200, "ok"},
		{"HTTP/1.1 200 OK\r\nX-Big: " + pad(relayLimit-100) + "\r\nContent-Length: 2\r\n\r\nok", 0, 200, "ok"},
		{"HTTP/1.1 200 OK\r\nX-Big: " + pad(relayLimit) + "\r\n\r\n", errHeaderTooLarge, 0, ""},
		{"HTTP/1.1 103 Early Hints\r\nX-A: " + pad(relayLimit/2) + "\r\n\r\nHTTP/1.1 200 OK\r\nX-B: " + pad(relayLimit/2) + "\r\n\r\n", errHeaderTooLarge, 0, ""},
		{"garbage\r\n\r\n", errFailed, 0, ""},
	} {
		fast, std := relay([]byte(tc.resp))
		for name, o := range map[string]upstreamOutcome{"h1": fast, "net/http": std} {
			if o.Class != tc.class || o.Status != tc.status || string(o.Body) != tc.body {
				t.Errorf("%s, response %.60q: class %v status %d body %q; want %v %d %q", name, tc.resp, o.Class, o.Status, o.Body, tc.class, tc.status, tc.body)
			}
		}
	}
}
