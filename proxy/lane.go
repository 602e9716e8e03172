package proxy

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"golang.org/x/net/http/httpguts"
)

// The lane serves the common requests of a plain proxy connection —
// keep-alive requests without a body (GET http://…, CONNECT host:port,
// GET /callout/…) — on the connection's own goroutine, without net/http's
// server loop, whose per-request costs (a background read goroutine to
// notice a departed client, a cancelable context, a pooled response with
// its own buffers) were most of callgate's CPU per absolute-form request.
//
// The lane never parses on its own: it finds the end of the header block
// in its buffer, checks that the block is in a strict subset of HTTP/1.1
// (HTTP/1.1 only, CRLF line ends, no folded lines, no body, no Expect or
// Upgrade, exactly one valid Host), and has net/http's own parser
// (http.ReadRequest) read it, then applies the checks net/http's server
// adds. Anything else — a body, HTTP/1.0, a header block larger than the
// buffer, anything the subset or the parser does not accept — is handed,
// unread, to net/http's server, which then owns the connection and answers
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

// laneListener is the listener net/http serves: it returns the
// connections the lane handed over, and the non-TCP ones (TLS) as they
// come. The lane's own accept loop reads the real listener.
type laneListener struct {
	ln      net.Listener
	s       *Server
	handoff chan net.Conn
	done    chan struct{} // closed once: Close, or the real listener failed
	once    sync.Once
	err     error // why done closed; written before done is closed
}

// Serve accepts proxy connections on ln until Shutdown; like
// http.Server.Serve it then returns http.ErrServerClosed.
func (s *Server) Serve(ln net.Listener) error {
	l := &laneListener{ln: ln, s: s, handoff: make(chan net.Conn), done: make(chan struct{})}
	s.lnMu.Lock()
	if s.listeners == nil {
		s.listeners = make(map[*laneListener]struct{})
	}
	s.listeners[l] = struct{}{}
	s.lnMu.Unlock()
	defer func() {
		s.lnMu.Lock()
		delete(s.listeners, l)
		s.lnMu.Unlock()
	}()
	go l.acceptLoop()
	err := s.hs.Serve(l)
	if s.lanes.closing.Load() && errors.Is(err, net.ErrClosed) {
		// Shutdown closed the listener before net/http's Shutdown could
		// say so.
		return http.ErrServerClosed
	}
	return err
}

func (l *laneListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.handoff:
		return c, nil
	case <-l.done:
		return nil, l.err
	}
}

// Close closes the real listener; Shutdown and net/http's server both
// call it, and only the first call closes.
func (l *laneListener) Close() error {
	err := net.ErrClosed
	l.once.Do(func() {
		err = l.ln.Close()
		l.err = net.ErrClosed
		close(l.done)
	})
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

func (l *laneListener) Addr() net.Addr { return l.ln.Addr() }

func (l *laneListener) stop(err error) {
	l.once.Do(func() {
		l.err = err
		close(l.done)
	})
}

// handOff gives c to net/http's server; it reports false (and closes c)
// when the server no longer accepts.
func (l *laneListener) handOff(c net.Conn) bool {
	select {
	case l.handoff <- c:
		return true
	case <-l.done:
		_ = c.Close()
		return false
	}
}

// acceptLoop accepts until the listener is closed. A failing accept
// (out of descriptors, say) is retried after a growing pause, as net/http
// does, so a burst of connections does not stop the proxy for good.
func (l *laneListener) acceptLoop() {
	var pause time.Duration
	for {
		c, err := l.ln.Accept()
		if err != nil {
			select {
			case <-l.done:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				l.stop(err)
				return
			}
			pause = min(max(2*pause, 5*time.Millisecond), time.Second)
			l.s.log.Warn("proxy: accept failed; retrying", zap.Error(err), zap.Duration("pause", pause))
			time.Sleep(pause)
			continue
		}
		pause = 0
		if tc, ok := c.(*net.TCPConn); ok {
			if l.s.engine == EngineFast {
				go l.s.serveLane(l, tc)
				continue
			}
			// errConn still gives net/http's own error answers the
			// refusal shape.
			c = &errConn{TCPConn: tc, s: l.s}
		}
		l.handOff(c)
	}
}

// lanes tracks the connections the lane is serving, for Shutdown.
type lanes struct {
	closing atomic.Bool
	mu      sync.Mutex
	conns   map[*laneConn]struct{}
	wg      sync.WaitGroup
}

func (ls *lanes) add(lc *laneConn) bool {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.closing.Load() {
		return false
	}
	if ls.conns == nil {
		ls.conns = make(map[*laneConn]struct{})
	}
	ls.conns[lc] = struct{}{}
	ls.wg.Add(1)
	return true
}

func (ls *lanes) remove(lc *laneConn) {
	ls.mu.Lock()
	delete(ls.conns, lc)
	ls.mu.Unlock()
	ls.wg.Done()
}

// drain stops the lane: idle connections are woken and close, a request
// being served finishes (its response says Connection: close) and then
// its connection closes. It returns when all are gone or ctx ends, when
// the rest are cut.
func (ls *lanes) drain(ctx context.Context) error {
	// closing first: a connection that turns idle after the loop below
	// passed it sees the flag (serveLane checks it after going idle).
	ls.closing.Store(true)
	ls.mu.Lock()
	for lc := range ls.conns {
		if lc.state.CompareAndSwap(laneIdle, laneClosed) {
			_ = lc.c.SetReadDeadline(aLongTimeAgo)
		}
	}
	ls.mu.Unlock()
	done := make(chan struct{})
	go func() {
		ls.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		ls.closeAll()
		<-done
		return ctx.Err()
	}
}

// closeAll cuts every lane connection and its request.
func (ls *lanes) closeAll() {
	ls.closing.Store(true)
	ls.mu.Lock()
	for lc := range ls.conns {
		lc.cancel()
		_ = lc.c.Close()
	}
	ls.mu.Unlock()
}

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
	// pending holds a header block the lane read for net/http.
	pending []byte
}

