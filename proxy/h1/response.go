package h1

import (
	"bufio"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"net/textproto"

	"golang.org/x/net/http/httpguts"
)

// laneWriter is the http.ResponseWriter of a lane request. It frames the
// response as net/http's server would for the same handler: the handler's
// Content-Length when it set one, chunked otherwise, Content-Length: 0
// for a handler that wrote nothing, no body for HEAD, 1xx, 204 and 304,
// a Date when the handler set none, and Connection: close when the client
// asked for it or the server is shutting down. Unlike net/http it never
// guesses a Content-Type: a proxy relays what the endpoint sent.
type laneWriter struct {
	lc     *laneConn
	req    *http.Request
	header http.Header

	status      int
	wroteHeader bool // WriteHeader was called (the head may not be written yet)
	headWritten bool
	bodyOK      bool  // the status and method allow a body
	chunked     bool  // the body is sent in chunks
	remaining   int64 // Content-Length bytes still to write; -1: none declared
	closeAfter  bool
	hijacked    bool
	err         error // the first write error; the connection is done

	keys []string // sorted field names, reused
	line []byte   // the status line, reused
}

func (w *laneWriter) reset(lc *laneConn, req *http.Request) {
	h := w.header
	if h == nil {
		h = make(http.Header, 8)
	} else {
		clear(h)
	}
	*w = laneWriter{lc: lc, req: req, header: h, keys: w.keys[:0], line: w.line[:0], remaining: -1}
}

func (w *laneWriter) Header() http.Header { return w.header }

func (w *laneWriter) WriteHeader(code int) {
	if w.wroteHeader || w.hijacked {
		return
	}
	if code < 100 || code > 999 {
		panic("h1: invalid WriteHeader code " + strconv.Itoa(code))
	}
	if code >= 100 && code <= 199 && code != http.StatusSwitchingProtocols {
		// An informational response goes out at once; the final one follows.
		w.writeStatusAndFields(code, false)
		w.err = w.lc.bw.Flush()
		return
	}
	w.status = code
	w.wroteHeader = true
}

