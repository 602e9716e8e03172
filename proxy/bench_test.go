package proxy

import (
	"fmt"
	"io"
	"net/http"
	"testing"

	"go.uber.org/zap"
)

// BenchmarkServeAbsolute measures one keep-alive absolute-form GET through
// the proxy to a loopback upstream, client and upstream included; the
// allocation count is the whole process's per request.
func BenchmarkServeAbsolute(b *testing.B) {
	e := newEnv(b, func(o *Options) { o.Logger = zap.NewNop() })
	c := e.proxyClient()
	u := fmt.Sprintf("http://plain.partner.example:%d/base/bench", e.plain.port)
	b.ReportAllocs()
	for b.Loop() {
		res, err := c.Get(u)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			b.Fatalf("status %d", res.StatusCode)
		}
	}
}

// BenchmarkServeCallout is the same through the callout form over TLS.
func BenchmarkServeCallout(b *testing.B) {
	e := newEnv(b, func(o *Options) { o.Logger = zap.NewNop() })
	c := e.directClient()
	u := fmt.Sprintf("http://%s/callout/Partner/bench", e.addr)
	b.ReportAllocs()
	for b.Loop() {
		res, err := c.Get(u)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			b.Fatalf("status %d", res.StatusCode)
		}
	}
}
