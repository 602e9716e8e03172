package h1

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/callgate/callgate/internal/rawio"
)

// The lane serves the common requests of a plain proxy connection —
// keep-alive requests without a body (GET http://…, CONNECT host:port,
// GET /callout/…) — on the connection's own goroutine, without net/http's
// server loop, whose per-request costs (a background read goroutine to
// notice a departed client, a cancelable context, a pooled response with
// its own buffers) were most of callgate's CPU per absolute-form request.
//
// The lane never parses on its own (parse.go): it finds the end of the
// header block in its buffer, checks that the block is in a strict subset
// of HTTP/1.1, and has net/http's own parser read it. Anything else is
// handed, unread, to Fallback, which then owns the connection and answers
// exactly as it always did.

// laneBufSize is the lane's read and write buffer size, and so the largest
// header block it serves itself (net/http's are the same size).
const laneBufSize = 4 << 10

// Lane connection states: waiting for the first byte of a request
// (Shutdown may close it), serving one, or told to stop.
const (
	laneIdle int32 = iota
	laneActive
	laneClosed
)

// laneConn is one client connection while the lane serves it.
type laneConn struct {
	s      *Server
	c      *net.TCPConn
	br     *bufio.Reader
	bw     *bufio.Writer
	remote string
	ctx    context.Context
	cancel context.CancelFunc
	state  atomic.Int32
	w      laneWriter
	watch  clientWatch
	// pending holds a header block the lane read for Fallback.
	pending []byte
}

var (
	laneReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, laneBufSize) }}
	laneWriters = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, laneBufSize) }}
)

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

// serveLane serves c's requests until one is not the lane's (then Fallback
// gets the connection, its bytes unread), the client closes, a response
// asks to close, a handler hijacks it, or Shutdown.
func (s *Server) serveLane(l *laneListener, c *net.TCPConn) {
	lc := &laneConn{s: s, c: c, remote: c.RemoteAddr().String()}
	if !s.lanes.add(lc) {
		_ = c.Close()
		return
	}
	lc.ctx, lc.cancel = context.WithCancel(context.Background())
	sock := socketIO(c)
	lc.br = laneReaders.Get().(*bufio.Reader)
	lc.br.Reset(sock)
	lc.bw = laneWriters.Get().(*bufio.Writer)
	lc.bw.Reset(sock)
	keepConn := false
	defer func() {
		lc.cancel()
		if lc.w.hijacked {
			s.lanes.remove(lc)
			return // the buffers went with the connection
		}
		if !keepConn {
			_ = c.Close()
		}
		// After the close: Shutdown's wait ends with the socket closed.
		s.lanes.remove(lc)
		lc.br.Reset(nil)
		laneReaders.Put(lc.br)
		lc.bw.Reset(nil)
		laneWriters.Put(lc.bw)
	}()
	for first := true; ; first = false {
		// The first request's header must arrive within ReadHeaderTimeout
		// of the accept, as with net/http; a later one may be preceded by
		// IdleTimeout of silence, and its header then has
		// ReadHeaderTimeout.
		wait := s.IdleTimeout
		if first {
			wait = s.ReadHeaderTimeout
		}
		_ = c.SetReadDeadline(time.Now().Add(wait))
		if _, err := lc.br.Peek(1); err != nil {
			return
		}
		if !lc.state.CompareAndSwap(laneIdle, laneActive) {
			return // Shutdown
		}
		if !first {
			_ = c.SetReadDeadline(time.Now().Add(s.ReadHeaderTimeout))
		}
		req, n := lc.readRequest()
		switch {
		case n < 0:
			return // the client went away or stalled mid-header: net/http closes silently too
		case req == nil:
			keepConn = l.handOff(lc.handoffConn())
			return
		}
		_, _ = lc.br.Discard(n)
		if !lc.serve(req) || lc.w.hijacked {
			return
		}
		// Idle before the check: Shutdown either sees it idle, or set
		// closing before this load.
		lc.state.Store(laneIdle)
		if s.lanes.closing.Load() {
			return
		}
	}
}

// handoffConn is c for Fallback, with the bytes the lane has read but not
// served, which Fallback reads first.
func (lc *laneConn) handoffConn() net.Conn {
	replay := lc.pending
	if n := lc.br.Buffered(); n > 0 {
		b, _ := lc.br.Peek(n)
		replay = append(replay, b...)
	}
	if len(replay) == 0 {
		return lc.c
	}
	return &ReplayConn{TCPConn: lc.c, Replay: replay}
}

// fallbackHeaderLimit is how many header bytes Fallback reads before it
// answers 431.
func (s *Server) fallbackHeaderLimit() int {
	n := s.Fallback.MaxHeaderBytes
	if n <= 0 {
		n = http.DefaultMaxHeaderBytes
	}
	return n + netHTTPHeaderSlack
}