func (w *laneWriter) Write(p []byte) (int, error) {
	if w.hijacked {
		return 0, http.ErrHijacked
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !w.headWritten {
		w.writeHead(false)
	}
	if w.err != nil {
		return 0, w.err
	}
	if !w.bodyOK {
		if w.req.Method == http.MethodHead {
			return len(p), nil
		}
		return 0, http.ErrBodyNotAllowed
	}
	if len(p) == 0 {
		return 0, nil
	}
	var over bool
	if w.remaining >= 0 {
		if int64(len(p)) > w.remaining {
			p, over = p[:w.remaining], true
		}
		w.remaining -= int64(len(p))
	}
	bw := w.lc.bw
	if w.chunked {
		var hex [16]byte
		_, _ = bw.Write(strconv.AppendInt(hex[:0], int64(len(p)), 16))
		_, _ = bw.WriteString("\r\n")
	}
	n, err := bw.Write(p)
	if w.chunked {
		_, err = bw.WriteString("\r\n")
	}
	if err != nil {
		w.err = err
		return n, err
	}
	if over {
		w.closeAfter = true
		return n, http.ErrContentLength
	}
	return n, nil
}

// FlushError sends what is buffered (http.ResponseController.Flush).
func (w *laneWriter) FlushError() error {
	if w.hijacked {
		return http.ErrHijacked
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !w.headWritten {
		w.writeHead(false)
	}
	if w.err != nil {
		return w.err
	}
	if err := w.lc.bw.Flush(); err != nil {
		w.err = err
	}
	return w.err
}

// Flush is http.Flusher.
func (w *laneWriter) Flush() { _ = w.FlushError() }

// SetWriteDeadline is for http.ResponseController.
func (w *laneWriter) SetWriteDeadline(t time.Time) error { return w.lc.c.SetWriteDeadline(t) }

// Hijack gives the connection and the lane's buffers to the handler (a
// CONNECT tunnel); the lane is done with the connection.
func (w *laneWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if w.hijacked {
		return nil, nil, http.ErrHijacked
	}
	w.lc.watch.disarm(w.lc) // the tunnel reads the client from now on
	if w.wroteHeader {
		if !w.headWritten {
			w.writeHead(false)
		}
		if err := w.lc.bw.Flush(); err != nil {
			return nil, nil, err
		}
	}
	w.hijacked = true
	return w.lc.c, bufio.NewReadWriter(w.lc.br, w.lc.bw), nil
}

// finish completes the response after the handler returned; it reports
// whether the connection may carry another request.
func (w *laneWriter) finish() bool {
	if w.hijacked {
		return false
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !w.headWritten {
		w.writeHead(true)
	}
	bw := w.lc.bw
	if w.chunked && w.err == nil {
		_, _ = bw.WriteString("0\r\n")
		w.writeTrailers()
		_, w.err = bw.WriteString("\r\n")
	}
	if w.remaining > 0 {
		// Fewer bytes than declared: the client would wait for the rest.
		w.closeAfter = true
	}
	if w.err == nil {
		w.err = bw.Flush()
	}
	return w.err == nil && !w.closeAfter
}

// writeHead decides the framing and writes the status line and fields.
// done: the handler has returned, so a body not yet started is empty.
func (w *laneWriter) writeHead(done bool) {
	w.headWritten = true
	h, code := w.header, w.status
	w.bodyOK = bodyAllowedForStatus(code) && w.req.Method != http.MethodHead
	delete(h, "Transfer-Encoding") // the framing is ours to choose
	if cl := h["Content-Length"]; len(cl) > 0 {
		n, err := strconv.ParseInt(cl[0], 10, 64)
		if len(cl) == 1 && err == nil && n >= 0 && code != http.StatusNoContent && code >= 200 {
			if w.bodyOK {
				w.remaining = n
			}
		} else {
			delete(h, "Content-Length")
		}
	}
	if w.bodyOK && w.remaining < 0 {
		if done && len(h["Trailer"]) == 0 {
			h["Content-Length"] = []string{"0"}
			w.remaining = 0
		} else {
			w.chunked = true
		}
	}
	if w.req.Close || w.lc.s.lanes.closing.Load() || code == http.StatusSwitchingProtocols ||
		httpguts.HeaderValuesContainsToken(h["Connection"], "close") {
		w.closeAfter = true
	}
	if w.closeAfter {
		h["Connection"] = []string{"close"}
	}
	w.writeStatusAndFields(code, w.chunked)
}

// writeStatusAndFields writes the status line and the header fields in
// name order (trailer fields excepted), as net/http does.
func (w *laneWriter) writeStatusAndFields(code int, chunked bool) {
	bw := w.lc.bw
	b := append(w.line[:0], "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(code), 10)
	b = append(b, ' ')
	if w.lc.s.AppendReason != nil {
		b = w.lc.s.AppendReason(b, code, w.header)
	} else {
		b = AppendStatusText(b, code)
	}
	w.line = append(b, "\r\n"...)
	_, _ = bw.Write(w.line)
	keys := w.keys[:0]
	for k := range w.header {
		if !strings.HasPrefix(k, http.TrailerPrefix) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	w.keys = keys
	for _, k := range keys {
		writeField(bw, k, w.header[k])
	}
	if _, ok := w.header["Date"]; !ok {
		_, _ = bw.WriteString("Date: ")
		_, _ = bw.WriteString(httpDate())
		_, _ = bw.WriteString("\r\n")
	}
	if chunked {
		_, _ = bw.WriteString("Transfer-Encoding: chunked\r\n")
	}
	_, err := bw.WriteString("\r\n")
	if err != nil {
		w.err = err
	}
}

// writeTrailers writes the trailer fields of a chunked body: those set
// under http.TrailerPrefix, and the declared ones set after the head.
func (w *laneWriter) writeTrailers() {
	bw := w.lc.bw
	for k, vv := range w.header {
		if name, ok := strings.CutPrefix(k, http.TrailerPrefix); ok {
			writeField(bw, name, vv)
		}
	}
	for _, decl := range w.header["Trailer"] {
		for name := range strings.SplitSeq(decl, ",") {
			name = textproto.CanonicalMIMEHeaderKey(strings.TrimSpace(name))
			if vv := w.header[name]; len(vv) > 0 && name != "Trailer" {
				writeField(bw, name, vv)
			}
		}
	}
}

// writeField writes one field line per value. A CR or LF in a value could
// only come from a handler's mistake; as net/http, it becomes a space.
func writeField(bw *bufio.Writer, name string, vv []string) {
	for _, v := range vv {
		if strings.ContainsAny(v, "\r\n") {
			v = strings.NewReplacer("\r", " ", "\n", " ").Replace(v)
		}
		v = textproto.TrimString(v)
		_, _ = bw.WriteString(name)
		_, _ = bw.WriteString(": ")
		_, _ = bw.WriteString(v)
		_, _ = bw.WriteString("\r\n")
	}
}

// bodyAllowedForStatus reports whether a response with this status may
// have a body (RFC 9110 §6.4.1).
func bodyAllowedForStatus(code int) bool {
	switch {
	case code >= 100 && code <= 199, code == http.StatusNoContent, code == http.StatusNotModified:
		return false
	}
	return true
}

// dateCache is the Date field value of the current second.
type dateCache struct {
	sec  int64
	text string
}

var lastDate atomic.Pointer[dateCache]

// httpDate is now as an HTTP Date value, formatted once per second.
func httpDate() string {
	now := time.Now()
	if d := lastDate.Load(); d != nil && d.sec == now.Unix() {
		return d.text
	}
	d := &dateCache{sec: now.Unix(), text: now.UTC().Format(http.TimeFormat)}
	lastDate.Store(d)
	return d.text
}

// AppendStatusText appends net/http's reason phrase for code ("status
// code N" for one it does not know), as its server writes it.
func AppendStatusText(b []byte, code int) []byte {
	if text := http.StatusText(code); text != "" {
		return append(b, text...)
	}
	return strconv.AppendInt(append(b, "status code "...), int64(code), 10)
}
