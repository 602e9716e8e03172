package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"github.com/callgate/callgate/bench/internal/wire"
	"io"
	"net"
	"strconv"
	"syscall"
	"time"
)

// target says how a request reaches the origin: through a proxy (absolute
// form or a CONNECT tunnel) or directly.
type target struct {
	proxy  string // proxy host:port; "" means direct to origin
	origin string // origin authority as the client names it (host:port)
	tunnel bool   // open a CONNECT tunnel first, then send origin-form requests
}

// dialAddr is where the client's TCP connection goes.
func (t target) dialAddr() string {
	if t.proxy != "" {
		return t.proxy
	}
	return t.origin
}

// request builds the bytes of one GET for path on a connection of this kind.
func (t target) request(path string) []byte {
	if t.proxy != "" && !t.tunnel {
		return []byte("GET http://" + t.origin + path + " HTTP/1.1\r\nHost: " + t.origin +
			"\r\nUser-Agent: callgate-bench\r\n\r\n")
	}
	return []byte("GET " + path + " HTTP/1.1\r\nHost: " + t.origin + "\r\nUser-Agent: callgate-bench\r\n\r\n")
}

var errStatus = errors.New("unexpected status")

// statusError is a non-2xx answer, kept so the report can show the first one.
type statusError struct {
	code int
	line string
}

func (e *statusError) Error() string { return fmt.Sprintf("status %d: %s", e.code, e.line) }
func (e *statusError) Unwrap() error { return errStatus }

// conn is one client connection with its read buffer.
type conn struct {
	c    net.Conn
	br   *bufio.Reader
	used bool // a response has been read: a close now is a keep-alive close
}

// errStale: the peer closed a kept-alive connection before answering the
// next request. tinyproxy does this after every request without sending
// "Connection: close"; like curl and browsers, the client reconnects and
// retries (the request is idempotent), and the retry is not an error.
var errStale = errors.New("kept-alive connection closed by peer")

// dial opens a connection and, for tunnels, the CONNECT tunnel. deadline
// bounds every read and write on it.
func dial(t target, deadline time.Time, bufSize int) (*conn, error) {
	d := net.Dialer{Timeout: 5 * time.Second, Deadline: deadline}
	c, err := d.Dial("tcp", t.dialAddr())
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", t.dialAddr(), err)
	}
	if err := c.SetDeadline(deadline); err != nil {
		c.Close()
		return nil, fmt.Errorf("set deadline: %w", err)
	}
	cn := &conn{c: c, br: bufio.NewReaderSize(c, bufSize)}
	if t.tunnel && t.proxy != "" {
		if err := cn.connect(t.origin); err != nil {
			c.Close()
			return nil, err
		}
	}
	return cn, nil
}

// connect sends CONNECT and reads the proxy's answer (RFC 9110 §9.3.6: any
// 2xx means the tunnel is open; it has no body).
func (cn *conn) connect(authority string) error {
	req := "CONNECT " + authority + " HTTP/1.1\r\nHost: " + authority + "\r\nUser-Agent: callgate-bench\r\n\r\n"
	if _, err := io.WriteString(cn.c, req); err != nil {
		return fmt.Errorf("write CONNECT: %w", err)
	}
	code, line, err := readStatus(cn.br)
	if err != nil {
		return fmt.Errorf("read CONNECT answer: %w", err)
	}
	if _, _, _, err := readHeaders(cn.br); err != nil {
		return fmt.Errorf("read CONNECT headers: %w", err)
	}
	if code/100 != 2 {
		return fmt.Errorf("CONNECT %s: %w", authority, &statusError{code, line})
	}
	return nil
}

