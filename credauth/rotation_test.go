package credauth_test

import (
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/callgate/callgate/credauth"
)

// tokenSeen returns an upstream that records the bearer token of the last
// request, and a function that injects and sends one request.
func tokenProbe(t *testing.T, inj *credauth.Injector) func() string {
	var last atomic.Value
	srv := upstream(t, func(r *http.Request) string {
		last.Store(r.Header.Get("Authorization"))
		return ""
	})
	return func() string {
		if code, body := call(t, srv, inj, http.MethodGet, "/", nil); code != http.StatusOK {
			t.Fatalf("upstream answered %d: %s", code, body)
		}
		return last.Load().(string)
	}
}

// k8sSecretDir lays a secret out as the kubelet does: dir/token ->
// ..data/token, ..data -> ..<timestamp>/.
type k8sSecretDir struct {
	t   *testing.T
	dir string
	gen int
}

func (k *k8sSecretDir) publish(value string) {
	k.t.Helper()
	k.gen++
	ts := filepath.Join(k.dir, "..ts"+string(rune('a'+k.gen)))
	must(k.t, os.Mkdir(ts, 0o755))
	must(k.t, os.WriteFile(filepath.Join(ts, "token"), []byte(value), 0o600))
	tmp := filepath.Join(k.dir, "..data_tmp")
	must(k.t, os.Symlink(filepath.Base(ts), tmp))
	must(k.t, os.Rename(tmp, filepath.Join(k.dir, "..data"))) // the atomic swap
	link := filepath.Join(k.dir, "token")
	if _, err := os.Lstat(link); os.IsNotExist(err) {
		must(k.t, os.Symlink(filepath.Join("..data", "token"), link))
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestRotation(t *testing.T) {
	tests := []struct {
		name    string
		noWatch bool // stat fallback only
		k8s     bool // symlink swap instead of rename
		inPlace bool // truncate and rewrite the same inode
	}{
		{name: "rename"},
		{name: "kubernetes symlink swap", k8s: true},
		{name: "rewrite in place", inPlace: true},
		{name: "rename, stat fallback only", noWatch: true},
		{name: "kubernetes symlink swap, stat fallback only", noWatch: true, k8s: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.noWatch && testing.Short() {
				t.Skip("the stat fallback takes a second per rotation")
			}
			dir := t.TempDir()
			k := &k8sSecretDir{t: t, dir: dir}
			var path string
			publish := func(v string) {
				switch {
				case tt.k8s:
					k.publish(v)
				case tt.inPlace:
					must(t, os.WriteFile(path, []byte(v), 0o600))
				default:
					writeSecret(t, dir, "token", v)
				}
			}
			path = filepath.Join(dir, "token")
			publish("first")
			opts := credauth.Options{}
			if tt.noWatch {
				opts = credauth.WithoutWatch(opts)
			}
			inj := newInjector(t, "Rotating", credauth.Spec{Bearer: &credauth.BearerSpec{Token: credauth.Secret{File: path}}}, opts)
			probe := tokenProbe(t, inj)
			if got := probe(); got != "Bearer first" {
				t.Fatalf("before rotation: %q", got)
			}
			publish("second")
			eventually(t, "the rotated token", func() bool { return probe() == "Bearer second" })
			publish("third")
			eventually(t, "the second rotation", func() bool { return probe() == "Bearer third" })
			if !inj.SecretLoaded() {
				t.Error("SecretLoaded() = false after rotation")
			}
		})
	}
}

// A file that disappears or turns empty mid-rotation keeps the last good
// value instead of breaking callouts.
// TestRotationKeepsLastGoodValueOnBlanks: a secret file rewritten to white
// space alone is a failed rotation too: the last good value stays.
func TestRotationKeepsLastGoodValueOnBlanks(t *testing.T) {
	dir := t.TempDir()
	path := writeSecret(t, dir, "token", "good")
	inj := newInjector(t, "Rotating", credauth.Spec{Bearer: &credauth.BearerSpec{Token: credauth.Secret{File: path}}}, credauth.Options{})
	probe := tokenProbe(t, inj)
	writeSecret(t, dir, "token", "  \t \n")
	for i := 0; i < 5; i++ {
		if got := probe(); got != "Bearer good" {
			t.Fatalf("after a blank rotation: %q", got)
		}
	}
	writeSecret(t, dir, "token", "back")
	eventually(t, "the restored token", func() bool { return probe() == "Bearer back" })
}

func TestRotationKeepsLastGoodValue(t *testing.T) {
	dir := t.TempDir()
	path := writeSecret(t, dir, "token", "good")
	inj := newInjector(t, "Rotating", credauth.Spec{Bearer: &credauth.BearerSpec{Token: credauth.Secret{File: path}}}, credauth.Options{})
	probe := tokenProbe(t, inj)
	must(t, os.WriteFile(path, nil, 0o600)) // truncated
	must(t, os.Remove(path))
	for i := 0; i < 5; i++ {
		if got := probe(); got != "Bearer good" {
			t.Fatalf("after removal: %q", got)
		}
	}
	writeSecret(t, dir, "token", "back")
	eventually(t, "the restored token", func() bool { return probe() == "Bearer back" })
}
