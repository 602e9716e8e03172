package proxy

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/callgate/callgate/access"
	"github.com/callgate/callgate/routing"
)

// The lane tests drive the proxy listener with raw connections, so each
// test controls exactly which bytes reach the lane, what it hands to
// net/http, and what comes back on the same connection.

// ltEcho is what the lane tests' upstream reports about a request.
type ltEcho struct {
	Method string      `json:"method"`
	Path   string      `json:"path"`
	Query  string      `json:"query"`
	Body   string      `json:"body"`
	Header http.Header `json:"header"`
}

// ltUpstream is a plain-HTTP upstream for the lane tests: it echoes the
// request by default, and has paths for the response framings the lane
// must relay (chunked with trailers, 204, 304, HEAD, a slow answer).
type ltUpstream struct {
	srv  *http.Server
	port uint16
	quit chan struct{} // closed at cleanup: waiting handlers return
	// proceed lets /chunked send the rest of its body once the client has
	// seen the first part.
	proceed chan struct{}
	// slowStarted receives when /slow begins waiting; slowAnswered is set
	// just before /slow writes its response.
	slowStarted  chan struct{}
	slowAnswered atomic.Bool
}

// The parts /chunked sends, each in its own flush, and its trailers.
var ltChunkParts = []string{"alpha-part\n", "bravo-part\n", "charlie-part\n"}

const (
	ltChecksum = "sum-7f3a"
	ltHeadLen  = 1234 // /head's Content-Length
	ltSlowWait = 300 * time.Millisecond
	ltHost     = "lane.partner.example"
)

func startLTUpstream(t *testing.T) *ltUpstream {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := &ltUpstream{
		port:        uint16(ln.Addr().(*net.TCPAddr).Port),
		quit:        make(chan struct{}),
		proceed:     make(chan struct{}, 1),
		slowStarted: make(chan struct{}, 1),
	}
	u.srv = &http.Server{
		Handler:           http.HandlerFunc(u.serve),
		ReadHeaderTimeout: 5 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	go func() { _ = u.srv.Serve(ln) }()
	t.Cleanup(func() {
		close(u.quit)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = u.srv.Shutdown(ctx)
	})
	return u
}

func (u *ltUpstream) url(path string) string {
	return fmt.Sprintf("http://%s:%d%s", ltHost, u.port, path)
}

func (u *ltUpstream) serve(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/chunked":
		// Unknown length: chunked, flushed part by part, with pauses, and
		// two declared trailers sent after the body.
		w.Header().Set("Trailer", "X-Checksum, X-Parts")
		w.Header().Set("Content-Type", "text/plain")
		for i, part := range ltChunkParts {
			switch i {
			case 0:
			case 1:
				// The client confirms it has the first part: a proxy that
				// buffers the body until the end never gets here in time.
				select {
				case <-u.proceed:
				case <-time.After(5 * time.Second):
					part = "stalled: the first part never reached the client\n"
				case <-u.quit:
					return
				case <-r.Context().Done():
					return
				}
			default:
				time.Sleep(30 * time.Millisecond)
			}
			_, _ = io.WriteString(w, part)
			w.(http.Flusher).Flush()
		}
		time.Sleep(30 * time.Millisecond)
		w.Header().Set("X-Checksum", ltChecksum)
		w.Header().Set("X-Parts", strconv.Itoa(len(ltChunkParts)))
		return
	case "/nocontent":
		w.Header().Set("X-Kind", "no-content")
		w.WriteHeader(http.StatusNoContent)
		return
	case "/notmodified":
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("X-Kind", "not-modified")
		w.WriteHeader(http.StatusNotModified)
		return
	case "/head":
		w.Header().Set("X-Kind", "head")
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.Itoa(ltHeadLen))
		if r.Method != http.MethodHead {
			_, _ = io.WriteString(w, strings.Repeat("h", ltHeadLen))
		}
		return
	case "/slow":
		select {
		case u.slowStarted <- struct{}{}:
		default:
		}
		select {
		case <-time.After(ltSlowWait):
		case <-u.quit:
			return
		case <-r.Context().Done():
			return
		}
		u.slowAnswered.Store(true)
	}
	body, _ := io.ReadAll(r.Body)
	b, _ := json.Marshal(ltEcho{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Body: string(body), Header: r.Header})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	_, _ = w.Write(b)
}

// newLTEnv starts the lane upstream and a proxy with a named credential
// "Lane" leading to it (over the Ready connection "plain"). The upstream
// starts first so that it stops last.
func newLTEnv(t *testing.T, tweak ...func(*Options)) (*env, *ltUpstream) {
	t.Helper()
	u := startLTUpstream(t)
	e := newEnv(t, tweak...)
	e.creds = append(e.creds, routing.Credential{Name: "Lane", URL: fmt.Sprintf("http://%s:%d", ltHost, u.port), Connection: "plain"})
	e.setCreds(e.creds)
	return e, u
}