// roundTrip writes req and reads one response, discarding its body into
// scratch. keep is false when the connection cannot be reused. n is the body
// length read.
func (cn *conn) roundTrip(req []byte, scratch []byte) (keep bool, n int64, err error) {
	if _, err := cn.c.Write(req); err != nil {
		if cn.used && (errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET)) {
			return false, 0, errStale
		}
		return false, 0, fmt.Errorf("write request: %w", err)
	}
	code, line, err := readStatus(cn.br)
	if err != nil {
		if cn.used && cn.br.Buffered() == 0 && (errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)) {
			return false, 0, errStale
		}
		return false, 0, fmt.Errorf("read status: %w", err)
	}
	cn.used = true
	cl, chunked, closeConn, err := readHeaders(cn.br)
	if err != nil {
		return false, 0, fmt.Errorf("read headers: %w", err)
	}
	keep = !closeConn
	switch {
	case chunked:
		n, err = discardChunked(cn.br, scratch)
	case cl >= 0:
		n, err = discardN(cn.br, cl, scratch)
	default: // no length: body runs to EOF (RFC 9112 §6.3)
		keep = false
		n, err = discardN(cn.br, -1, scratch)
		if errors.Is(err, io.EOF) {
			err = nil
		}
	}
	if err != nil {
		return false, n, fmt.Errorf("read body: %w", err)
	}
	if code != 200 {
		return keep, n, &statusError{code, line}
	}
	return keep, n, nil
}

func (cn *conn) close() { cn.c.Close() }

// readStatus parses "HTTP/1.x NNN reason".
func readStatus(br *bufio.Reader) (int, string, error) {
	line, err := br.ReadSlice('\n')
	if err != nil {
		return 0, "", err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, "", fmt.Errorf("bad status line %q", trimLine(line))
	}
	code, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, "", fmt.Errorf("bad status line %q", trimLine(line))
	}
	l := ""
	if code != 200 {
		l = string(trimLine(line))
	}
	return code, l, nil
}

func trimLine(b []byte) []byte { return bytes.TrimRight(b, "\r\n") }

// readHeaders reads the header block; cl is -1 when there is no
// Content-Length.
func readHeaders(br *bufio.Reader) (cl int64, chunked, closeConn bool, err error) {
	cl = -1
	for i := 0; i < 200; i++ {
		h, err := br.ReadSlice('\n')
		if err != nil {
			return cl, chunked, closeConn, err
		}
		if len(h) <= 2 {
			return cl, chunked, closeConn, nil
		}
		switch {
		case wire.HasPrefixFold(h, hdrCL):
			n, err := strconv.ParseInt(string(bytes.TrimSpace(h[len(hdrCL):])), 10, 64)
			if err != nil || n < 0 {
				return cl, chunked, closeConn, fmt.Errorf("bad content-length %q", trimLine(h))
			}
			cl = n
		case wire.HasPrefixFold(h, hdrTE):
			chunked = wire.ContainsFold(h[len(hdrTE):], []byte("chunked"))
		case wire.HasPrefixFold(h, hdrConn), wire.HasPrefixFold(h, hdrProxyConn):
			if wire.ContainsFold(h, []byte("close")) {
				closeConn = true
			}
		}
	}
	return cl, chunked, closeConn, errors.New("too many headers")
}

var (
	hdrCL        = []byte("content-length:")
	hdrTE        = []byte("transfer-encoding:")
	hdrConn      = []byte("connection:")
	hdrProxyConn = []byte("proxy-connection:")
)

// discardN reads n bytes (or to EOF when n < 0) into scratch.
func discardN(br *bufio.Reader, n int64, scratch []byte) (int64, error) {
	var got int64
	for n < 0 || got < n {
		p := scratch
		if n >= 0 && int64(len(p)) > n-got {
			p = p[:n-got]
		}
		m, err := br.Read(p)
		got += int64(m)
		if err != nil {
			return got, err
		}
	}
	return got, nil
}

func discardChunked(br *bufio.Reader, scratch []byte) (int64, error) {
	var total int64
	for i := 0; i < 1<<20; i++ {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return total, err
		}
		s := trimLine(line)
		if j := bytes.IndexByte(s, ';'); j >= 0 {
			s = s[:j]
		}
		size, err := strconv.ParseInt(string(bytes.TrimSpace(s)), 16, 64)
		if err != nil || size < 0 {
			return total, fmt.Errorf("bad chunk size %q", s)
		}
		if size == 0 {
			_, _, _, err := readHeaders(br) // trailers
			return total, err
		}
		n, err := discardN(br, size, scratch)
		total += n
		if err != nil {
			return total, err
		}
		if _, err := br.Discard(2); err != nil {
			return total, err
		}
	}
	return total, errors.New("too many chunks")
}