var (
	laneReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, laneBufSize) }}
	laneWriters = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, laneBufSize) }}
)

// serveLane serves c's requests until one is not the lane's (then net/http
// gets the connection, its bytes unread), the client closes, a response
// asks to close, a CONNECT hijacks it, or Shutdown.
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
		// The first request's header must arrive within HeaderRead of
		// the accept, as with net/http; a later one may be preceded by
		// IdleConn of silence, and its header then has HeaderRead.
		wait := s.t.IdleConn
		if first {
			wait = s.t.HeaderRead
		}
		_ = c.SetReadDeadline(time.Now().Add(wait))
		if _, err := lc.br.Peek(1); err != nil {
			return
		}
		if !lc.state.CompareAndSwap(laneIdle, laneActive) {
			return // Shutdown
		}
		if !first {
			_ = c.SetReadDeadline(time.Now().Add(s.t.HeaderRead))
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

// handoffConn is c for net/http, with the bytes the lane has read but not
// served, which net/http reads first.
func (lc *laneConn) handoffConn() net.Conn {
	replay := lc.pending
	if n := lc.br.Buffered(); n > 0 {
		b, _ := lc.br.Peek(n)
		replay = append(replay, b...)
	}
	return &errConn{TCPConn: lc.c, s: lc.s, replay: replay}
}

// collectHeader reads the rest of a header block too large for the lane,
// under the lane's header deadline, into pending for net/http: handing
// over half a block would give a slow client a fresh ReadHeaderTimeout.
// It stops at the block's end or past net/http's own limit (which then
// answers 431), and returns -1 when the client failed or ran out of time.
func (lc *laneConn) collectHeader() int {
	limit := lc.s.netHTTPHeaderLimit() // net/http reads this much before its 431
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
				lc.s.log.Sugar().Errorf("proxy: panic serving %s: %v", lc.remote, p)
			}
		}
	}()
	lc.s.ServeHTTP(w, req)
	return w.finish() && lc.ctx.Err() == nil
}

// clientWatchDelay is how long a request runs before the lane starts
// watching its client: a request answered sooner never pays for a watcher.
const clientWatchDelay = 50 * time.Millisecond

// clientWatch notices a client that leaves while its request waits (a
// slow endpoint) and cancels the request, so the endpoint's connection is
// let go at once instead of at the response or the timeout — what
// net/http's background read does for every request, started here only
// for a request still running after clientWatchDelay. While the handler
// runs nothing else reads the client (lane requests have no body), so the
// watcher may wait on the connection's reader.
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

// headerEnd returns the length of the header block at the start of b (up
// to and including the empty line, CRLF or bare LF as net/http allows),
// or 0 when b does not hold all of it yet.
func headerEnd(b []byte) int {
	for i := 0; ; {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			return 0
		}
		i += j + 1
		switch {
		case i < len(b) && b[i] == '\n':
			return i + 1
		case i+1 < len(b) && b[i] == '\r' && b[i+1] == '\n':
			return i + 2
		}
	}
}