// laneConns is the number of connections the lane itself holds (a
// connection handed to net/http has left it).
func (e *env) laneConns() int {
	fw, ok := e.srv.wire.(*fastWire)
	if !ok {
		return 0
	}
	return fw.lane.LaneConns()
}

// ltClient is one raw client connection to the proxy listener.
type ltClient struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

// laneDial connects to the proxy; every read and write on the connection
// is bounded, and it is closed when t ends.
func (e *env) laneDial(t *testing.T) *ltClient {
	t.Helper()
	c, err := net.DialTimeout("tcp", e.addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return &ltClient{t: t, c: c, br: bufio.NewReader(c)}
}

// send writes raw in one Write.
func (lc *ltClient) send(raw string) {
	lc.t.Helper()
	if _, err := io.WriteString(lc.c, raw); err != nil {
		lc.t.Fatalf("writing %q: %v", firstLine(raw), err)
	}
}

// read reads the next final response (skipping 1xx ones) and its body.
func (lc *ltClient) read(method string) (*http.Response, []byte) {
	lc.t.Helper()
	for {
		res, err := http.ReadResponse(lc.br, &http.Request{Method: method})
		if err != nil {
			lc.t.Fatalf("reading the response to %s: %v", method, err)
		}
		if res.StatusCode >= 100 && res.StatusCode <= 199 && res.StatusCode != http.StatusSwitchingProtocols {
			continue
		}
		body, err := io.ReadAll(res.Body)
		_ = res.Body.Close()
		if err != nil {
			lc.t.Fatalf("reading the body of the %d response to %s: %v (got %q)", res.StatusCode, method, err, body)
		}
		return res, body
	}
}

// wantEOF checks the proxy closed the connection: the next read is a
// clean EOF, neither more bytes nor the read deadline.
func (lc *ltClient) wantEOF(what string) {
	lc.t.Helper()
	b, err := lc.br.ReadByte()
	switch {
	case err == nil:
		rest, _ := lc.br.Peek(lc.br.Buffered())
		lc.t.Errorf("%s: the connection carried more bytes, %q, want EOF", what, append([]byte{b}, rest...))
	case isTimeout(err):
		lc.t.Errorf("%s: the connection is still open (read timed out), want EOF", what)
	case !errors.Is(err, io.EOF):
		lc.t.Errorf("%s: read error %v, want EOF", what, err)
	}
}

// ltGet is a bodiless absolute-form GET for the lane upstream; extra are
// whole header lines ("Name: value\r\n").
func ltGet(u *ltUpstream, path string, extra ...string) string {
	return "GET " + u.url(path) + " HTTP/1.1\r\nHost: " + ltHost + "\r\n" + strings.Join(extra, "") + "\r\n"
}

// echoOf checks a 200 response from the echo and decodes it.
func echoOf(t *testing.T, what string, res *http.Response, body []byte) ltEcho {
	t.Helper()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("%s: status %d, body %q; want 200 from the upstream", what, res.StatusCode, body)
	}
	var e ltEcho
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("%s: upstream answer %q: %v", what, body, err)
	}
	return e
}

// wantEcho checks the upstream saw method and path (and body).
func wantEcho(t *testing.T, what string, res *http.Response, body []byte, method, path, reqBody string) ltEcho {
	t.Helper()
	e := echoOf(t, what, res, body)
	if e.Method != method || e.Path != path || e.Body != reqBody {
		t.Errorf("%s: upstream saw %s %s with a %d-byte body %.40q, want %s %s with a %d-byte body %.40q",
			what, e.Method, e.Path, len(e.Body), e.Body, method, path, len(reqBody), reqBody)
	}
	return e
}

// wantBadRequest checks a docs/refusals.md bad_request refusal with status code.
func wantBadRequest(t *testing.T, what string, res *http.Response, body []byte, code int) refusalBody {
	t.Helper()
	if res.StatusCode != code {
		t.Errorf("%s: status %d, want %d", what, res.StatusCode, code)
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s: Content-Type %q, want application/json", what, ct)
	}
	b := refusalOf(t, body)
	if b.Error != "bad_request" || b.Message == "" {
		t.Errorf("%s: body %q, want a bad_request refusal", what, body)
	}
	if !strings.Contains(string(body), `"error":"bad_request"`) {
		t.Errorf("%s: body %q lacks \"error\":\"bad_request\"", what, body)
	}
	if ps := res.Header.Get("Proxy-Status"); !strings.HasPrefix(ps, "callgate; error=http_request_error") {
		t.Errorf("%s: Proxy-Status %q", what, ps)
	}
	return b
}

