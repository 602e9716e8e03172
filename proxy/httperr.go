package proxy

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"strconv"
)

// net/http answers some requests itself, before any handler runs: a
// malformed request line or header (400), a header block over
// MaxHeaderBytes (431), an unknown Transfer-Encoding (501), an unsupported
// version (505). It writes them straight to the connection in one write,
// with exactly these headers. errConn (a connection as net/http gets
// it) recognises that write and sends the docs/refusals.md refusal
// instead — JSON body, Proxy-Status — so every refusal a client sees has
// the same shape. A response that went through a handler
// always has other headers (Date at least) and is never touched.
const netHTTPErrorHeaders = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"

// errConn is a client connection net/http serves (a *net.TCPConn, or the
// fast engine's *h1.ReplayConn); unwrapClient unwraps it, so tunnels copy
// between the bare sockets.
type errConn struct {
	net.Conn
	s *Server
}

func (c *errConn) Write(p []byte) (int, error) {
	if code, ok := netHTTPError(p); ok {
		if _, err := c.Conn.Write(c.s.rewriteNetHTTPError(code)); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	if out, ok := refusalPhrase(p); ok {
		if _, err := c.Conn.Write(out); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	return c.Conn.Write(p)
}

// CloseWrite lets net/http half-close before its final close, as it does
// on a bare TCP connection.
func (c *errConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errNoCloseWrite
}

// netHTTPError reports whether p is one of net/http's own error answers,
// and its status code.
func netHTTPError(p []byte) (int, bool) {
	const prefix = "HTTP/1.1 "
	if len(p) < len(prefix)+3 || string(p[:len(prefix)]) != prefix {
		return 0, false
	}
	end := bytes.IndexByte(p, '\r')
	if end < 0 || !bytes.HasPrefix(p[end:], []byte(netHTTPErrorHeaders)) {
		return 0, false
	}
	code, err := strconv.Atoi(string(p[len(prefix) : len(prefix)+3]))
	if err != nil || code < 400 || code > 599 {
		return 0, false
	}
	return code, true
}

// rewriteNetHTTPError is the docs/refusals.md bad_request refusal for a request
// net/http refused with code, counted like the others. The status stays
// net/http's (a 431 or 501 says more than a 400); the messages are ours,
// never client input.
func (s *Server) rewriteNetHTTPError(code int) []byte {
	msg := "the request is malformed"
	switch code {
	case http.StatusRequestHeaderFieldsTooLarge:
		msg = "the request header block is larger than limits.max_header_bytes (" + strconv.Itoa(s.maxHeaderBytes) + " bytes)"
	case http.StatusNotImplemented:
		msg = "unsupported Transfer-Encoding: only chunked is accepted"
	case http.StatusHTTPVersionNotSupported:
		msg = "unsupported HTTP version: send HTTP/1.1 (or 1.0)"
	}
	f := &refusal{code: CodeBadRequest, message: msg}
	body, _ := json.Marshal(refusalBody{Error: rows[CodeBadRequest].name, Message: msg})
	body = append(body, '\n')
	s.unknown.refused(CodeBadRequest)
	b := make([]byte, 0, 256+len(body))
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(code), 10)
	b = append(b, ' ')
	b = appendReasonCode(append(b, http.StatusText(code)...), rows[CodeBadRequest].name)
	b = append(b, "\r\n"+refusalCodeHeader+": "...)
	b = append(b, rows[CodeBadRequest].name...)
	b = append(b, "\r\nContent-Type: application/json\r\nCache-Control: no-store\r\nProxy-Status: "...)
	b = append(b, f.proxyStatusValue()...)
	b = append(b, "\r\nConnection: close\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(body)), 10)
	b = append(b, "\r\n\r\n"...)
	return append(b, body...)
}
