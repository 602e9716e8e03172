package h1

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// Server serves HTTP/1.1 on a listener: the lane serves what it can, and
// Fallback serves every connection the lane hands over. Its fields are
// read when Serve starts and must not change after.
type Server struct {
	// Handler serves every request, on the lane and on Fallback alike
	// (Fallback.Handler is normally the same handler).
	Handler http.Handler
	// Fallback serves the connections the lane does not: a request with a
	// body, HTTP/1.0, a header block larger than the lane's buffer,
	// anything the lane's subset does not accept. Required.
	Fallback *http.Server
	// WrapFallback, if set, wraps each connection handed to Fallback (a
	// *net.TCPConn, or a *ReplayConn when the lane read some of its bytes).
	WrapFallback func(net.Conn) net.Conn
	// MaxHeaderBytes caps a request's header block on the lane; a larger
	// one is answered with HeaderTooLarge. Fallback enforces its own
	// (Fallback.MaxHeaderBytes plus net/http's 4 KiB slack).
	MaxHeaderBytes int
	// HeaderTooLarge is the whole response the lane writes, then closes
	// the connection, for a header block over MaxHeaderBytes (which can be
	// below what Fallback enforces); nil writes a bare 431.
	HeaderTooLarge func() []byte
	// AppendReason appends a response's reason phrase to the status line
	// being written; nil appends http.StatusText.
	AppendReason func(line []byte, code int, h http.Header) []byte
	// ReadHeaderTimeout bounds reading a request's header block;
	// IdleTimeout the wait for the next request on a kept-alive connection.
	ReadHeaderTimeout, IdleTimeout time.Duration
	// Logger receives accept failures and handler panics; nil logs nothing.
	Logger *zap.Logger

	lanes     lanes
	lnMu      sync.Mutex
	listeners map[*laneListener]struct{}
}

// netHTTPHeaderSlack is what net/http's server reads past MaxHeaderBytes
// before it answers 431.
const netHTTPHeaderSlack = 4096

// Serve accepts connections on ln until Shutdown; like
// http.Server.Serve it then returns http.ErrServerClosed. Non-TCP
// connections (TLS) go straight to Fallback.
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
	err := s.Fallback.Serve(l)
	if s.lanes.closing.Load() && errors.Is(err, net.ErrClosed) {
		// Shutdown closed the listener before net/http's Shutdown could
		// say so.
		return http.ErrServerClosed
	}
	return err
}

// Shutdown stops accepting, then drains the lane and Fallback side by
// side: idle connections close, a request being served finishes (its
// response says Connection: close). When ctx ends first the rest are cut
// and ctx's error returned.
func (s *Server) Shutdown(ctx context.Context) error {
	s.lanes.closing.Store(true)
	s.lnMu.Lock()
	for l := range s.listeners {
		_ = l.Close()
	}
	s.lnMu.Unlock()
	laneDone := make(chan error, 1)
	go func() { laneDone <- s.lanes.drain(ctx) }()
	err := s.Fallback.Shutdown(ctx)
	if err != nil {
		_ = s.Fallback.Close()
	}
	if lerr := <-laneDone; err == nil {
		err = lerr
	}
	return err
}

// LaneConns is the number of connections the lane itself serves now
// (handed-over and hijacked ones are not counted).
func (s *Server) LaneConns() int {
	s.lanes.mu.Lock()
	defer s.lanes.mu.Unlock()
	return len(s.lanes.conns)
}

func (s *Server) log() *zap.Logger {
	if s.Logger == nil {
		return zap.NewNop()
	}
	return s.Logger
}

// laneListener is the listener Fallback serves: it returns the
// connections the lane handed over, and the non-TCP ones as they come.
// The lane's own accept loop reads the real listener.
type laneListener struct {
	ln      net.Listener
	s       *Server
	handoff chan net.Conn
	done    chan struct{} // closed once: Close, or the real listener failed
	once    sync.Once
	err     error // why done closed; written before done is closed
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

// handOff gives c to Fallback; it reports false (and closes c) when the
// server no longer accepts.
func (l *laneListener) handOff(c net.Conn) bool {
	if l.s.WrapFallback != nil {
		c = l.s.WrapFallback(c)
	}
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
			l.s.log().Warn("proxy: accept failed; retrying", zap.Error(err), zap.Duration("pause", pause))
			time.Sleep(pause)
			continue
		}
		pause = 0
		if tc, ok := c.(*net.TCPConn); ok {
			go l.s.serveLane(l, tc)
			continue
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
// being served finishes and then its connection closes. It returns when
// all are gone or ctx ends, when the rest are cut.
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

// aLongTimeAgo is a deadline that wakes a blocked read or write at once.
var aLongTimeAgo = time.Unix(1, 0)