// patterned is n bytes whose content shows where a slice of it came from.
func patterned(n int) string {
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "%07d,", i)
	}
	return b.String()[:n]
}

// TestLanePipelineHandoff: on one connection, in one write, a GET the lane
// serves, a POST with a body it hands to net/http (with the bytes it has
// already read), and a GET after it; the three answers come back in order
// and each reached the upstream whole.
func TestLanePipelineHandoff(t *testing.T) {
	needFastEngine(t)
	if testing.Short() {
		t.Skip("integration: real listeners")
	}
	e, u := newLTEnv(t)
	for _, tc := range []struct {
		name    string
		bodyLen int
	}{
		{"small body", 11},
		// The lane's buffer ends inside the body: net/http reads the rest
		// from the socket after the replayed bytes.
		{"body past the lane buffer", 64 << 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := patterned(tc.bodyLen)
			lc := e.laneDial(t)
			lc.send(ltGet(u, "/one?n=1") +
				"POST " + u.url("/two") + " HTTP/1.1\r\nHost: " + ltHost + "\r\nContent-Type: text/plain\r\nContent-Length: " +
				strconv.Itoa(len(body)) + "\r\n\r\n" + body +
				ltGet(u, "/three"))
			res, b := lc.read(http.MethodGet)
			if got := wantEcho(t, "first GET (lane)", res, b, http.MethodGet, "/one", ""); got.Query != "n=1" {
				t.Errorf("first GET: query %q, want n=1", got.Query)
			}
			res, b = lc.read(http.MethodPost)
			wantEcho(t, "POST (handed off)", res, b, http.MethodPost, "/two", body)
			res, b = lc.read(http.MethodGet)
			wantEcho(t, "GET after the POST", res, b, http.MethodGet, "/three", "")
			if res.Close {
				t.Errorf("GET after the POST: the proxy closes the connection (%v)", res.Header)
			}
			// The POST moved the connection to net/http.
			eventually(t, "the connection to leave the lane", func() bool { return e.laneConns() == 0 })
		})
	}
	// Two GETs the lane serves, whose header blocks together overflow its
	// buffer: the second one's block straddles the buffer's end.
	t.Run("lane requests across the buffer edge", func(t *testing.T) {
		eventually(t, "earlier connections to leave the lane", func() bool { return e.laneConns() == 0 })
		pad := strings.Repeat("p", 3000)
		lc := e.laneDial(t)
		lc.send(ltGet(u, "/edge1", "X-Pad: "+pad+"\r\n") + ltGet(u, "/edge2", "X-Pad: "+pad+"\r\n") + ltGet(u, "/edge3"))
		for _, path := range []string{"/edge1", "/edge2", "/edge3"} {
			res, b := lc.read(http.MethodGet)
			got := wantEcho(t, path, res, b, http.MethodGet, path, "")
			if path != "/edge3" && got.Header.Get("X-Pad") != pad {
				t.Errorf("%s: upstream saw a %d-byte X-Pad, want %d", path, len(got.Header.Get("X-Pad")), len(pad))
			}
		}
		if n := e.laneConns(); n != 1 {
			t.Errorf("lane connections after three lane requests: %d, want 1 (still on the lane)", n)
		}
	})
}

