package proxy

import (
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestCalloutBehindHTTPProxy: a client with HTTP_PROXY set sends
// http://callgate:PORT/callout/Name/… to callgate in absolute form; it is
// served as the callout form (with injection), for a configured name, the
// listener's IP and localhost, on both engines. Other absolute-form
// requests to callgate's own address stay refused.
func TestCalloutBehindHTTPProxy(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: real listeners")
	}
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Fatal("curl is required for this test (.ci/run installs it)")
	}
	for _, engine := range engines {
		e, u := newBoundaryEnv(t, engine, func(o *Options) { o.SelfNames = []string{"callgate.egress.svc", "other-name:81"} })
		_, port, _ := strings.Cut(e.addr, ":")
		run := func(t *testing.T, target string) (string, string) {
			t.Helper()
			cmd := exec.Command(curl, "-sS", "-o", "-", "-w", "\n%{http_code}", target)
			cmd.Env = append(os.Environ(), "http_proxy=http://"+e.addr, "HTTP_PROXY=http://"+e.addr, "NO_PROXY=", "no_proxy=")
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("curl %s: %v: %s", target, err, out)
			}
			// -w appends "\n" and the status to the body.
			i := strings.LastIndexByte(string(out), '\n')
			return string(out[:i]), string(out[i+1:])
		}
		for _, host := range []string{"callgate.egress.svc:" + port, "CallGate.Egress.Svc.:" + port, "127.0.0.1:" + port, "localhost:" + port, "other-name:81"} {
			t.Run(engine.String()+"/"+host, func(t *testing.T) {
				before := len(u.seen())
				body, code := run(t, "http://"+host+"/callout/Echo/items?q=1")
				if code != "200" || body != "ok" {
					t.Fatalf("status %s body %q, want 200 ok", code, body)
				}
				seen := u.seen()[before:]
				if len(seen) != 1 || seen[0].Path != "/base/items" || seen[0].Header.Get("X-Api-Key") != secretAPIKey {
					t.Errorf("upstream saw %+v, want the callout to /base/items with the credential injected", seen)
				}
			})
		}
		for _, tc := range []struct{ target, code string }{
			{"http://callgate.egress.svc:" + port + "/not-callout", "403"},
			{"http://127.0.0.1:1/callout/Echo/x", "403"},
			{"http://unknown.example:" + port + "/callout/Echo/x", "403"},
			{"http://other-name:82/callout/Echo/x", "403"},
		} {
			t.Run(engine.String()+"/refused "+tc.target, func(t *testing.T) {
				before := len(u.seen())
				if _, code := run(t, tc.target); code != tc.code {
					t.Errorf("status %s, want %s", code, tc.code)
				}
				if n := len(u.seen()) - before; n != 0 {
					t.Errorf("the upstream got %d requests", n)
				}
			})
		}
		// The policy is the callout form's: TRACE is refused there too.
		t.Run(engine.String()+"/TRACE", func(t *testing.T) {
			r := rawExchange(t, e.addr, "TRACE http://callgate.egress.svc:"+port+"/callout/Echo/x HTTP/1.1\r\nHost: x\r\n\r\n", http.MethodTrace, 1)
			if len(r.responses) != 1 || r.responses[0].StatusCode != http.StatusMethodNotAllowed {
				t.Errorf("got %q", firstLine(string(r.raw)))
			}
			assertNoSecret(t, "TRACE", r.raw)
		})
	}
}
