package proxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/callgate/callgate/internal/rawio"
	"github.com/callgate/callgate/routing"
)

// The fast path forwards a request without a body to a plain-http endpoint
// on the handler's own goroutine: http.Transport would hand every request
// to its per-connection read and write goroutines (4–5 wake-ups per
// request), which cost more CPU than the proxying itself. Anything with a
// body, or with TLS to originate, keeps the Transport.

// fastEligible reports whether outreq may take the fast path: no body, no
// trailers, plain http, and a method that is safe to retry once on a fresh
// connection when a pooled one turns out to be stale.
func fastEligible(outreq *http.Request, d *routing.Destination) bool {
	if d.Scheme != routing.HTTP || outreq.URL.Scheme != "http" || outreq.Body != nil ||
		outreq.ContentLength != 0 || len(outreq.Trailer) > 0 || len(outreq.TransferEncoding) > 0 {
		return false
	}
	switch outreq.Method {
	case http.MethodGet, http.MethodHead, http.MethodDelete, http.MethodOptions:
		return true
	}
	return false
}

// max1xxResponses bounds the informational responses skipped before the
// final one, as http.Transport does.
const max1xxResponses = 5

// fastConn is one upstream connection owned by the fast path, with its
// buffers, which stay with it while it is pooled.
type fastConn struct {
	conn net.Conn
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

func newFastConn(c net.Conn, addr string) *fastConn {
	fc := &fastConn{conn: c, addr: addr, headerLeft: noHeaderLimit}
	fc.io = socketIO(c)
	fc.bw = bufio.NewWriterSize(fc.io, 4<<10)
	fc.br = bufio.NewReaderSize(fc, 4<<10)
	return fc
}

// socketIO reads and writes c's socket with rawio when c is a plain TCP
// connection, else through c.
func socketIO(c net.Conn) io.ReadWriter {
	if tc, ok := c.(*net.TCPConn); ok {
		if rw, err := rawio.New(tc); err == nil {
			return rw
		}
	}
	return c
}

// Read counts what the response reader takes from the connection.
func (c *fastConn) Read(p []byte) (int, error) {
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

// noHeaderLimit is headerLeft while a body, not a header, is being read.
const noHeaderLimit = 1<<63 - 1

// fastPool holds one named credential's idle fast-path connections,
// oldest first, keyed by endpoint address like the Transport's pool.
type fastPool struct {
	idle time.Duration // 0: no idle limit
	mu   sync.Mutex
	free []*fastConn
	// sweep closes connections idle for longer than idle; it runs only
	// while the pool holds some.
	sweep *time.Timer
}

// fastPoolFor returns d's fast pool, creating it on first use.
func (s *Server) fastPoolFor(st *state, d *routing.Destination) *fastPool {
	ds := st.dest(d)
	if p := ds.fast.Load(); p != nil {
		return p
	}
	p := &fastPool{idle: s.t.IdleConn}
	if ds.fast.CompareAndSwap(nil, p) {
		return p
	}
	return ds.fast.Load()
}

// get takes the most recently pooled connection to addr, or nil.
func (p *fastPool) get(addr string) *fastConn {
	var stale []*fastConn
	p.mu.Lock()
	var c *fastConn
	for i := len(p.free) - 1; i >= 0; i-- {
		if p.free[i].addr != addr {
			continue
		}
		c = p.free[i]
		copy(p.free[i:], p.free[i+1:])
		p.free[len(p.free)-1] = nil
		p.free = p.free[:len(p.free)-1]
		if p.idle > 0 && time.Since(c.idleAt) > p.idle {
			stale = append(stale, c)
			c = nil
			continue
		}
		break
	}
	p.mu.Unlock()
	for _, sc := range stale {
		_ = sc.conn.Close()
	}
	return c
}

// put pools c, or closes it when the pool is full or the state retired.
// retired is checked under the lock that closeAll takes after it is set,
// so no connection is pooled into a state that has been emptied.
func (p *fastPool) put(c *fastConn, retired *atomic.Bool) {
	p.mu.Lock()
	if retired.Load() || len(p.free) >= maxIdlePerEndpoint {
		p.mu.Unlock()
		_ = c.conn.Close()
		return
	}
	c.idleAt = time.Now()
	p.free = append(p.free, c)
	if p.idle > 0 && p.sweep == nil {
		p.sweep = time.AfterFunc(p.idle, p.expire)
	}
	p.mu.Unlock()
}

// expire closes the connections idle for longer than p.idle and re-arms
// for the oldest one left.
func (p *fastPool) expire() {
	now := time.Now()
	p.mu.Lock()
	n := 0
	for n < len(p.free) && now.Sub(p.free[n].idleAt) >= p.idle {
		n++
	}
	old := make([]*fastConn, n)
	copy(old, p.free[:n])
	rest := copy(p.free, p.free[n:])
	clear(p.free[rest:])
	p.free = p.free[:rest]
	if len(p.free) > 0 {
		p.sweep.Reset(p.free[0].idleAt.Add(p.idle).Sub(now))
	} else {
		p.sweep = nil
	}
	p.mu.Unlock()
	for _, c := range old {
		_ = c.conn.Close()
	}
}

// closeAll closes every pooled connection.
func (p *fastPool) closeAll() {
	p.mu.Lock()
	free := p.free
	p.free = nil
	if p.sweep != nil {
		p.sweep.Stop()
		p.sweep = nil
	}
	p.mu.Unlock()
	for _, c := range free {
		_ = c.conn.Close()
	}
}

// fastRoundTrip sends req (fastEligible) on a pooled or new connection and
// returns the response, whose body releases the connection. cut ends it
// early; ctx is the client's request context. A cut or a departed client
// is returned as context.Canceled, other failures as the dial, write, read
// or timeout error, as the Transport would. A pooled connection that fails
// before any response byte is retried once on a fresh dial.
func (s *Server) fastRoundTrip(ctx context.Context, cut *fastCut, st *state, d *routing.Destination, req *http.Request) (*http.Response, error) {
	p := s.fastPoolFor(st, d)
	addr := req.URL.Host
	for attempt := 0; ; attempt++ {
		var c *fastConn
		if attempt == 0 {
			c = p.get(addr)
		}
		reused := c != nil
		if c == nil {
			conn, err := s.fastDial(ctx, cut, st, addr)
			if err != nil {
				return nil, err
			}
			c = newFastConn(conn, addr)
		}
		res, err := s.fastSend(cut, st, p, c, req)
		if err == nil && reused && res.StatusCode == http.StatusRequestTimeout {
			// Most likely the 408 the endpoint sent while the
			// connection sat idle (the Transport drops those too):
			// retry on a fresh connection. The method is idempotent,
			// so a genuine 408 only costs one more attempt.
			res.Body.(*fastBody).keep = false
			_ = res.Body.Close()
			continue
		}
		if err == nil {
			return res, nil
		}
		_ = c.conn.Close()
		if cut.done() || ctx.Err() != nil {
			return nil, context.Canceled
		}
		if reused && c.nread == 0 {
			continue
		}
		return nil, err
	}
}

// fastDial dials addr for the fast path; a cut cancels the dial.
func (s *Server) fastDial(ctx context.Context, cut *fastCut, st *state, addr string) (net.Conn, error) {
	dctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if !cut.arm(nil, cancel) {
		return nil, context.Canceled
	}
	conn, err := s.dialAddr(dctx, st.snap, addr)
	cut.release()
	if err != nil {
		if dctx.Err() != nil {
			return nil, context.Canceled
		}
		return nil, err
	}
	return conn, nil
}

// fastSend writes req on c and reads the final response's headers. The
// returned body gives c back to p when it was read to its end. A cut
// closes c, which fails the pending read or write.
func (s *Server) fastSend(cut *fastCut, st *state, p *fastPool, c *fastConn, req *http.Request) (_ *http.Response, err error) {
	if !cut.arm(c.conn, nil) {
		return nil, context.Canceled
	}
	defer func() {
		if err != nil {
			cut.release()
		}
	}()
	c.nread = 0
	var written bool
	if c.keys, written = writeFastRequest(c.bw, req, c.keys); !written {
		if err := req.Write(c.bw); err != nil {
			c.bw.Reset(c.io)
			return nil, err
		}
	}
	if err := c.bw.Flush(); err != nil {
		return nil, err
	}
	if s.t.ResponseHeader > 0 {
		if err := c.conn.SetReadDeadline(time.Now().Add(s.t.ResponseHeader)); err != nil {
			return nil, err
		}
	}
	var res *http.Response
	// The 1xx responses and the final one share one limit, as in
	// http.Transport.
	c.headerLeft = s.maxRespHeaderBytes
	for n := 0; ; n++ {
		res, err = http.ReadResponse(c.br, req)
		if err != nil {
			if c.headerLeft <= 0 {
				return nil, fmt.Errorf("%w (%d bytes)", ErrResponseHeaderTooLarge, s.maxRespHeaderBytes)
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
	if s.t.ResponseHeader > 0 {
		if err := c.conn.SetReadDeadline(time.Time{}); err != nil {
			return nil, err
		}
	}
	fb := &fastBody{src: res.Body, c: c, p: p, retired: &st.retired, cut: cut,
		keep: !res.Close && res.StatusCode != http.StatusSwitchingProtocols}
	if res.Body == http.NoBody {
		fb.eof = true
	}
	res.Body = fb
	return res, nil
}

// fastBody is a fast-path response body: Close pools its connection when
// the body was read to its end and the response allows keep-alive, and
// closes it otherwise (it is never drained: a cut response is abandoned).
type fastBody struct {
	src     io.ReadCloser
	c       *fastConn
	p       *fastPool
	retired *atomic.Bool
	cut     *fastCut
	keep    bool
	eof     bool
	closed  bool
}

func (b *fastBody) Read(p []byte) (int, error) {
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
func (b *fastBody) Close() error {
	if b.closed {
		return nil
	}
	b.closed = true
	// release reports false when a cut closed the conn or is closing it.
	if b.cut.release() && b.eof && b.keep && b.c.br.Buffered() == 0 {
		b.p.put(b.c, b.retired)
		return nil
	}
	_ = b.c.conn.Close()
	return nil
}
