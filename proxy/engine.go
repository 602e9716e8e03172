package proxy

import (
	"context"
	"errors"
	"net"
	"net/http"

	"github.com/callgate/callgate/proxy/h1"
)

// wire is the engine that speaks HTTP/1.1 on the wire: it serves the
// proxy listener for the pipeline (an http.Handler, s) and makes each
// named credential's upstream (an http.RoundTripper) from the
// http.Transport that transportFor configured. This file is the only one
// of the data plane that knows which engine runs: the pipeline sees
// net/http's types, whichever wrote them.
type wire interface {
	serve(ln net.Listener) error
	shutdown(ctx context.Context) error
	transport(t *http.Transport) upstreamTransport
}

func (s *Server) newWire(e Engine) wire {
	if e == EngineStdlib {
		return stdlibWire{s}
	}
	return &fastWire{s: s, lane: &h1.Server{
		Handler:  s,
		Fallback: s.hs,
		// net/http's own error answers still get the refusal shape.
		WrapFallback:      func(c net.Conn) net.Conn { return &errConn{Conn: c, s: s} },
		MaxHeaderBytes:    s.maxHeaderBytes,
		HeaderTooLarge:    func() []byte { return s.rewriteNetHTTPError(http.StatusRequestHeaderFieldsTooLarge) },
		AppendReason:      appendReason,
		ReadHeaderTimeout: s.t.HeaderRead,
		IdleTimeout:       s.t.IdleConn,
		Logger:            s.log,
	}}
}

// Serve accepts proxy connections on ln until Shutdown; like
// http.Server.Serve it then returns http.ErrServerClosed.
func (s *Server) Serve(ln net.Listener) error {
	if a, ok := ln.Addr().(*net.TCPAddr); ok {
		port := uint16(a.Port)
		s.lnMu.Lock()
		if s.ports == nil {
			s.ports = make(map[uint16]int)
		}
		s.ports[port]++
		s.lnMu.Unlock()
		defer func() {
			s.lnMu.Lock()
			s.ports[port]--
			s.lnMu.Unlock()
		}()
	}
	return s.wire.serve(ln)
}

// stdlibWire is net/http's Server and Transport, for every request.
type stdlibWire struct{ s *Server }

func (w stdlibWire) serve(ln net.Listener) error {
	return w.s.hs.Serve(errListener{Listener: ln, s: w.s})
}

func (w stdlibWire) shutdown(ctx context.Context) error {
	err := w.s.hs.Shutdown(ctx)
	if err != nil {
		_ = w.s.hs.Close()
	}
	return err
}

func (stdlibWire) transport(t *http.Transport) upstreamTransport {
	return t
}

// fastWire is package h1 in front of net/http: h1 serves and sends the
// bodiless keep-alive requests, net/http the rest.
type fastWire struct {
	s    *Server
	lane *h1.Server
}

func (w *fastWire) serve(ln net.Listener) error { return w.lane.Serve(ln) }

func (w *fastWire) shutdown(ctx context.Context) error { return w.lane.Shutdown(ctx) }

func (w *fastWire) transport(t *http.Transport) upstreamTransport {
	return &h1.Transport{
		Fallback:               t,
		DialContext:            t.DialContext,
		ResponseHeaderTimeout:  t.ResponseHeaderTimeout,
		IdleConnTimeout:        t.IdleConnTimeout,
		MaxIdleConns:           t.MaxIdleConnsPerHost,
		MaxResponseHeaderBytes: t.MaxResponseHeaderBytes,
	}
}

// appendReason is the lane's reason phrase: net/http's, with a refusal's
// code after it as errConn writes it on net/http's responses.
func appendReason(line []byte, code int, h http.Header) []byte {
	line = h1.AppendStatusText(line, code)
	if rc := h[refusalCodeHeader]; len(rc) == 1 && code >= 400 {
		line = appendReasonCode(line, rc[0])
	}
	return line
}

// errListener gives net/http's server its connections wrapped in errConn.
type errListener struct {
	net.Listener
	s *Server
}

func (l errListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if _, ok := c.(*net.TCPConn); ok {
		c = &errConn{Conn: c, s: l.s}
	}
	return c, nil
}

// unwrapClient returns the bare socket of a hijacked client connection
// when nothing is left to replay: a tunnel copies between sockets.
func unwrapClient(c net.Conn) net.Conn {
	ec, ok := c.(*errConn)
	if !ok {
		return c
	}
	switch inner := ec.Conn.(type) {
	case *net.TCPConn:
		return inner
	case *h1.ReplayConn:
		if tc := inner.Drained(); tc != nil {
			return tc
		}
	}
	return c
}

// errNoCloseWrite: the connection under an errConn cannot half-close.
var errNoCloseWrite = errors.New("proxy: connection cannot close its write side")