// collectHeader reads the rest of a header block too large for the lane,
// under the lane's header deadline, into pending for Fallback: handing
// over half a block would give a slow client a fresh ReadHeaderTimeout.
// It stops at the block's end or past Fallback's own limit (which then
// answers 431), and returns -1 when the client failed or ran out of time.
func (lc *laneConn) collectHeader() int {
	limit := lc.s.fallbackHeaderLimit()
	for {
		n := lc.br.Buffered()
		b, _ := lc.br.Peek(n)
		lc.pending = append(lc.pending, b...)
		_, _ = lc.br.Discard(n)
		if headerEnd(lc.pending) > 0 || len(lc.pending) > limit {
			return 0
		}
		if _, err := lc.br.Peek(1); err != nil {
			return -1
		}
	}
}

// readRequest waits for the whole header block of the next request and
// returns it parsed with its length when the lane serves it, or nil when
// Fallback must (n = 0); n < 0 means the connection is done.
func (lc *laneConn) readRequest() (*http.Request, int) {
	maxHeader := lc.s.MaxHeaderBytes
	limit := min(lc.br.Size(), maxHeader)
	for {
		buf, _ := lc.br.Peek(lc.br.Buffered())
		if end := headerEnd(buf); end > 0 {
			switch {
			case end > maxHeader:
				return nil, lc.refuseHeaderTooLarge()
			case end > limit:
				return nil, 0
			}
			req := parseLaneRequest(buf[:end])
			if req == nil {
				return nil, 0
			}
			req.RemoteAddr = lc.remote
			return req.WithContext(lc.ctx), end
		}
		if len(buf) >= limit {
			if limit == maxHeader {
				// The block goes on past the limit.
				return nil, lc.refuseHeaderTooLarge()
			}
			return nil, lc.collectHeader()
		}
		if _, err := lc.br.Peek(len(buf) + 1); err != nil {
			return nil, -1
		}
	}
}

// bare431 is HeaderTooLarge's default: net/http's own answer.
const bare431 = "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n431 Request Header Fields Too Large"

// refuseHeaderTooLarge answers a header block over a limit smaller than
// Fallback can enforce (it reads at least 4 KiB), and reports the
// connection done.
func (lc *laneConn) refuseHeaderTooLarge() int {
	answer := []byte(bare431)
	if lc.s.HeaderTooLarge != nil {
		answer = lc.s.HeaderTooLarge()
	}
	_, _ = lc.c.Write(answer)
	_ = lc.c.CloseWrite()
	return -1
}

// serve runs the handler for req and completes the response; it reports
// whether the connection may carry another request.
func (lc *laneConn) serve(req *http.Request) (keep bool) {
	w := &lc.w
	w.reset(lc, req)
	lc.watch.arm(lc)
	defer func() {
		// Stopped before the lane reads the next request (also after a
		// panic); Hijack stops it earlier.
		lc.watch.disarm(lc)
		if p := recover(); p != nil {
			keep = false
			if p != http.ErrAbortHandler {
				lc.s.log().Sugar().Errorf("proxy: panic serving %s: %v", lc.remote, p)
			}
		}
	}()
	lc.s.Handler.ServeHTTP(w, req)
	return w.finish() && lc.ctx.Err() == nil
}

// clientWatchDelay is how long a request runs before the lane starts
// watching its client: a request answered sooner never pays for a watcher.
const clientWatchDelay = 50 * time.Millisecond

// clientWatch notices a client that leaves while its request waits (a
// slow endpoint) and cancels the request's context — what net/http's
// background read does for every request, started here only for a request
// still running after clientWatchDelay. While the handler runs nothing
// else reads the client (lane requests have no body), so the watcher may
// wait on the connection's reader.
type clientWatch struct {
	timer    *time.Timer
	mu       sync.Mutex
	off      bool // the handler returned: do not start
	watching bool
	done     chan struct{} // closed when the watcher has stopped reading
}

func (cw *clientWatch) arm(lc *laneConn) {
	cw.mu.Lock()
	cw.off, cw.watching = false, false
	cw.mu.Unlock()
	if cw.timer == nil {
		cw.timer = time.AfterFunc(clientWatchDelay, func() { cw.run(lc) })
		return
	}
	cw.timer.Reset(clientWatchDelay)
}

// run waits for the client's next byte or its end; an end (EOF, reset)
// cancels the request. A pipelined next request just stays buffered.
func (cw *clientWatch) run(lc *laneConn) {
	cw.mu.Lock()
	// A run the previous request's timer fired late may get here after
	// arm re-armed the timer for the next one: whichever comes first
	// watches, and the other must not read the connection beside it.
	if cw.off || cw.watching {
		cw.mu.Unlock()
		return
	}
	cw.watching = true
	cw.done = make(chan struct{})
	_ = lc.c.SetReadDeadline(time.Time{})
	cw.mu.Unlock()
	defer close(cw.done)
	if _, err := lc.br.Peek(1); err != nil && !isTimeout(err) {
		lc.cancel()
	}
}

// disarm stops the watcher, if it started, and waits until it no longer
// reads, so the lane can read the next request.
func (cw *clientWatch) disarm(lc *laneConn) {
	cw.timer.Stop()
	cw.mu.Lock()
	cw.off = true
	watching := cw.watching
	if watching {
		_ = lc.c.SetReadDeadline(aLongTimeAgo)
	}
	cw.mu.Unlock()
	if watching {
		<-cw.done
		cw.mu.Lock()
		cw.watching = false
		cw.mu.Unlock()
	}
}

// isTimeout reports a deadline error.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
