package credauth_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/callgate/callgate/credauth"
	"github.com/callgate/callgate/internal/testwait"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// writeSecret writes value to dir/name through a temporary file and a
// rename, the way most tools replace a file atomically.
func writeSecret(t *testing.T, dir, name, value string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, []byte(value+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, p); err != nil {
		t.Fatal(err)
	}
	return p
}

// upstream is a loopback endpoint that runs check on each request and
// answers 200 when it returns "" and 401 with the reason otherwise.
func upstream(t *testing.T, check func(r *http.Request) string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if why := check(r); why != "" {
			http.Error(w, why, http.StatusUnauthorized)
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	return srv
}

// call builds a request as a client would send it (with its own
// Authorization), injects, sends it with Go's client and returns the
// status and body.
func call(t *testing.T, srv *httptest.Server, inj *credauth.Injector, method, path string, body io.Reader) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer client-own-token")
	req.Header.Set("Proxy-Authorization", "Basic Y2xpZW50OnByb3h5")
	req.Header.Set("X-Client", "kept")
	if err := inj.Inject(req); err != nil {
		t.Fatalf("Inject: %v", err)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

func newInjector(t *testing.T, name string, spec credauth.Spec, opts credauth.Options) *credauth.Injector {
	t.Helper()
	inj, err := credauth.New(name, spec, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = inj.Close() })
	return inj
}

// fakeClock is a settable clock for Options.Now.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano())
	return c
}

func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// eventually waits up to 5s for f to hold.
func eventually(t *testing.T, what string, f func() bool) {
	t.Helper()
	testwait.Until(t, 5*time.Second, what, f)
}