// readRequest waits for the whole header block of the next request and
// returns it parsed with its length when the lane serves it, or nil when
// net/http must (n = 0); n < 0 means the connection failed.
func (lc *laneConn) readRequest() (*http.Request, int) {
	limit := min(lc.br.Size(), lc.s.maxHeaderBytes)
	for {
		buf, _ := lc.br.Peek(lc.br.Buffered())
		if end := headerEnd(buf); end > 0 {
			switch {
			case end > lc.s.maxHeaderBytes:
				return nil, lc.refuseHeaderTooLarge()
			case end > limit:
				return nil, 0
			}
			return lc.s.laneRequest(buf[:end], lc), end
		}
		if len(buf) >= limit {
			if limit == lc.s.maxHeaderBytes {
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

// refuseHeaderTooLarge answers a header block over a limit smaller than
// net/http can enforce (it reads at least 4 KiB) as net/http answers a
// larger one, and reports the connection done.
func (lc *laneConn) refuseHeaderTooLarge() int {
	_, _ = lc.c.Write(lc.s.rewriteNetHTTPError(http.StatusRequestHeaderFieldsTooLarge))
	_ = lc.c.CloseWrite()
	return -1
}

// laneParsers hold the reader http.ReadRequest needs, over a header block.
type laneParser struct {
	src bytes.Reader
	br  *bufio.Reader
}

var laneParsers = sync.Pool{New: func() any {
	p := &laneParser{}
	p.br = bufio.NewReaderSize(&p.src, laneBufSize)
	return p
}}

// laneRequest parses block (one complete header block) when it is in the
// lane's subset, and returns nil when it is not.
func (s *Server) laneRequest(block []byte, lc *laneConn) *http.Request {
	req := parseLaneRequest(block)
	if req == nil {
		return nil
	}
	req.RemoteAddr = lc.remote
	return req.WithContext(lc.ctx)
}

// parseLaneRequest is the lane's whole decision on a header block: the
// request as net/http's server would see it, or nil when net/http must
// serve it. FuzzLaneRequest holds it to that against net/http's server.
func parseLaneRequest(block []byte) *http.Request {
	hosts, host, ok := laneFraming(block)
	if !ok || !laneHost(hosts, host) {
		return nil
	}
	p := laneParsers.Get().(*laneParser)
	p.src.Reset(block)
	p.br.Reset(&p.src)
	req, err := http.ReadRequest(p.br)
	p.br.Reset(nil)
	p.src.Reset(nil)
	laneParsers.Put(p)
	if err != nil || !laneAccepts(req) || (hosts == 0 && req.Method != http.MethodConnect) {
		return nil
	}
	return req
}

// laneFraming checks the raw block: an HTTP/1.1 request line, every line
// ended by CRLF, no CR elsewhere, no folded (obsolete line-wrapped) field.
// It also counts the Host fields, which http.ReadRequest does not show.
func laneFraming(block []byte) (hosts int, host []byte, ok bool) {
	first := bytes.IndexByte(block, '\n')
	if first < 0 || !bytes.HasSuffix(block[:first+1], []byte(" HTTP/1.1\r\n")) {
		return 0, nil, false
	}
	for i := 0; i < len(block); {
		j := bytes.IndexByte(block[i:], '\n')
		if j < 1 || block[i+j-1] != '\r' || bytes.IndexByte(block[i:i+j-1], '\r') >= 0 {
			return 0, nil, false
		}
		line := block[i : i+j-1]
		if i > 0 && len(line) > 0 {
			if line[0] == ' ' || line[0] == '\t' {
				return 0, nil, false
			}
			if c := bytes.IndexByte(line, ':'); c >= 0 && bytes.EqualFold(line[:c], []byte("host")) {
				hosts++
				host = bytes.Trim(line[c+1:], " \t")
			}
		}
		i += j + 1
	}
	return hosts, host, true
}

// laneHost is net/http's server's check of the Host fields: at most one,
// and valid.
func laneHost(hosts int, host []byte) bool {
	return hosts == 0 || (hosts == 1 && httpguts.ValidHostHeader(string(host)))
}

// laneAccepts applies to a parsed request the checks net/http's server
// adds to http.ReadRequest (valid field names and values; Host is checked
// by laneHost) and the lane's own subset (HTTP/1.1, no body, nothing that
// needs net/http's handling of Expect or Upgrade).
func laneAccepts(req *http.Request) bool {
	if req.ProtoMajor != 1 || req.ProtoMinor != 1 || req.ContentLength != 0 || req.Body != http.NoBody {
		return false
	}
	for k, vv := range req.Header {
		switch k {
		case "Content-Length", "Transfer-Encoding", "Expect", "Upgrade", "Trailer":
			return false
		}
		if !httpguts.ValidHeaderFieldName(k) {
			return false
		}
		for _, v := range vv {
			if !httpguts.ValidHeaderFieldValue(v) {
				return false
			}
		}
	}
	return true
}
