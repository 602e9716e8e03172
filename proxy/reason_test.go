package proxy

import (
	"fmt"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"testing"
)

// TestRefusalReasonPhrase: every refusal names its code in the status
// line, so clients that show only the status line of a refused CONNECT
// (curl, Python, Go) show why, on both engines and for net/http's own
// answers too.
func TestRefusalReasonPhrase(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: real listeners")
	}
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Fatal("curl is required for this test (.ci/run installs it)")
	}
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Fatal("python3 is required for this test")
	}
	for _, engine := range engines {
		e, u := newBoundaryEnv(t, engine)
		warming := fmt.Sprintf("warm.partner.example:%d", e.plain.port)
		t.Run(engine.String()+"/raw", func(t *testing.T) {
			for _, tc := range []struct{ raw, method, line string }{
				{"CONNECT " + warming + " HTTP/1.1\r\nHost: " + warming + "\r\n\r\n", http.MethodConnect, "HTTP/1.1 503 Service Unavailable (warming_up)"},
				{"GET http://unknown.example/ HTTP/1.1\r\nHost: unknown.example\r\n\r\n", http.MethodGet, "HTTP/1.1 403 Forbidden (unknown_destination)"},
				{"POST http://unknown.example/ HTTP/1.1\r\nHost: unknown.example\r\nContent-Length: 2\r\n\r\nhi", http.MethodPost, "HTTP/1.1 403 Forbidden (unknown_destination)"},
				{"TRACE /callout/Echo/x HTTP/1.1\r\nHost: x\r\n\r\n", http.MethodTrace, "HTTP/1.1 405 Method Not Allowed (method_not_allowed)"},
				{"GET http://" + e.echoHost(u) + "/base/x HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 70<<10) + "\r\n\r\n", http.MethodGet, "HTTP/1.1 431 Request Header Fields Too Large (bad_request)"},
			} {
				r := rawExchange(t, e.addr, tc.raw, tc.method, 1)
				if got := firstLine(string(r.raw)); got != tc.line {
					t.Errorf("%s: status line %q, want %q", firstLine(tc.raw), got, tc.line)
				}
				if len(r.responses) == 1 && r.responses[0].Header.Get(refusalCodeHeader) == "" {
					t.Errorf("%s: no %s header", firstLine(tc.raw), refusalCodeHeader)
				}
			}
		})
		t.Run(engine.String()+"/Go client", func(t *testing.T) {
			proxyURL, _ := url.Parse("http://" + e.addr)
			c := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(proxyURL)}}
			_, err := c.Get("https://" + warming + "/")
			if err == nil || !strings.Contains(err.Error(), "(warming_up)") {
				t.Errorf("Go's error %v does not name warming_up", err)
			}
		})
		t.Run(engine.String()+"/curl", func(t *testing.T) {
			out, _ := exec.Command(curl, "-sS", "-v", "-x", "http://"+e.addr, "https://"+warming+"/").CombinedOutput()
			if !strings.Contains(string(out), "503 Service Unavailable (warming_up)") {
				t.Errorf("curl -v shows:\n%s", out)
			}
		})
		t.Run(engine.String()+"/Python urllib", func(t *testing.T) {
			script := `import sys, urllib.request
opener = urllib.request.build_opener(urllib.request.ProxyHandler({"https": sys.argv[1]}))
try:
    opener.open(sys.argv[2], timeout=5)
except Exception as e:
    print(e)`
			out, _ := exec.Command(python, "-c", script, "http://"+e.addr, "https://"+warming+"/").CombinedOutput()
			if !strings.Contains(string(out), "warming_up") {
				t.Errorf("Python shows: %s", out)
			}
		})
	}
}
