package h1

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// Transport is an http.RoundTripper that sends a request without a body to
// a plain-http origin on the caller's own goroutine, over a pool of its
// own: http.Transport hands every request to its per-connection read and
// write goroutines (4–5 wake-ups per request), which cost more CPU than
// the proxying itself. Every other request goes to Fallback. Its fields
// are read on first use and must not change after.
type Transport struct {
	// Fallback carries what Transport does not: a body, trailers, TLS, a
	// method that is not safe to retry. Required.
	Fallback http.RoundTripper
	// DialContext opens connections; nil means a net.Dialer. Its
	// context is the request's.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// ResponseHeaderTimeout bounds the wait for the response headers after
	// the request was written; zero means no bound.
	ResponseHeaderTimeout time.Duration
	// IdleConnTimeout closes a pooled connection idle for this long; zero
	// keeps it.
	IdleConnTimeout time.Duration
	// MaxIdleConns bounds the pool; zero means DefaultMaxIdleConns.
	MaxIdleConns int
	// MaxResponseHeaderBytes caps the response header block, with the 1xx
	// responses before it, as http.Transport counts it; zero means
	// http.Transport's default (10 MiB).
	MaxResponseHeaderBytes int64

	once sync.Once
	pool pool
}

// DefaultMaxIdleConns is Transport.MaxIdleConns' default.
const DefaultMaxIdleConns = 256

// ErrResponseHeaderTooLarge is (wrapped in) the error for a response header
// block over MaxResponseHeaderBytes. Its text carries http.Transport's
// own, so code that knows that one recognises both.
var ErrResponseHeaderTooLarge = errors.New("h1: response header block too large")

// max1xxResponses bounds the informational responses skipped before the
// final one, as http.Transport does.
const max1xxResponses = 5

// defaultMaxResponseHeaderBytes is http.Transport's default.
const defaultMaxResponseHeaderBytes = 10 << 20

// noHeaderLimit is conn.headerLeft while a body, not a header, is being
// read.
const noHeaderLimit = 1<<63 - 1

// Carries reports whether Transport sends req itself rather than handing
// it to Fallback: no body, no trailers, plain http, and a method that is
// safe to retry once on a fresh connection when a pooled one turns out to
// be stale.
func Carries(req *http.Request) bool {
	if req.URL.Scheme != "http" || (req.Body != nil && req.Body != http.NoBody) ||
		req.ContentLength != 0 || len(req.Trailer) > 0 || len(req.TransferEncoding) > 0 {
		return false
	}
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodDelete, http.MethodOptions:
		return true
	}
	return false
}

// RoundTrip sends req and returns the response, whose body releases the
// connection when closed. The request's context ending cuts the exchange
// at any point, the body included; the error is then the context's, as
// with http.Transport. A pooled connection that fails before any response
// byte is retried once on a fresh dial.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !Carries(req) {
		return t.Fallback.RoundTrip(req)
	}
	t.once.Do(t.init)
	ctx := req.Context()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// One allocation for the cut and the body it guards.
	x := &exchange{}
	stop := noStop
	if ctx.Done() != nil {
		stop = context.AfterFunc(ctx, x.cut.do)
	}
	res, err := t.roundTrip(ctx, x, req)
	if err != nil {
		stop()
		if cerr := ctx.Err(); cerr != nil {
			return nil, cerr
		}
		return nil, err
	}
	res.Body.(*body).stop = stop
	return res, nil
}

func noStop() bool { return true }

func (t *Transport) init() {
	t.pool.idle = t.IdleConnTimeout
	t.pool.maxIdle = t.MaxIdleConns
	if t.pool.maxIdle <= 0 {
		t.pool.maxIdle = DefaultMaxIdleConns
	}
	if t.MaxResponseHeaderBytes <= 0 {
		t.MaxResponseHeaderBytes = defaultMaxResponseHeaderBytes
	}
	if t.DialContext == nil {
		t.DialContext = (&net.Dialer{KeepAlive: 30 * time.Second}).DialContext
	}
}