// TestLaneHandsOffOddRequests: requests outside the lane's subset are
// answered by net/http as before, and net/http's own refusals keep the
// docs/refusals.md shape.
func TestLaneHandsOffOddRequests(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: real listeners")
	}
	e, u := newLTEnv(t)
	target := u.url("/odd")

	t.Run("HTTP/1.0", func(t *testing.T) {
		lc := e.laneDial(t)
		lc.send("GET " + target + " HTTP/1.0\r\nHost: " + ltHost + "\r\n\r\n")
		res, b := lc.read(http.MethodGet)
		got := wantEcho(t, "HTTP/1.0 GET", res, b, http.MethodGet, "/odd", "")
		if via := got.Header.Get("Via"); via != "1.0 callgate" {
			t.Errorf("upstream Via %q, want \"1.0 callgate\" (an HTTP/1.0 request)", via)
		}
		if res.ProtoMajor != 1 || res.ProtoMinor != 0 {
			t.Errorf("response proto %s, want HTTP/1.0 as net/http answers a 1.0 request", res.Proto)
		}
		lc.wantEOF("HTTP/1.0 without keep-alive")
	})

	// Keep-alive requests net/http accepts: answered, and the connection
	// then serves an ordinary request (as net/http's from now on).
	for _, tc := range []struct {
		name  string
		raw   string
		check func(t *testing.T, got ltEcho)
	}{
		{"bare LF line ends", "GET " + target + " HTTP/1.1\nHost: " + ltHost + "\nX-Lf: 1\n\n",
			func(t *testing.T, got ltEcho) {
				if v := got.Header.Get("X-Lf"); v != "1" {
					t.Errorf("X-Lf %q, want 1", v)
				}
			}},
		{"folded header", "GET " + target + " HTTP/1.1\r\nHost: " + ltHost + "\r\nX-Folded: 1\r\n  folded\r\n\r\n",
			func(t *testing.T, got ltEcho) {
				// net/http joins an obs-fold line with a space (RFC 9112 §5.2).
				if v := got.Header.Values("X-Folded"); len(v) != 1 || v[0] != "1 folded" {
					t.Errorf("folded X-Folded forwarded as %q, want [\"1 folded\"]", v)
				}
			}},
		{"Expect: 100-continue", "GET " + target + " HTTP/1.1\r\nHost: " + ltHost + "\r\nExpect: 100-continue\r\n\r\n", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lc := e.laneDial(t)
			lc.send(tc.raw)
			res, b := lc.read(http.MethodGet)
			got := wantEcho(t, tc.name, res, b, http.MethodGet, "/odd", "")
			if tc.check != nil {
				tc.check(t, got)
			}
			if res.Close {
				t.Errorf("%s: the proxy closes a keep-alive connection: %v", tc.name, res.Header)
			}
			eventually(t, "the connection to leave the lane", func() bool { return e.laneConns() == 0 })
			lc.send(ltGet(u, "/next", "Connection: close\r\n"))
			res, b = lc.read(http.MethodGet)
			wantEcho(t, "the request after it", res, b, http.MethodGet, "/next", "")
			lc.wantEOF("after Connection: close")
		})
	}

	// Refused by net/http's server itself, rewritten to a bad_request.
	for _, tc := range []struct{ name, raw string }{
		{"two Host fields", "GET " + target + " HTTP/1.1\r\nHost: " + ltHost + "\r\nHost: other.example\r\n\r\n"},
		{"no Host field", "GET " + target + " HTTP/1.1\r\nAccept: */*\r\n\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lc := e.laneDial(t)
			lc.send(tc.raw)
			res, b := lc.read(http.MethodGet)
			wantBadRequest(t, tc.name, res, b, http.StatusBadRequest)
			if !res.Close {
				t.Errorf("%s: the refusal does not close the connection: %v", tc.name, res.Header)
			}
			lc.wantEOF(tc.name)
		})
	}
}

// TestLaneHead: a HEAD answer on the lane has the upstream's headers,
// Content-Length included, and no body; the connection then serves a GET.
func TestLaneHead(t *testing.T) {
	needFastEngine(t)
	if testing.Short() {
		t.Skip("integration: real listeners")
	}
	e, u := newLTEnv(t)
	t.Run("raw", func(t *testing.T) {
		lc := e.laneDial(t)
		lc.send("HEAD " + u.url("/head") + " HTTP/1.1\r\nHost: " + ltHost + "\r\n\r\n")
		res, b := lc.read(http.MethodHead)
		if res.StatusCode != http.StatusOK || len(b) != 0 {
			t.Fatalf("HEAD: %d with %d body bytes, want 200 with none", res.StatusCode, len(b))
		}
		if cl := res.Header.Get("Content-Length"); cl != strconv.Itoa(ltHeadLen) || res.ContentLength != ltHeadLen {
			t.Errorf("HEAD: Content-Length %q (%d), want the upstream's %d", cl, res.ContentLength, ltHeadLen)
		}
		if res.Header.Get("X-Kind") != "head" || res.Header.Get("Content-Type") != "application/octet-stream" {
			t.Errorf("HEAD: upstream headers lost: %v", res.Header)
		}
		if len(res.TransferEncoding) > 0 || res.Close {
			t.Errorf("HEAD: Transfer-Encoding %q, Close %v", res.TransferEncoding, res.Close)
		}
		if n := e.laneConns(); n != 1 {
			t.Errorf("lane connections after HEAD: %d, want 1 (served by the lane)", n)
		}
		// The same connection: a body after the HEAD's head would be
		// read here as the GET's status line.
		lc.send(ltGet(u, "/head"))
		res, b = lc.read(http.MethodGet)
		if res.StatusCode != http.StatusOK || string(b) != strings.Repeat("h", ltHeadLen) {
			t.Fatalf("GET after HEAD: %d with %d body bytes %.20q, want 200 with %d", res.StatusCode, len(b), b, ltHeadLen)
		}
		lc.send(ltGet(u, "/after-head"))
		res, b = lc.read(http.MethodGet)
		wantEcho(t, "echo after HEAD", res, b, http.MethodGet, "/after-head", "")
	})
	t.Run("curl", func(t *testing.T) {
		out, code := curl(t, "--include", "--head", "-x", "http://"+e.addr, u.url("/head"))
		if code != 0 {
			t.Fatalf("curl exit %d: %s", code, out)
		}
		low := strings.ToLower(out)
		if !strings.HasPrefix(out, "HTTP/1.1 200") || !strings.Contains(low, "content-length: "+strconv.Itoa(ltHeadLen)+"\r\n") ||
			!strings.Contains(low, "x-kind: head\r\n") {
			t.Errorf("curl --head: %q", out)
		}
	})
}

