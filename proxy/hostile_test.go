package proxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestHostileRequests: malformed and smuggling-shaped requests are refused
// (by net/http's parser or by callgate) and the proxy keeps serving.
func TestHostileRequests(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: real listeners")
	}
	e := newEnv(t, func(o *Options) { o.MaxHeaderBytes = 8 << 10; o.Timeouts.HeaderRead = 300 * time.Millisecond })
	plain := fmt.Sprintf("plain.partner.example:%d", e.plain.port)
	cases := []struct {
		name   string
		req    string
		status int
	}{
		{"duplicate content-length",
			"POST http://" + plain + "/base/x HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde", 400},
		{"bad chunk size",
			"POST http://" + plain + "/base/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", 400},
		{"huge headers",
			"GET http://" + plain + "/base/x HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 64<<10) + "\r\n\r\n", 431},
		{"space in target",
			"GET http://" + plain + "/a b HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"unknown transfer-encoding",
			"POST http://" + plain + "/base/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501},
		{"unsupported version",
			"GET http://" + plain + "/base/x HTTP/3.0\r\nHost: x\r\n\r\n", 505},
		{"missing host",
			"GET /callout/Plain/x HTTP/1.1\r\n\r\n", 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("tcp", e.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			_, _ = io.WriteString(c, tc.req)
			res, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatalf("no response: %v", err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != tc.status {
				t.Errorf("status %d, want %d", res.StatusCode, tc.status)
			}
			// Refused by net/http's parser or by callgate, it is the docs
			// §4 shape either way.
			if b := refusalOf(t, body); b.Error != "bad_request" || b.Message == "" {
				t.Errorf("body %q, want a bad_request refusal", body)
			}
			if ps := res.Header.Get("Proxy-Status"); !strings.HasPrefix(ps, "callgate; error=http_request_error") {
				t.Errorf("Proxy-Status %q", ps)
			}
		})
	}
	// The bad chunk is refused by callgate after routing, so it names Plain.
	n := counterValue(t, e.reg, "callgate_refusals_total", map[string]string{"named_credential": "", "reason": "bad_request"}) +
		counterValue(t, e.reg, "callgate_refusals_total", map[string]string{"named_credential": "Plain", "reason": "bad_request"})
	if n < float64(len(cases)) {
		t.Errorf("refusals_total{bad_request} = %v, want at least %d", n, len(cases))
	}
	// RFC 9112 §5.2: obs-fold is replaced by a space before forwarding.
	t.Run("obs-fold", func(t *testing.T) {
		res, body := e.roundTrip("GET http://" + plain + "/base/x HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  folded\r\nConnection: close\r\n\r\n")
		if res.StatusCode == http.StatusOK {
			if v := decodeSeen(t, string(body)).Header.Values("X-A"); len(v) != 1 || strings.ContainsAny(v[0], "\r\n") {
				t.Errorf("folded header forwarded as %q", v)
			}
		} else if res.StatusCode != http.StatusBadRequest {
			t.Errorf("status %d", res.StatusCode)
		}
	})
	t.Run("slow headers are cut", func(t *testing.T) {
		c, err := net.Dial("tcp", e.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_, _ = io.WriteString(c, "GET http://"+plain+"/base/x HTTP/1.1\r\nHost: x\r\n")
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		start := time.Now()
		_, err = io.ReadAll(c)
		if isTimeout(err) || time.Since(start) > 4*time.Second {
			t.Fatalf("connection held for %v: %v", time.Since(start), err)
		}
	})
	// Still serving.
	res, body := e.roundTrip("GET http://" + plain + "/base/ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	if res.StatusCode != 200 {
		t.Fatalf("after hostile input: %d %s", res.StatusCode, body)
	}
}
