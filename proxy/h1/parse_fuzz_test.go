package h1

import (
	"bufio"
	"net"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// pipeListener serves net/http over in-memory pipes.
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }

// seenRequest is what a handler can see of a request.
type seenRequest struct {
	Method, RequestURI, Host, Proto string
	URL                             string
	Header                          http.Header
	Close                           bool
	ContentLength                   int64
}

func seenOf(r *http.Request) seenRequest {
	return seenRequest{Method: r.Method, RequestURI: r.RequestURI, Host: r.Host, Proto: r.Proto,
		URL: r.URL.String(), Header: r.Header, Close: r.Close, ContentLength: r.ContentLength}
}

// netHTTPReference runs net/http's server (as the proxy configures it) and
// reports what its handler saw of a request, or the status it answered
// without calling the handler.
type netHTTPReference struct {
	ln   *pipeListener
	srv  *http.Server
	seen chan seenRequest
}

func newNetHTTPReference() *netHTTPReference {
	ref := &netHTTPReference{
		ln:   &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})},
		seen: make(chan seenRequest, 1),
	}
	ref.srv = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ref.seen <- seenOf(r)
			w.WriteHeader(http.StatusNoContent)
		}),
		MaxHeaderBytes:               64 << 10,
		DisableGeneralOptionsHandler: true,
		ErrorLog:                     nil,
	}
	go func() { _ = ref.srv.Serve(ref.ln) }()
	return ref
}

func (ref *netHTTPReference) close() { _ = ref.srv.Close() }

// serve sends block on a fresh connection and returns what the handler saw,
// or nil and the status net/http answered by itself.
func (ref *netHTTPReference) serve(t *testing.T, block []byte) (*seenRequest, int) {
	client, server := net.Pipe()
	defer client.Close()
	ref.ln.conns <- server
	_ = client.SetDeadline(time.Now().Add(5 * time.Second))
	go func() { _, _ = client.Write(block) }()
	res, err := http.ReadResponse(bufio.NewReader(client), nil)
	if err != nil {
		t.Fatalf("net/http gave no response to %q: %v", block, err)
	}
	_ = res.Body.Close()
	select {
	case s := <-ref.seen:
		return &s, res.StatusCode
	default:
		return nil, res.StatusCode
	}
}