// TestLaneConnectionClose: a client's Connection: close is answered with
// Connection: close, and the proxy closes the connection after it.
func TestLaneConnectionClose(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: real listeners")
	}
	e, u := newLTEnv(t)
	for _, conn := range []string{"close", "keep-alive, close", "Close"} {
		t.Run(conn, func(t *testing.T) {
			lc := e.laneDial(t)
			lc.send(ltGet(u, "/first"))
			res, b := lc.read(http.MethodGet)
			wantEcho(t, "keep-alive GET", res, b, http.MethodGet, "/first", "")
			if res.Close || res.Header.Get("Connection") != "" {
				t.Errorf("keep-alive GET answered with Connection: close or %q", res.Header.Get("Connection"))
			}
			lc.send(ltGet(u, "/last", "Connection: "+conn+"\r\n"))
			res, b = lc.read(http.MethodGet)
			wantEcho(t, "GET with Connection: "+conn, res, b, http.MethodGet, "/last", "")
			// http.ReadResponse takes "Connection: close" out of the
			// header into Close (the only way an HTTP/1.1 response sets it).
			if !res.Close || !res.ProtoAtLeast(1, 1) {
				t.Errorf("GET with Connection: %s answered %s without Connection: close (%v)", conn, res.Proto, res.Header)
			}
			lc.wantEOF("after Connection: " + conn)
		})
	}
	eventually(t, "the lane to let its connections go", func() bool { return e.laneConns() == 0 })
}

// TestLaneUpstreamFraming: a body of unknown length reaches the client
// chunked, as it comes, with its trailers; 204 and 304 come without a body
// and the connection goes on.
func TestLaneUpstreamFraming(t *testing.T) {
	needFastEngine(t)
	if testing.Short() {
		t.Skip("integration: real listeners")
	}
	e, u := newLTEnv(t)
	lc := e.laneDial(t)

	lc.send(ltGet(u, "/chunked"))
	res, err := http.ReadResponse(lc.br, &http.Request{Method: http.MethodGet})
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK {
		t.Fatalf("chunked: status %d", res.StatusCode)
	}
	if len(res.TransferEncoding) != 1 || res.TransferEncoding[0] != "chunked" || res.ContentLength != -1 {
		t.Errorf("chunked: Transfer-Encoding %q, Content-Length %d; want chunked, unknown length", res.TransferEncoding, res.ContentLength)
	}
	for _, k := range []string{"X-Checksum", "X-Parts"} {
		if _, ok := res.Trailer[k]; !ok {
			t.Errorf("chunked: trailer %s not announced (Trailer: %q)", k, res.Header.Values("Trailer"))
		}
	}
	first := make([]byte, len(ltChunkParts[0]))
	if _, err := io.ReadFull(res.Body, first); err != nil || string(first) != ltChunkParts[0] {
		t.Fatalf("chunked: first part %q, %v", first, err)
	}
	u.proceed <- struct{}{} // the upstream sends the rest only now
	rest, err := io.ReadAll(res.Body)
	_ = res.Body.Close()
	if err != nil {
		t.Fatalf("chunked: reading the rest: %v (got %q)", err, rest)
	}
	if want := strings.Join(ltChunkParts[1:], ""); string(rest) != want {
		t.Errorf("chunked: rest of the body %q, want %q", rest, want)
	}
	if got := res.Trailer.Get("X-Checksum"); got != ltChecksum {
		t.Errorf("chunked: trailer X-Checksum %q, want %q (trailers %v)", got, ltChecksum, res.Trailer)
	}
	if got := res.Trailer.Get("X-Parts"); got != strconv.Itoa(len(ltChunkParts)) {
		t.Errorf("chunked: trailer X-Parts %q, want %d (trailers %v)", got, len(ltChunkParts), res.Trailer)
	}
	if res.Close {
		t.Errorf("chunked: the proxy closes the connection")
	}

	lc.send(ltGet(u, "/nocontent"))
	res, b := lc.read(http.MethodGet)
	if res.StatusCode != http.StatusNoContent || len(b) != 0 || res.Header.Get("X-Kind") != "no-content" {
		t.Errorf("204: %d, %d body bytes, headers %v", res.StatusCode, len(b), res.Header)
	}
	if len(res.TransferEncoding) > 0 || res.Header.Get("Content-Length") != "" || res.Close {
		t.Errorf("204: framing fields %v", res.Header)
	}

	lc.send(ltGet(u, "/notmodified", "If-None-Match: \"v1\"\r\n"))
	res, b = lc.read(http.MethodGet)
	if res.StatusCode != http.StatusNotModified || len(b) != 0 || res.Header.Get("ETag") != `"v1"` || res.Header.Get("X-Kind") != "not-modified" {
		t.Errorf("304: %d, %d body bytes, headers %v", res.StatusCode, len(b), res.Header)
	}
	if len(res.TransferEncoding) > 0 || res.Close {
		t.Errorf("304: framing fields %v", res.Header)
	}

	// Two more, pipelined: any stray body byte after the 204 or 304 would
	// break them.
	lc.send(ltGet(u, "/nocontent") + ltGet(u, "/after"))
	res, b = lc.read(http.MethodGet)
	if res.StatusCode != http.StatusNoContent || len(b) != 0 {
		t.Errorf("second 204: %d, %d body bytes", res.StatusCode, len(b))
	}
	res, b = lc.read(http.MethodGet)
	wantEcho(t, "GET after 204 and 304", res, b, http.MethodGet, "/after", "")
	if n := e.laneConns(); n != 1 {
		t.Errorf("lane connections: %d, want 1 (every request here is the lane's)", n)
	}
}

