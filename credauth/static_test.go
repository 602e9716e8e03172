package credauth_test

import (
	"net/http"
	"testing"

	"github.com/callgate/callgate/credauth"
)

func TestStaticKindsEndToEnd(t *testing.T) {
	dir := t.TempDir()
	pwFile := writeSecret(t, dir, "password", "s3cret-pw")
	tokFile := writeSecret(t, dir, "token", "tok-from-file")
	keyFile := writeSecret(t, dir, "apikey", "key-from-file")
	t.Setenv("CREDAUTH_TEST_PW", "env-pw")
	t.Setenv("CREDAUTH_TEST_TOKEN", "tok-from-env")

	tests := []struct {
		name  string
		spec  credauth.Spec
		kind  string
		check func(r *http.Request) string
	}{
		{
			name: "basic from file", kind: credauth.KindBasic,
			spec: credauth.Spec{Basic: &credauth.BasicSpec{Username: "alice", Password: credauth.Secret{File: pwFile}}},
			check: func(r *http.Request) string {
				if u, p, ok := r.BasicAuth(); !ok || u != "alice" || p != "s3cret-pw" {
					return "bad basic auth"
				}
				return ""
			},
		},
		{
			name: "basic from env", kind: credauth.KindBasic,
			spec: credauth.Spec{Basic: &credauth.BasicSpec{Username: "bob", Password: credauth.Secret{Env: "CREDAUTH_TEST_PW"}}},
			check: func(r *http.Request) string {
				if u, p, ok := r.BasicAuth(); !ok || u != "bob" || p != "env-pw" {
					return "bad basic auth"
				}
				return ""
			},
		},
		{
			name: "bearer from file", kind: credauth.KindBearer,
			spec: credauth.Spec{Bearer: &credauth.BearerSpec{Token: credauth.Secret{File: tokFile}}},
			check: func(r *http.Request) string {
				if r.Header.Get("Authorization") != "Bearer tok-from-file" {
					return "bad bearer"
				}
				return ""
			},
		},
		{
			name: "bearer from env", kind: credauth.KindBearer,
			spec: credauth.Spec{Bearer: &credauth.BearerSpec{Token: credauth.Secret{Env: "CREDAUTH_TEST_TOKEN"}}},
			check: func(r *http.Request) string {
				if r.Header.Get("Authorization") != "Bearer tok-from-env" {
					return "bad bearer"
				}
				return ""
			},
		},
		{
			name: "headers literal file env", kind: credauth.KindHeaders,
			spec: credauth.Spec{Headers: []credauth.HeaderSpec{
				{Name: "x-api-key", Secret: &credauth.Secret{File: keyFile}},
				{Name: "X-Tenant", Value: "acme"},
				{Name: "X-Client", Value: "overridden"},
				{Name: "X-Env-Token", Secret: &credauth.Secret{Env: "CREDAUTH_TEST_TOKEN"}},
			}},
			check: func(r *http.Request) string {
				switch {
				case r.Header.Get("X-Api-Key") != "key-from-file":
					return "bad api key"
				case r.Header.Get("X-Tenant") != "acme":
					return "bad tenant"
				case len(r.Header.Values("X-Client")) != 1 || r.Header.Get("X-Client") != "overridden":
					return "client header not replaced"
				case r.Header.Get("X-Env-Token") != "tok-from-env":
					return "bad env header"
				case r.Header.Get("Authorization") != "":
					return "client Authorization was not removed"
				}
				return ""
			},
		},
		{
			name: "none removes client authorization", kind: credauth.KindNone,
			spec: credauth.Spec{},
			check: func(r *http.Request) string {
				if r.Header.Get("Authorization") != "" {
					return "client Authorization was not removed"
				}
				if r.Header.Get("X-Client") != "kept" {
					return "unrelated client header lost"
				}
				return ""
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := upstream(t, func(r *http.Request) string {
				if r.Header.Get("Proxy-Authorization") != "" {
					return "Proxy-Authorization reached the endpoint"
				}
				return tt.check(r)
			})
			inj := newInjector(t, "Partner", tt.spec, credauth.Options{})
			if inj.Kind() != tt.kind {
				t.Errorf("Kind() = %q, want %q", inj.Kind(), tt.kind)
			}
			if !inj.SecretLoaded() {
				t.Error("SecretLoaded() = false")
			}
			for i := 0; i < 3; i++ {
				if code, body := call(t, srv, inj, http.MethodGet, "/v1/x", nil); code != http.StatusOK {
					t.Fatalf("upstream answered %d: %s", code, body)
				}
			}
		})
	}
}

func TestPassClientAuthorization(t *testing.T) {
	tests := []struct {
		name string
		spec credauth.Spec
	}{
		{"none", credauth.Spec{PassClientAuthorization: true}},
		{"headers", credauth.Spec{PassClientAuthorization: true, Headers: []credauth.HeaderSpec{{Name: "X-Tenant", Value: "acme"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := upstream(t, func(r *http.Request) string {
				if r.Header.Get("Authorization") != "Bearer client-own-token" {
					return "client Authorization not passed through"
				}
				if len(tt.spec.Headers) > 0 && r.Header.Get("X-Tenant") != "acme" {
					return "header not injected"
				}
				return ""
			})
			inj := newInjector(t, "P", tt.spec, credauth.Options{})
			if code, body := call(t, srv, inj, http.MethodGet, "/", nil); code != http.StatusOK {
				t.Fatalf("upstream answered %d: %s", code, body)
			}
		})
	}
}

func TestNilInjector(t *testing.T) {
	var inj *credauth.Injector
	req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1/", nil)
	req.Header.Set("Authorization", "x")
	if err := inj.Inject(req); err != nil || req.Header.Get("Authorization") != "x" {
		t.Fatalf("nil Inject: err=%v header=%q", err, req.Header.Get("Authorization"))
	}
	if inj.Kind() != credauth.KindNone || !inj.SecretLoaded() || inj.Close() != nil {
		t.Fatal("nil injector accessors")
	}
}

func TestInjectAfterClose(t *testing.T) {
	inj, err := credauth.New("P", credauth.Spec{Headers: []credauth.HeaderSpec{{Name: "X-A", Value: "b"}}}, credauth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_ = inj.Close()
	_ = inj.Close()
	req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1/", nil)
	if err := inj.Inject(req); err == nil {
		t.Fatal("Inject after Close succeeded")
	}
}
