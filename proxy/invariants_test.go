package proxy

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestBoundaryInvariants holds the boundary's promises over every request
// form × wire engine × method × body framing:
//   - no byte of an injected secret ever reaches the client (headers, body,
//     trailers, refusal bodies);
//   - Proxy-Authorization never reaches an upstream, in headers or
//     trailers, and the client's Authorization reaches it only where no
//     credential is injected;
//   - a refused request never reaches the upstream;
//   - after a request framed by chunks the connection closes, and nothing
//     after the body is served.
func TestBoundaryInvariants(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: real listeners")
	}
	methods := []string{http.MethodGet, http.MethodPost, http.MethodTrace, http.MethodOptions, "PURGEX"}
	type framing struct {
		name    string
		headers string
		body    string
		chunked bool
	}
	framings := []framing{
		{"no body", "", "", false},
		{"content-length", "Content-Length: 5\r\n", "hello", false},
		{"chunked with trailers", "Transfer-Encoding: chunked\r\nTrailer: Proxy-Authorization, Authorization, X-Api-Key\r\n",
			chunkedWithTrailers("hello", "Proxy-Authorization: Basic dHJhaWxlcjpwdw==", "Authorization: Bearer trailer-auth", "X-Api-Key: trailer-key"), true},
		{"content-length and chunked, then a smuggled request", "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n",
			"0\r\n\r\nGET /callout/Echo/smuggled HTTP/1.1\r\nHost: x\r\n\r\n", true},
	}
	const proxyAuth = "Proxy-Authorization: Basic cHJveHk6c2VjcmV0\r\n"
	for _, engine := range engines {
		e, u := newBoundaryEnv(t, engine)
		echo := e.echoHost(u)
		for _, form := range []form{formCallout, formAbsolute, formConnect} {
			for _, m := range methods {
				for _, fr := range framings {
					t.Run(fmt.Sprintf("%s/%s/%s/%s", engine, form, m, fr.name), func(t *testing.T) {
						before := len(u.seen())
						head := proxyAuth + "Authorization: " + clientAuth + "\r\n" + fr.headers + "\r\n" + fr.body
						var r exchangeResult
						// A chunked request must end with a close: ask for
						// one response more than it gets.
						want := 1
						if fr.chunked {
							want = 2
						}
						switch form {
						case formCallout:
							r = rawExchange(t, e.addr, m+" /callout/Echo/p HTTP/1.1\r\nHost: callgate\r\n"+head, m, want)
						case formAbsolute:
							r = rawExchange(t, e.addr, m+" http://"+echo+"/base/p HTTP/1.1\r\nHost: x\r\n"+head, m, want)
						case formConnect:
							r = tunnelExchange(t, e.addr, echo, m+" /base/p HTTP/1.1\r\nHost: "+echo+"\r\nAuthorization: "+clientAuth+"\r\n"+fr.headers+"\r\n"+fr.body, m)
						}
						assertNoSecret(t, "the client", r.raw)
						if len(r.responses) == 0 {
							t.Fatalf("no response: %q", r.raw)
						}
						seen := u.seen()[before:]
						refused := r.responses[0].Header.Get("Proxy-Status") != ""
						if refused && form != formConnect && len(seen) != 0 {
							t.Errorf("refused (%d) yet the upstream got %+v", r.responses[0].StatusCode, seen)
						}
						if form == formCallout && m == http.MethodTrace && !refused {
							t.Errorf("TRACE on the callout form was not refused: %d", r.responses[0].StatusCode)
						}
						if form == formConnect {
							// Inside a tunnel the bytes are the client's own,
							// end to end; only the CONNECT head is callgate's.
							for _, s := range seen {
								if strings.Contains(fmt.Sprint(s.Header, s.Trailer), "cHJveHk6c2VjcmV0") {
									t.Errorf("the CONNECT head's Proxy-Authorization reached the upstream: %+v", s)
								}
							}
							return
						}
						for _, s := range seen {
							if strings.Contains(s.Path, "smuggled") {
								t.Errorf("the bytes after a chunked body were served: %+v", s)
							}
							for _, h := range []http.Header{s.Header, s.Trailer} {
								if v := h.Values("Proxy-Authorization"); len(v) > 0 {
									t.Errorf("the upstream received Proxy-Authorization %q", v)
								}
							}
							if len(s.Trailer) > 0 {
								t.Errorf("the upstream received trailers %v", s.Trailer)
							}
							auth := s.Header.Values("Authorization")
							want := clientAuth
							if form == formCallout {
								want = "Bearer " + secretBearer
							}
							if len(auth) != 1 || auth[0] != want {
								t.Errorf("the upstream received Authorization %q, want %q", auth, want)
							}
						}
						if fr.chunked && !r.closed {
							t.Error("the connection stayed open after a chunked request")
						}
						if fr.chunked && len(r.responses) > 1 {
							t.Errorf("%d responses to one chunked request", len(r.responses))
						}
					})
				}
			}
		}
	}
}

// tunnelExchange opens a CONNECT tunnel to target with a
// Proxy-Authorization in the CONNECT head, sends inner through it and
// reads one response.
func tunnelExchange(t *testing.T, addr, target, inner, method string) exchangeResult {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	var got bytes.Buffer
	br := bufio.NewReader(io.TeeReader(c, &got))
	_, _ = io.WriteString(c, "CONNECT "+target+" HTTP/1.1\r\nHost: "+target+"\r\nProxy-Authorization: Basic cHJveHk6c2VjcmV0\r\n\r\n")
	res, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil {
		t.Fatalf("CONNECT: %v", err)
	}
	var r exchangeResult
	if res.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(res.Body)
		r.responses, r.bodies, r.raw = []*http.Response{res}, [][]byte{body}, got.Bytes()
		return r
	}
	_, _ = io.WriteString(c, inner)
	res, err = http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		t.Fatalf("through the tunnel: %v (%q)", err, got.Bytes())
	}
	body, _ := io.ReadAll(res.Body)
	r.responses, r.bodies, r.raw = []*http.Response{res}, [][]byte{body}, got.Bytes()
	return r
}
