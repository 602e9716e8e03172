package proxy

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/iotest"
)

// TestReflectedCredentialNeverRelayed: an endpoint that echoes the request
// back (in a header, the body — whole or split across reads — or a
// trailer) never hands the injected credential to the client, on both
// engines and both upstream clients; the refusal is counted.
func TestReflectedCredentialNeverRelayed(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: real listeners")
	}
	for _, engine := range engines {
		e, u := newBoundaryEnv(t, engine)
		for _, m := range []string{http.MethodGet, http.MethodPost} {
			for _, tc := range []struct {
				path   string
				status int // 0: the response is cut after its head
			}{
				{"reflect-header", http.StatusBadGateway},
				{"reflect-body", 0},
				{"reflect-split", 0},
				{"reflect-trailer", 0},
			} {
				t.Run(engine.String()+"/"+m+"/"+tc.path, func(t *testing.T) {
					before := len(u.seen())
					r := rawExchange(t, e.addr, m+" /callout/Echo/"+tc.path+" HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", m, 1)
					assertNoSecret(t, tc.path, r.raw)
					if len(u.seen()) != before+1 {
						t.Fatalf("the endpoint got %d requests, want 1", len(u.seen())-before)
					}
					if len(r.responses) != 1 {
						if tc.status == 0 && r.closed {
							return // cut before the head left callgate's buffer
						}
						t.Fatalf("no response head: %q", r.raw)
					}
					res := r.responses[0]
					if tc.status != 0 {
						if res.StatusCode != tc.status || res.Header.Get(refusalCodeHeader) != "credential_reflected" {
							t.Errorf("got %d %q, want %d credential_reflected", res.StatusCode, res.Header.Get(refusalCodeHeader), tc.status)
						}
						return
					}
					// Cut: the body ends early, so no client takes it for whole.
					if bytes.HasSuffix(r.raw, []byte("\r\n0\r\n\r\n")) || (res.ContentLength >= 0 && int64(len(r.bodies[0])) == res.ContentLength) {
						t.Errorf("the response was relayed whole: %q", r.raw)
					}
				})
			}
		}
		if n := counterValue(t, e.reg, "callgate_refusals_total", map[string]string{"named_credential": "Echo", "reason": "credential_reflected"}); n < 8 {
			t.Errorf("%s: refusals_total{credential_reflected} = %v, want 8", engine, n)
		}
		// Nothing watched, nothing cut: the same endpoint, ordinary answers.
		r := rawExchange(t, e.addr, "GET /callout/Echo/x HTTP/1.1\r\nHost: x\r\n\r\n", http.MethodGet, 1)
		if len(r.responses) != 1 || r.responses[0].StatusCode != http.StatusOK || string(r.bodies[0]) != "ok" {
			t.Errorf("%s: ordinary response %q", engine, r.raw)
		}
	}
}

// TestReflectBody: the guard's body reader returns no byte of a watched
// value that a later read completes, and passes bodies without one through
// unchanged, chunk by chunk.
func TestReflectBody(t *testing.T) {
	g := &reflectGuard{}
	g.add("s3cret-value-1")
	g.add("short") // under minReflectLen: not watched
	for _, tc := range []struct {
		name, body string
		reflected  bool
	}{
		{"none", "an ordinary body with s3cret and value but not the two together", false},
		{"whole", "prefix s3cret-value-1 suffix", true},
		{"at the end", "ends with s3cret-value-1", true},
		{"prefix only at the end", "ends with s3cret-val", false},
		{"short value", "short short", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out []byte
			r := g.body(io.NopCloser(iotest.OneByteReader(strings.NewReader(tc.body))))
			buf := make([]byte, 1)
			var err error
			for {
				var n int
				n, err = r.Read(buf)
				out = append(out, buf[:n]...)
				if err != nil {
					break
				}
			}
			if tc.reflected {
				if !errors.Is(err, errCredentialReflected) {
					t.Fatalf("err %v, want errCredentialReflected", err)
				}
				if i := strings.Index(tc.body, "s3cret-value-1"); !bytes.Equal(out, []byte(tc.body[:i])) {
					t.Errorf("returned %q before the cut, want exactly the bytes before the value", out)
				}
				return
			}
			if err != io.EOF || string(out) != tc.body {
				t.Errorf("got %q, %v; want the body unchanged", out, err)
			}
		})
	}
	// A chunk whose end cannot start a watched value is returned at once.
	pr, pw := io.Pipe()
	r := g.body(pr)
	go func() { _, _ = pw.Write([]byte("data: tick\n\n")) }()
	buf := make([]byte, 64)
	if n, err := r.Read(buf); err != nil || string(buf[:n]) != "data: tick\n\n" {
		t.Errorf("first read %q, %v; want the whole chunk without waiting for more", buf[:n], err)
	}
	_ = pw.Close()
}
