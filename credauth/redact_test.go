package credauth_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/callgate/callgate/credauth"
)

// TestSecretsNeverPrinted runs every auth kind with secrets set to unique
// markers, through success, rotation and failure, and asserts that no
// marker appears in the logs, in fmt output of injectors, specs and errors,
// or in JSON of the specs.
func TestSecretsNeverPrinted(t *testing.T) {
	markers := map[string]string{
		"basic":           "MARKER-basic-pw-7f3a",
		"bearer":          "MARKER-bearer-env-91c2",
		"headerFile":      "MARKER-header-file-44d1",
		"headerLiteral":   "MARKER-header-literal-0b9e",
		"oauthSecret":     "MARKER-oauth-secret-c5e8",
		"awsSecret":       "MARKER-aws-secret-2a6f",
		"awsSession":      "MARKER-aws-session-d83b",
		"rotated":         "MARKER-rotated-6e1d",
		"rejectedRotated": "MARKER-bad-rotation-1f0c",
	}
	core, logs := observer.New(zapcore.DebugLevel)
	log := zap.New(core)
	dir := t.TempDir()
	basicFile := writeSecret(t, dir, "basic", markers["basic"])
	headerFile := writeSecret(t, dir, "header", markers["headerFile"])
	oauthFile := writeSecret(t, dir, "oauth", markers["oauthSecret"])
	t.Setenv("CREDAUTH_REDACT_BEARER", markers["bearer"])

	te := newTokenEndpoint(t) // its access tokens embed the client secret: "at-N-<secret>"
	awsCreds := aws.Credentials{AccessKeyID: "AKIDREDACT", SecretAccessKey: markers["awsSecret"], SessionToken: markers["awsSession"]}
	specs := map[string]credauth.Spec{
		"basic":   {Basic: &credauth.BasicSpec{Username: "u", Password: credauth.Secret{File: basicFile}}},
		"bearer":  {Bearer: &credauth.BearerSpec{Token: credauth.Secret{Env: "CREDAUTH_REDACT_BEARER"}}},
		"headers": {Headers: []credauth.HeaderSpec{{Name: "X-Key", Secret: &credauth.Secret{File: headerFile}}, {Name: "X-Lit", Value: markers["headerLiteral"]}}},
		"oauth2":  oauthSpec(te.srv.URL, oauthFile),
		"sigv4":   {SigV4: &credauth.SigV4Spec{Service: "execute-api", Region: "eu-west-1"}},
	}
	opts := credauth.Options{Logger: log, HTTPClient: te.srv.Client(), AWSConfig: staticAWS(awsCreds), MaxSignedBody: 8}

	var printed []string
	printAll := func(vs ...any) {
		for _, v := range vs {
			for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
				printed = append(printed, fmt.Sprintf(verb, v))
			}
			if b, err := json.Marshal(v); err == nil {
				printed = append(printed, string(b))
			}
		}
	}
	srv := upstream(t, func(*http.Request) string { return "" })
	var injectors []*credauth.Injector
	for name, spec := range specs {
		inj := newInjector(t, "Redact-"+name, spec, opts)
		injectors = append(injectors, inj)
		if code, _ := call(t, srv, inj, http.MethodGet, "/", nil); code != http.StatusOK {
			t.Fatalf("%s: upstream answered %d", name, code)
		}
		printAll(inj, spec, &spec, spec.Headers)
	}

	// Rotation, and a rotation to a value that is rejected (control bytes).
	writeSecret(t, dir, "basic", markers["rotated"])
	eventually(t, "rotation logged", func() bool { return logs.FilterMessage("secret file reloaded").Len() > 0 })
	writeSecret(t, dir, "header", markers["rejectedRotated"]+"\x00")
	eventually(t, "failed re-read logged", func() bool { return logs.FilterMessageSnippet("re-read failed").Len() > 0 })

	// Failures: a token endpoint that rejects and echoes the secret, a
	// body too large to sign, a secret file with bad bytes at New.
	te.fail.Store(true)
	failing := newInjector(t, "Redact-fail", oauthSpec(te.srv.URL, oauthFile), opts)
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	errA := failing.Inject(req)
	if !errors.Is(errA, credauth.ErrTokenFetch) {
		t.Fatalf("failing token endpoint: %v", errA)
	}
	sig := injectors[0]
	for _, inj := range injectors {
		if inj.Kind() == credauth.KindAWSSigV4 {
			sig = inj
		}
	}
	req, _ = http.NewRequest(http.MethodPost, srv.URL, strings.NewReader("0123456789"))
	errB := sig.Inject(req)
	if !errors.Is(errB, credauth.ErrBodyTooLarge) {
		t.Fatalf("large body: %v", errB)
	}
	bad := filepath.Join(dir, "bad")
	writeSecret(t, dir, "bad", markers["basic"]+"\r\nmore")
	_, errC := credauth.New("Redact-bad", credauth.Spec{Bearer: &credauth.BearerSpec{Token: credauth.Secret{File: bad}}}, opts)
	if errC == nil {
		t.Fatal("control bytes accepted")
	}
	printAll(errA, errB, errC, credauth.NewRedacted(markers["basic"]), []credauth.Redacted{credauth.NewRedacted(markers["basic"])})
	printed = append(printed, errA.Error(), errB.Error(), errC.Error())

	for _, e := range logs.All() {
		enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
		buf, err := enc.EncodeEntry(e.Entry, e.Context)
		if err != nil {
			t.Fatal(err)
		}
		printed = append(printed, buf.String())
	}
	if logs.Len() == 0 {
		t.Fatal("no logs captured; the test would prove nothing")
	}
	all := strings.Join(printed, "\n")
	for what, m := range markers {
		if strings.Contains(all, m) {
			t.Errorf("secret %s (%s) appears in output", what, m)
		}
	}
	if !strings.Contains(all, "[REDACTED]") {
		t.Error("no redaction marker printed at all")
	}
}