// FuzzLaneRequest holds the lane to its promise: every header block it
// serves itself is one net/http's server also accepts, and the handler sees
// the same request either way. (What the lane declines goes to net/http
// and needs no check.)
func FuzzLaneRequest(f *testing.F) {
	for _, s := range []string{
		"GET http://api.example/v1?q=1 HTTP/1.1\r\nHost: api.example\r\nUser-Agent: x\r\n\r\n",
		"HEAD http://api.example:8080/ HTTP/1.1\r\nHost: api.example:8080\r\nConnection: close\r\n\r\n",
		"CONNECT api.example:443 HTTP/1.1\r\nHost: api.example:443\r\n\r\n",
		"CONNECT api.example:443 HTTP/1.1\r\n\r\n",
		"GET /callout/Orders/a%2Fb?x HTTP/1.1\r\nHost: proxy\r\nAccept: */*\r\nAccept: text/plain\r\n\r\n",
		"GET http://api.example/ HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
		"GET http://api.example/ HTTP/1.1\r\nhost: a\r\nX: \t v \t\r\n\r\n",
		"GET http://api.example/ HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",
		"GET http://api.example/ HTTP/1.1\nHost: a\n\n",
		"GET http://api.example/ HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
		"GET http://api.example/ HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
		"GET http://api.example/ HTTP/1.1\r\nHost: a b\r\n\r\n",
		"GET http://api.example/ HTTP/1.1\r\nHo st: a\r\n\r\n",
		"GET http://api.example/ HTTP/1.1\r\nHost: a\r\nX:\x01\r\n\r\n",
		"GET  http://api.example/ HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET http://[::1]:80/ HTTP/1.1\r\nHost: [::1]\r\nPragma: no-cache\r\n\r\n",
		"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
		"DELETE http://a/%zz HTTP/1.1\r\nHost: a\r\n\r\n",
		"get http://a/ HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET http://a/ HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, close\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	ref := newNetHTTPReference()
	defer ref.close()
	f.Fuzz(func(t *testing.T, data []byte) {
		end := headerEnd(data)
		if end == 0 || end > laneBufSize {
			return
		}
		block := data[:end]
		req := parseLaneRequest(block)
		if req == nil {
			return
		}
		got, status := ref.serve(t, block)
		if got == nil {
			t.Fatalf("the lane serves %q, net/http answers it %d without a handler", block, status)
		}
		if want := seenOf(req); !reflect.DeepEqual(want, *got) {
			t.Fatalf("the lane and net/http see %q differently:\nlane:     %+v\nnet/http: %+v", block, want, *got)
		}
	})
}

// TestLaneDeclines lists requests the lane must leave to net/http, each
// for its own reason.
func TestLaneDeclines(t *testing.T) {
	for name, raw := range map[string]string{
		"HTTP/1.0":          "GET http://a/ HTTP/1.0\r\nHost: a\r\n\r\n",
		"bare LF":           "GET http://a/ HTTP/1.1\nHost: a\n\n",
		"folded field":      "GET http://a/ HTTP/1.1\r\nHost: a\r\nX: 1\r\n 2\r\n\r\n",
		"two Host":          "GET http://a/ HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n",
		"no Host":           "GET http://a/ HTTP/1.1\r\nAccept: */*\r\n\r\n",
		"bad Host":          "GET http://a/ HTTP/1.1\r\nHost: a/b\r\n\r\n",
		"Content-Length":    "GET http://a/ HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
		"Transfer-Encoding": "POST http://a/ HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
		"Expect":            "GET http://a/ HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n",
		"Upgrade":           "GET http://a/ HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
		"CR in a field":     "GET http://a/ HTTP/1.1\r\nHost: a\r\nX: 1\r2\r\n\r\n",
		"bad field name":    "GET http://a/ HTTP/1.1\r\nHost: a\r\nX Y: 1\r\n\r\n",
		"HTTP/2 preface":    "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
		"leading CRLF":      "\r\nGET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			end := headerEnd([]byte(raw))
			if end == 0 {
				t.Fatalf("no header end found in %q", raw)
			}
			if req := parseLaneRequest([]byte(raw[:end])); req != nil {
				t.Fatalf("the lane would serve %q", raw)
			}
		})
	}
	for _, raw := range []string{
		"GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n",
		"CONNECT a:443 HTTP/1.1\r\n\r\n",
		"HEAD http://a/x?y HTTP/1.1\r\nHost: a\r\nConnection: close\r\nProxy-Authorization: Basic eDp5\r\n\r\n",
	} {
		if req := parseLaneRequest([]byte(raw)); req == nil {
			t.Errorf("the lane declines %q", raw)
		}
	}
}

func TestHeaderEnd(t *testing.T) {
	for raw, want := range map[string]int{
		"GET / HTTP/1.1\r\n\r\n":           len("GET / HTTP/1.1\r\n\r\n"),
		"GET / HTTP/1.1\r\nA: b\r\n\r\nxx": len("GET / HTTP/1.1\r\nA: b\r\n\r\n"),
		"GET / HTTP/1.1\nA: b\n\nxx":       len("GET / HTTP/1.1\nA: b\n\n"),
		"GET / HTTP/1.1\r\nA: b\n\r\n":     len("GET / HTTP/1.1\r\nA: b\n\r\n"),
		"GET / HTTP/1.1\r\nA: b\r\n":       0,
		"GET / HTTP/1.1\r\nA: b\r\n\r":     0,
		"":                                 0,
		strings.Repeat("x", 100):           0,
	} {
		if got := headerEnd([]byte(raw)); got != want {
			t.Errorf("headerEnd(%q) = %d, want %d", raw, got, want)
		}
	}
}
