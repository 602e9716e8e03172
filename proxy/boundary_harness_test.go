package proxy

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/callgate/callgate/routing"
)

// The secrets the test injector adds on the callout form. No byte run of
// them may ever come back to a client.
const (
	secretBearer = "inj3cted-bearer-7f3a9c"
	secretAPIKey = "inj3cted-apikey-51d2e8"
	// clientAuth is the client's own Authorization, which the callout form
	// replaces and the absolute form passes on.
	clientAuth = "Bearer client-own-token"
)

// secretInjector injects as credauth's static kinds do: it replaces the
// client's Authorization and sets a header from auth.headers.
type secretInjector struct{}

func (secretInjector) Inject(r *http.Request) error {
	r.Header.Set("Authorization", "Bearer "+secretBearer)
	r.Header.Set("X-Api-Key", secretAPIKey)
	return nil
}

// echoSeen is one request as the echo upstream received it.
type echoSeen struct {
	Method, Path string
	Header       http.Header
	Trailer      http.Header
}

// echoUpstream is an HTTP endpoint that behaves like Apache with
// TraceEnable On: TRACE is echoed back whole (RFC 9110 §9.3.8). It records
// every request it gets, trailers included.
type echoUpstream struct {
	srv  *http.Server
	port uint16
	mu   sync.Mutex
	reqs []echoSeen
	n    atomic.Int64
}

func startEchoUpstream(t testing.TB) *echoUpstream {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := &echoUpstream{port: uint16(ln.Addr().(*net.TCPAddr).Port)}
	u.srv = &http.Server{Handler: http.HandlerFunc(u.serve), ReadHeaderTimeout: 5 * time.Second,
		ErrorLog: log.New(io.Discard, "", 0)}
	go func() { _ = u.srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = u.srv.Shutdown(ctx)
	})
	return u
}

func (u *echoUpstream) serve(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body) // trailers arrive with the body's end
	u.n.Add(1)
	u.mu.Lock()
	u.reqs = append(u.reqs, echoSeen{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Trailer: r.Trailer.Clone()})
	u.mu.Unlock()
	switch {
	case r.Method == http.MethodTrace:
		w.Header().Set("Content-Type", "message/http")
		fmt.Fprintf(w, "TRACE %s HTTP/1.1\r\n", r.RequestURI)
		_ = r.Header.Write(w)
		_ = r.Trailer.Write(w)
		return
	// An endpoint that reflects the request, as debug routes and error
	// pages do.
	case strings.HasSuffix(r.URL.Path, "/reflect-body"):
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "you sent:\n")
		_ = r.Header.Write(w)
		return
	case strings.HasSuffix(r.URL.Path, "/reflect-split"):
		// The value arrives in two flushes, so the proxy may read it in
		// two pieces.
		v := r.Header.Get("X-Api-Key")
		_, _ = io.WriteString(w, "key="+v[:len(v)/2])
		w.(http.Flusher).Flush()
		_, _ = io.WriteString(w, v[len(v)/2:]+"\n")
		return
	case strings.HasSuffix(r.URL.Path, "/reflect-header"):
		w.Header().Set("X-Echo", r.Header.Get("Authorization"))
	case strings.HasSuffix(r.URL.Path, "/reflect-trailer"):
		w.Header().Set("Trailer", "X-Echo")
		_, _ = io.WriteString(w, "body")
		w.(http.Flusher).Flush()
		w.Header().Set("X-Echo", strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
		return
	case strings.HasSuffix(r.URL.Path, "/bigheader"):
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		w.Header().Set("X-Big", strings.Repeat("h", n))
	case strings.HasSuffix(r.URL.Path, "/trailers"):
		w.Header().Set("Trailer", "X-Sum, Proxy-Foo, Set-Cookie, Connection")
		_, _ = io.WriteString(w, "body")
		w.(http.Flusher).Flush()
		w.Header().Set("X-Sum", "42")
		w.Header().Set("Proxy-Foo", "hop")
		w.Header().Set("Set-Cookie", "s=1")
		return
	}
	_, _ = io.WriteString(w, "ok")
}

// seen returns a copy of what the upstream received so far.
func (u *echoUpstream) seen() []echoSeen {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]echoSeen(nil), u.reqs...)
}

// engines are the wire engines every boundary test runs on.
var engines = []Engine{EngineFast, EngineStdlib}

// newBoundaryEnv is a proxy on engine with two named credentials on the
// echo upstream: Echo (base path /base, the test injector) and EchoRoot
// (the root path, nothing injected).
func newBoundaryEnv(t *testing.T, engine Engine, tweak ...func(*Options)) (*env, *echoUpstream) {
	t.Helper()
	u := startEchoUpstream(t)
	e := newEnv(t, append([]func(*Options){func(o *Options) { o.Engine = engine }}, tweak...)...)
	e.creds = append(e.creds,
		routing.Credential{Name: "Echo", URL: fmt.Sprintf("http://echo.partner.example:%d/base", u.port), Connection: "plain", Auth: secretInjector{}},
		routing.Credential{Name: "EchoRoot", URL: fmt.Sprintf("http://echoroot.partner.example:%d", u.port), Connection: "plain"},
	)
	e.setCreds(e.creds)
	return e, u
}

// echoHost is Echo's host:port, for absolute-form targets.
func (e *env) echoHost(u *echoUpstream) string {
	return fmt.Sprintf("echo.partner.example:%d", u.port)
}

// exchangeResult is what a client saw on one connection.
type exchangeResult struct {
	responses []*http.Response
	bodies    [][]byte
	raw       []byte // every byte the proxy sent, for the secret scan
	closed    bool   // the proxy closed the connection before maxResponses arrived
}

// rawExchange writes raw on a fresh connection and reads up to
// maxResponses responses (to method); asking for one more than expected
// tells whether the proxy closed the connection (it waits for the
// connection's deadline when the proxy keeps it open).
func rawExchange(t *testing.T, addr, raw, method string, maxResponses int) exchangeResult {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	br := bufio.NewReader(io.TeeReader(c, &got))
	var r exchangeResult
	for len(r.responses) < maxResponses {
		res, err := http.ReadResponse(br, &http.Request{Method: method})
		if err != nil {
			r.closed = true
			break
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		r.responses = append(r.responses, res)
		r.bodies = append(r.bodies, body)
	}
	r.raw = got.Bytes()
	return r
}

// assertNoSecret fails when any injected secret shows in what the client
// received.
func assertNoSecret(t *testing.T, what string, raw []byte) {
	t.Helper()
	for _, s := range []string{secretBearer, secretAPIKey} {
		if bytes.Contains(raw, []byte(s)) {
			t.Errorf("%s: the client received the injected secret %q:\n%s", what, s, raw)
		}
	}
}

// chunkedWithTrailers frames body as one chunk followed by trailers.
func chunkedWithTrailers(body string, trailers ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%x\r\n%s\r\n0\r\n", len(body), body)
	for _, tr := range trailers {
		b.WriteString(tr + "\r\n")
	}
	b.WriteString("\r\n")
	return b.String()
}