// TestLaneHeaderSizes: a header block up to the lane's 4 KiB buffer is
// the lane's, a larger one (under max header bytes) goes to net/http and
// is served too, and one over max header bytes is a 431 bad_request.
func TestLaneHeaderSizes(t *testing.T) {
	needFastEngine(t)
	if testing.Short() {
		t.Skip("integration: real listeners")
	}
	const maxHeader = 8 << 10
	e, u := newLTEnv(t, func(o *Options) { o.MaxHeaderBytes = maxHeader })
	// block is a GET whose header block is exactly size bytes, and the
	// X-Pad value in it.
	block := func(size int) (string, string) {
		prefix := "GET " + u.url("/size") + " HTTP/1.1\r\nHost: " + ltHost + "\r\nX-Pad: "
		suffix := "\r\n\r\n"
		pad := strings.Repeat("z", size-len(prefix)-len(suffix))
		return prefix + pad + suffix, pad
	}
	for _, tc := range []struct {
		name   string
		size   int
		onLane bool
	}{
		{"just under 4 KiB", 4000, true},
		{"exactly 4 KiB", 4 << 10, true},
		{"one byte over 4 KiB", 4<<10 + 1, false},
		{"just over 4 KiB", 5000, false},
		{"just under max header bytes", maxHeader - 100, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eventually(t, "earlier connections to leave the lane", func() bool { return e.laneConns() == 0 })
			raw, pad := block(tc.size)
			if len(raw) != tc.size {
				t.Fatalf("built a %d-byte block, want %d", len(raw), tc.size)
			}
			lc := e.laneDial(t)
			lc.send(raw)
			res, b := lc.read(http.MethodGet)
			got := wantEcho(t, tc.name, res, b, http.MethodGet, "/size", "")
			if got.Header.Get("X-Pad") != pad {
				t.Errorf("upstream saw a %d-byte X-Pad, want %d", len(got.Header.Get("X-Pad")), len(pad))
			}
			if tc.onLane {
				if n := e.laneConns(); n != 1 {
					t.Errorf("lane connections: %d, want 1 (a %d-byte block is the lane's)", n, tc.size)
				}
			} else {
				eventually(t, "the connection to leave the lane", func() bool { return e.laneConns() == 0 })
			}
			lc.send(ltGet(u, "/then", "Connection: close\r\n"))
			res, b = lc.read(http.MethodGet)
			wantEcho(t, "the request after it", res, b, http.MethodGet, "/then", "")
			lc.wantEOF("after Connection: close")
		})
	}
	t.Run("over max header bytes", func(t *testing.T) {
		// net/http allows 4 KiB of slack over MaxHeaderBytes: 16 KiB is
		// over both.
		raw, _ := block(16 << 10)
		lc := e.laneDial(t)
		lc.send(raw)
		res, b := lc.read(http.MethodGet)
		rb := wantBadRequest(t, "16 KiB header block", res, b, http.StatusRequestHeaderFieldsTooLarge)
		if !strings.Contains(rb.Message, strconv.Itoa(maxHeader)) {
			t.Errorf("431 message %q does not name the %d-byte limit", rb.Message, maxHeader)
		}
		lc.wantEOF("after the 431")
	})
}

