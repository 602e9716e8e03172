package tunnel

import (
	"crypto/tls"
	"sync"
	"testing"

	"github.com/callgate/callgate/internal/certgen"
)

var (
	certOnce sync.Once
	certVal  tls.Certificate
	certErr  error
)

func selfSigned(tb testing.TB) tls.Certificate {
	tb.Helper()
	certOnce.Do(func() {
		ca, err := certgen.NewCA("tunnel test CA")
		if err != nil {
			certErr = err
			return
		}
		leaf, err := ca.Server("proxy.test", "127.0.0.1")
		if err != nil {
			certErr = err
			return
		}
		certVal = leaf.TLS
	})
	if certErr != nil {
		tb.Fatal(certErr)
	}
	return certVal
}