// CloseIdleConnections closes the pooled connections, and Fallback's.
func (t *Transport) CloseIdleConnections() {
	t.pool.closeAll()
	if ci, ok := t.Fallback.(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
}

// exchange is one round trip's cut and response body.
type exchange struct {
	cut  cut
	body body
}

func (t *Transport) roundTrip(ctx context.Context, x *exchange, req *http.Request) (*http.Response, error) {
	addr := canonicalAddr(req)
	for attempt := 0; ; attempt++ {
		var c *conn
		if attempt == 0 {
			c = t.pool.get(addr)
		}
		reused := c != nil
		if c == nil {
			nc, err := t.DialContext(ctx, "tcp", addr)
			if err != nil {
				return nil, err
			}
			c = newConn(nc, addr)
		}
		res, err := t.send(x, c, req)
		if err == nil && reused && res.StatusCode == http.StatusRequestTimeout {
			// Most likely the 408 the origin sent while the connection
			// sat idle (http.Transport drops those too): retry on a fresh
			// connection. The method is idempotent, so a genuine 408 only
			// costs one more attempt.
			b := res.Body.(*body)
			b.keep, b.stop = false, noStop
			_ = b.Close()
			continue
		}
		if err == nil {
			return res, nil
		}
		_ = c.nc.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if reused && c.nread == 0 {
			continue
		}
		return nil, err
	}
}

// canonicalAddr is req's host:port, port 80 when the URL names none.
func canonicalAddr(req *http.Request) string {
	if port := req.URL.Port(); port != "" {
		return req.URL.Host
	}
	return net.JoinHostPort(req.URL.Hostname(), "80")
}

// conn is one connection owned by the Transport, with its buffers, which
// stay with it while it is pooled.
type conn struct {
	nc   net.Conn
	addr string
	br   *bufio.Reader
	bw   *bufio.Writer
	// nread counts bytes read since the current request was written: a
	// reused connection that fails with nothing read was stale.
	nread int64
	// headerLeft is what the response header block may still take from
	// the connection; reads stop there, as http.Transport's do.
	headerLeft int64
	idleAt     time.Time
	keys       []string // field names of the request being written, reused
	io         io.ReadWriter
}

func newConn(nc net.Conn, addr string) *conn {
	c := &conn{nc: nc, addr: addr, headerLeft: noHeaderLimit}
	c.io = socketIO(nc)
	c.bw = bufio.NewWriterSize(c.io, 4<<10)
	c.br = bufio.NewReaderSize(c, 4<<10)
	return c
}

// Read counts what the response reader takes from the connection.
func (c *conn) Read(p []byte) (int, error) {
	if c.headerLeft <= 0 {
		return 0, ErrResponseHeaderTooLarge
	}
	if int64(len(p)) > c.headerLeft {
		p = p[:c.headerLeft]
	}
	n, err := c.io.Read(p)
	c.nread += int64(n)
	c.headerLeft -= int64(n)
	return n, err
}

// send writes req on c and reads the final response's headers. The
// returned body gives c back to the pool when it was read to its end. A
// cut closes c, which fails the pending read or write.
func (t *Transport) send(x *exchange, c *conn, req *http.Request) (_ *http.Response, err error) {
	ct := &x.cut
	if !ct.arm(c.nc) {
		return nil, context.Canceled
	}
	defer func() {
		if err != nil {
			ct.release()
		}
	}()
	c.nread = 0
	var written bool
	if c.keys, written = writeRequest(c.bw, req, c.keys); !written {
		if err := req.Write(c.bw); err != nil {
			c.bw.Reset(c.io)
			return nil, err
		}
	}
	if err := c.bw.Flush(); err != nil {
		return nil, err
	}
	if t.ResponseHeaderTimeout > 0 {
		if err := c.nc.SetReadDeadline(time.Now().Add(t.ResponseHeaderTimeout)); err != nil {
			return nil, err
		}
	}
	var res *http.Response
	// The 1xx responses and the final one share one limit, as in
	// http.Transport.
	c.headerLeft = t.MaxResponseHeaderBytes
	for n := 0; ; n++ {
		res, err = http.ReadResponse(c.br, req)
		if err != nil {
			if c.headerLeft <= 0 {
				return nil, fmt.Errorf("%w: net/http: server response headers exceeded %d bytes; aborted",
					ErrResponseHeaderTooLarge, t.MaxResponseHeaderBytes)
			}
			return nil, err
		}
		if res.StatusCode < 100 || res.StatusCode > 199 || res.StatusCode == http.StatusSwitchingProtocols {
			break
		}
		if n >= max1xxResponses {
			return nil, errors.New("net/http: too many 1xx informational responses")
		}
	}
	c.headerLeft = noHeaderLimit
	if t.ResponseHeaderTimeout > 0 {
		if err := c.nc.SetReadDeadline(time.Time{}); err != nil {
			return nil, err
		}
	}
	b := &x.body
	*b = body{src: res.Body, c: c, p: &t.pool, cut: ct,
		keep: !res.Close && res.StatusCode != http.StatusSwitchingProtocols}
	if res.Body == http.NoBody {
		b.eof = true
	}
	res.Body = b
	return res, nil
}

// body is a response body: Close pools its connection when the body was
// read to its end and the response allows keep-alive, and closes it
// otherwise (it is never drained: a cut response is abandoned).
type body struct {
	src    io.ReadCloser
	c      *conn
	p      *pool
	cut    *cut
	stop   func() bool // unhooks the cut from the request's context
	keep   bool
	eof    bool
	closed bool
}

func (b *body) Read(p []byte) (int, error) {
	if b.closed {
		return 0, net.ErrClosed
	}
	n, err := b.src.Read(p)
	if err == io.EOF {
		b.eof = true
	}
	return n, err
}

// Close releases the connection; the source body needs no closing of its
// own (it holds nothing but the connection's reader).
func (b *body) Close() error {
	if b.closed {
		return nil
	}
	b.closed = true
	b.stop()
	// release reports false when a cut closed the conn or is closing it.
	if b.cut.release() && b.eof && b.keep && b.c.br.Buffered() == 0 {
		b.p.put(b.c)
		return nil
	}
	_ = b.c.nc.Close()
	return nil
}
