package credauth_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/callgate/callgate/credauth"
)

func TestNewErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "no-such-file")
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	multiline := filepath.Join(dir, "multiline")
	if err := os.WriteFile(multiline, []byte("line1\nline2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	aDir := filepath.Join(dir, "a-directory")
	if err := os.Mkdir(aDir, 0o700); err != nil {
		t.Fatal(err)
	}
	good := writeSecret(t, dir, "good", "v")
	t.Setenv("CREDAUTH_TEST_EMPTY", "")

	tests := []struct {
		name string
		spec credauth.Spec
		is   error
		want []string // substrings of the error
	}{
		{"missing file", credauth.Spec{Bearer: &credauth.BearerSpec{Token: credauth.Secret{File: missing}}},
			credauth.ErrSecretUnavailable, []string{`"Orders"`, missing, "bearer token"}},
		{"directory instead of file", credauth.Spec{Basic: &credauth.BasicSpec{Username: "u", Password: credauth.Secret{File: aDir}}},
			credauth.ErrSecretUnavailable, []string{`"Orders"`, aDir, "not a regular file"}},
		{"empty file", credauth.Spec{Bearer: &credauth.BearerSpec{Token: credauth.Secret{File: empty}}},
			credauth.ErrSecretUnavailable, []string{`"Orders"`, empty, "empty"}},
		{"line break inside", credauth.Spec{Headers: []credauth.HeaderSpec{{Name: "X-K", Secret: &credauth.Secret{File: multiline}}}},
			credauth.ErrSecretUnavailable, []string{`"Orders"`, multiline, "control characters"}},
		{"env unset", credauth.Spec{Bearer: &credauth.BearerSpec{Token: credauth.Secret{Env: "CREDAUTH_TEST_UNSET_VAR"}}},
			credauth.ErrSecretUnavailable, []string{`"Orders"`, "CREDAUTH_TEST_UNSET_VAR", "not set"}},
		{"env empty", credauth.Spec{Bearer: &credauth.BearerSpec{Token: credauth.Secret{Env: "CREDAUTH_TEST_EMPTY"}}},
			credauth.ErrSecretUnavailable, []string{"CREDAUTH_TEST_EMPTY", "empty"}},
		{"oauth2 secret missing", credauth.Spec{OAuth2: &credauth.OAuth2Spec{TokenURL: "https://127.0.0.1:1/token", ClientID: "c", ClientSecret: credauth.Secret{File: missing}}},
			credauth.ErrSecretUnavailable, []string{`"Orders"`, missing, "oauth2 client secret"}},
		{"file and env", credauth.Spec{Bearer: &credauth.BearerSpec{Token: credauth.Secret{File: good, Env: "X"}}},
			credauth.ErrInvalidSpec, []string{"both"}},
		{"no source", credauth.Spec{Bearer: &credauth.BearerSpec{}},
			credauth.ErrInvalidSpec, []string{"file or an environment variable"}},
		{"two kinds", credauth.Spec{Bearer: &credauth.BearerSpec{Token: credauth.Secret{File: good}}, Basic: &credauth.BasicSpec{Username: "u", Password: credauth.Secret{File: good}}},
			credauth.ErrInvalidSpec, []string{"more than one"}},
		{"username with colon", credauth.Spec{Basic: &credauth.BasicSpec{Username: "a:b", Password: credauth.Secret{File: good}}},
			credauth.ErrInvalidSpec, []string{"colon"}},
		{"pass with bearer", credauth.Spec{PassClientAuthorization: true, Bearer: &credauth.BearerSpec{Token: credauth.Secret{File: good}}},
			credauth.ErrInvalidSpec, []string{"pass_client_authorization"}},
		{"pass with Authorization header", credauth.Spec{PassClientAuthorization: true, Headers: []credauth.HeaderSpec{{Name: "authorization", Value: "x"}}},
			credauth.ErrInvalidSpec, []string{"pass_client_authorization"}},
		{"bad header name", credauth.Spec{Headers: []credauth.HeaderSpec{{Name: "X Bad", Value: "v"}}},
			credauth.ErrInvalidSpec, []string{"invalid header name"}},
		{"reserved header", credauth.Spec{Headers: []credauth.HeaderSpec{{Name: "host", Value: "v"}}},
			credauth.ErrInvalidSpec, []string{`"Host"`}},
		{"proxy header", credauth.Spec{Headers: []credauth.HeaderSpec{{Name: "Proxy-Authorization", Value: "v"}}},
			credauth.ErrInvalidSpec, []string{"Proxy-Authorization"}},
		{"duplicate header", credauth.Spec{Headers: []credauth.HeaderSpec{{Name: "X-A", Value: "v"}, {Name: "x-a", Value: "w"}}},
			credauth.ErrInvalidSpec, []string{"twice"}},
		{"oauth2 bad url", credauth.Spec{OAuth2: &credauth.OAuth2Spec{TokenURL: "token", ClientID: "c", ClientSecret: credauth.Secret{File: good}}},
			credauth.ErrInvalidSpec, []string{"token_url"}},
		{"oauth2 http url", credauth.Spec{OAuth2: &credauth.OAuth2Spec{TokenURL: "http://login.example/token", ClientID: "c", ClientSecret: credauth.Secret{File: good}}},
			credauth.ErrInvalidSpec, []string{"token_url", `"http://login.example/token"`, "https"}},
		{"oauth2 url with userinfo", credauth.Spec{OAuth2: &credauth.OAuth2Spec{TokenURL: "https://user:s3cr3tpw@login.example/token", ClientID: "c", ClientSecret: credauth.Secret{File: good}}},
			credauth.ErrInvalidSpec, []string{"token_url", `"https://xxxxx@login.example/token"`, "userinfo"}},
		{"sigv4 no region", credauth.Spec{SigV4: &credauth.SigV4Spec{Service: "execute-api"}},
			credauth.ErrInvalidSpec, []string{"region"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inj, err := credauth.New("Orders", tt.spec, credauth.Options{})
			if err == nil {
				_ = inj.Close()
				t.Fatal("New succeeded")
			}
			if !errors.Is(err, tt.is) {
				t.Errorf("error %v is not %v", err, tt.is)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestMissingFileIsNotExist(t *testing.T) {
	_, err := credauth.New("Orders", credauth.Spec{Bearer: &credauth.BearerSpec{Token: credauth.Secret{File: filepath.Join(t.TempDir(), "nope")}}}, credauth.Options{})
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("error %v does not wrap os.ErrNotExist", err)
	}
}

func TestUnreadableFile(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads files whatever their mode; the directory case covers unreadable")
	}
	p := writeSecret(t, t.TempDir(), "locked", "v")
	if err := os.Chmod(p, 0); err != nil {
		t.Fatal(err)
	}
	_, err := credauth.New("Orders", credauth.Spec{Bearer: &credauth.BearerSpec{Token: credauth.Secret{File: p}}}, credauth.Options{})
	if !errors.Is(err, credauth.ErrSecretUnavailable) || !errors.Is(err, os.ErrPermission) || !strings.Contains(err.Error(), p) {
		t.Fatalf("error %v: want ErrSecretUnavailable+ErrPermission naming %s", err, p)
	}
}