// TestLaneShutdown: Shutdown closes idle lane connections at once (not
// after the idle timeout) and lets a request in flight finish, with
// Connection: close.
func TestLaneShutdown(t *testing.T) {
	needFastEngine(t)
	if testing.Short() {
		t.Skip("integration: real listeners")
	}
	t.Run("idle keep-alive connections", func(t *testing.T) {
		// The default 90 s idle timeout: a Shutdown that waited for it
		// would hit its 5 s context instead.
		e, u := newLTEnv(t, func(o *Options) { o.Timeouts.IdleConn = DefaultIdleConn })
		lane := e.laneDial(t)
		lane.send(ltGet(u, "/idle"))
		res, b := lane.read(http.MethodGet)
		wantEcho(t, "GET on the lane", res, b, http.MethodGet, "/idle", "")
		if n := e.laneConns(); n != 1 {
			t.Fatalf("lane connections: %d, want 1", n)
		}
		// And one net/http holds (handed off by its POST), idle too.
		handed := e.laneDial(t)
		handed.send("POST " + u.url("/idle-post") + " HTTP/1.1\r\nHost: " + ltHost + "\r\nContent-Length: 3\r\n\r\nabc")
		res, b = handed.read(http.MethodPost)
		wantEcho(t, "POST (handed off)", res, b, http.MethodPost, "/idle-post", "abc")

		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := e.srv.Shutdown(ctx); err != nil {
			t.Fatalf("Shutdown with idle connections: %v (ctx: %v)", err, ctx.Err())
		}
		if ctx.Err() != nil {
			t.Errorf("Shutdown returned after its context ended: %v", ctx.Err())
		}
		lane.wantEOF("idle lane connection after Shutdown")
		handed.wantEOF("idle net/http connection after Shutdown")
		if n := e.laneConns(); n != 0 {
			t.Errorf("lane connections after Shutdown: %d", n)
		}
	})

	t.Run("request in flight", func(t *testing.T) {
		e, u := newLTEnv(t, func(o *Options) { o.Timeouts.ResponseHeader = 5 * time.Second })
		lc := e.laneDial(t)
		lc.send(ltGet(u, "/slow"))
		select {
		case <-u.slowStarted:
		case <-time.After(5 * time.Second):
			t.Fatal("the request never reached the upstream")
		}
		type result struct {
			err      error
			answered bool // the upstream had answered when Shutdown returned
		}
		shut := make(chan result, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			err := e.srv.Shutdown(ctx)
			shut <- result{err: err, answered: u.slowAnswered.Load()}
		}()
		res, b := lc.read(http.MethodGet)
		wantEcho(t, "the request in flight", res, b, http.MethodGet, "/slow", "")
		// http.ReadResponse turns Connection: close into Close.
		if !res.Close || !res.ProtoAtLeast(1, 1) {
			t.Errorf("response during Shutdown: %s without Connection: close (%v)", res.Proto, res.Header)
		}
		lc.wantEOF("after the last response before Shutdown")
		select {
		case r := <-shut:
			if r.err != nil {
				t.Errorf("Shutdown: %v", r.err)
			}
			if !r.answered {
				t.Error("Shutdown returned before the upstream answered the request in flight")
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Shutdown did not return")
		}
	})
}

// TestLaneClientAddress: the lane gives the handler the client's address,
// so a client recognised by its source address (clients[].cidrs) is
// permitted or refused by it.
func TestLaneClientAddress(t *testing.T) {
	needFastEngine(t)
	if testing.Short() {
		t.Skip("integration: real listeners")
	}
	e, u := newLTEnv(t)
	pfx := netip.MustParsePrefix
	lc := e.laneDial(t)
	// One connection, every request on the lane: each must carry the
	// address, not only the first.
	get := func(path string) (*http.Response, []byte) {
		t.Helper()
		e.logs.TakeAll()
		lc.send(ltGet(u, path))
		res, b := lc.read(http.MethodGet)
		if n := e.laneConns(); n != 1 {
			t.Errorf("%s: lane connections %d, want 1 (served by the lane)", path, n)
		}
		return res, b
	}

	e.setAccess(testClients(t, access.ProxyAuth{},
		access.Client{Name: "local", CIDRs: []netip.Prefix{pfx("127.0.0.1/32")}, Permit: []string{"Lane"}},
		access.Client{Name: "far", CIDRs: []netip.Prefix{pfx("10.0.0.0/8")}, Permit: []string{"Lane"}},
	), access.Limits{})
	res, b := get("/from-local")
	wantEcho(t, "127.0.0.1/32 permitted", res, b, http.MethodGet, "/from-local", "")
	eventually(t, "the summary line", func() bool { return e.logs.FilterMessage("request").Len() > 0 })
	if c := e.logs.FilterMessage("request").All()[0].ContextMap()[FieldClient]; c != "local" {
		t.Errorf("summary line client %v, want local (recognised by 127.0.0.1)", c)
	}

	// The address names client local, which may not use Lane.
	e.setAccess(testClients(t, access.ProxyAuth{},
		access.Client{Name: "local", CIDRs: []netip.Prefix{pfx("127.0.0.1/32")}, Permit: []string{"Plain"}},
		access.Client{Name: "far", CIDRs: []netip.Prefix{pfx("10.0.0.0/8")}, Permit: []string{"Lane"}},
	), access.Limits{})
	res, b = get("/from-local-not-permitted")
	if rb := refusalOf(t, b); res.StatusCode != http.StatusForbidden || rb.Error != "not_permitted" ||
		!strings.Contains(rb.Message, "client local") || rb.NamedCredential != "Lane" {
		t.Errorf("127.0.0.1/32 not permitted Lane: %d %+v, want 403 not_permitted for client local", res.StatusCode, rb)
	}

	// No client holds 127.0.0.1.
	e.setAccess(testClients(t, access.ProxyAuth{},
		access.Client{Name: "far", CIDRs: []netip.Prefix{pfx("10.0.0.0/8"), pfx("::ffff:10.0.0.0/104")}, Permit: []string{"Lane"}},
	), access.Limits{})
	res, b = get("/from-unknown")
	if rb := refusalOf(t, b); res.StatusCode != http.StatusForbidden || rb.Error != "not_permitted" ||
		!strings.Contains(rb.Message, "source address") || rb.NamedCredential != "Lane" {
		t.Errorf("no client for 127.0.0.1: %d %+v, want 403 not_permitted (no identity for the address)", res.StatusCode, rb)
	}
}

// TestLaneHeaderReadTimeout: Timeouts.HeaderRead bounds the reading of a
// request's header block from its first byte, as net/http's
// ReadHeaderTimeout does, whichever of the lane and net/http reads it.
func TestLaneHeaderReadTimeout(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: real listeners")
	}
	const headerRead = 2 * time.Second // margins of 0.6 s and more around every sleep below
	// IdleConn equal to HeaderRead (a configuration like any other).
	e, u := newLTEnv(t, func(o *Options) {
		o.Timeouts.HeaderRead = headerRead
		o.Timeouts.IdleConn = headerRead
	})

	// After a keep-alive response, the client idles for 1.2 s (under
	// IdleConn), then sends a header block that takes 1 s (under
	// HeaderRead): it is served. net/http's ReadHeaderTimeout starts when
	// the next request starts, not when the previous response ended.
	for _, path := range []string{"net/http", "lane"} {
		t.Run("fresh bound after an idle wait on "+path, func(t *testing.T) {
			lc := e.laneDial(t)
			if path == "net/http" {
				lc.send("POST " + u.url("/first") + " HTTP/1.1\r\nHost: " + ltHost + "\r\nContent-Length: 1\r\n\r\nx")
				res, b := lc.read(http.MethodPost)
				wantEcho(t, "POST (handed off)", res, b, http.MethodPost, "/first", "x")
			} else {
				lc.send(ltGet(u, "/first"))
				res, b := lc.read(http.MethodGet)
				wantEcho(t, "first GET (lane)", res, b, http.MethodGet, "/first", "")
			}
			time.Sleep(1200 * time.Millisecond)
			lc.send("GET " + u.url("/second") + " HTTP/1.1\r\nHost: " + ltHost + "\r\n")
			time.Sleep(time.Second)
			lc.send("Connection: close\r\n\r\n")
			res, b := lc.read(http.MethodGet)
			wantEcho(t, "a request whose header took 1 s after a 1.2 s idle wait", res, b, http.MethodGet, "/second", "")
		})
	}

	// A header block that outgrows the lane's buffer 1.3 s in and is
	// complete only 2.6 s after it began is over HeaderRead: it must be
	// cut, not served, though net/http reads it in the end.
	t.Run("bound kept across the hand-off", func(t *testing.T) {
		eventually(t, "earlier connections to leave the lane", func() bool { return e.laneConns() == 0 })
		lc := e.laneDial(t)
		head := "GET " + u.url("/slowloris") + " HTTP/1.1\r\nHost: " + ltHost + "\r\nX-Pad: "
		lc.send(head + strings.Repeat("a", 4000-len(head)))
		time.Sleep(1300 * time.Millisecond)
		lc.send(strings.Repeat("b", 200)) // now over the lane's 4 KiB: for net/http
		time.Sleep(1300 * time.Millisecond)
		_, _ = io.WriteString(lc.c, "\r\n\r\n") // may fail: the proxy should have closed
		got, err := io.ReadAll(lc.br)
		if isTimeout(err) {
			t.Fatalf("the connection was held open until the client's deadline")
		}
		if len(got) > 0 {
			t.Errorf("a header block that took 2.6 s (HeaderRead %v) was answered: %.60q", headerRead, got)
		}
	})
}
