package credauth_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/callgate/callgate/credauth"
)

var testCreds = aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", SessionToken: "session-token-example"}

func staticAWS(c aws.Credentials) func(context.Context) (aws.Config, error) {
	return func(context.Context) (aws.Config, error) {
		return aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, c.SessionToken)}, nil
	}
}

// verifySigV4 recomputes the request's signature the way an AWS service
// does: from the signed headers it names, the received body's hash and the
// signing time, with the same signer and the known credentials.
func verifySigV4(r *http.Request, creds aws.Credentials, service, region string) string {
	auth := r.Header.Get("Authorization")
	const prefix = "AWS4-HMAC-SHA256 "
	if !strings.HasPrefix(auth, prefix) {
		return "no SigV4 Authorization"
	}
	var signed string
	for _, part := range strings.Split(strings.TrimPrefix(auth, prefix), ", ") {
		if v, ok := strings.CutPrefix(part, "SignedHeaders="); ok {
			signed = v
		}
	}
	when, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		return "bad X-Amz-Date"
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return "reading body"
	}
	hash := r.Header.Get("X-Amz-Content-Sha256")
	if sum := sha256.Sum256(body); hash != "UNSIGNED-PAYLOAD" && hash != hex.EncodeToString(sum[:]) {
		return "payload hash does not match the body"
	}
	if r.Header.Get("X-Amz-Security-Token") != creds.SessionToken {
		return "wrong session token"
	}
	re, _ := http.NewRequest(r.Method, "http://"+r.Host+r.RequestURI, nil)
	re.Host = r.Host
	re.ContentLength = r.ContentLength
	for _, h := range strings.Split(signed, ";") {
		if h == "host" || h == "content-length" {
			continue
		}
		re.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
	}
	re.Header.Del("Authorization")
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, re, hash, service, region, when); err != nil {
		return "re-signing: " + err.Error()
	}
	if got := re.Header.Get("Authorization"); got != auth {
		return fmt.Sprintf("signature mismatch:\n got  %s\n want %s", auth, got)
	}
	return ""
}

func sigv4Upstream(t *testing.T, creds aws.Credentials) *httptest.Server {
	return upstream(t, func(r *http.Request) string {
		return verifySigV4(r, creds, "execute-api", "eu-west-1")
	})
}

func TestSigV4EndToEnd(t *testing.T) {
	srv := sigv4Upstream(t, testCreds)
	clock := newFakeClock()
	inj := newInjector(t, "AwsApi", credauth.Spec{SigV4: &credauth.SigV4Spec{Service: "execute-api", Region: "eu-west-1"}},
		credauth.Options{AWSConfig: staticAWS(testCreds), Now: clock.Now, MaxSignedBody: 1 << 20})
	if inj.Kind() != credauth.KindAWSSigV4 {
		t.Fatalf("Kind %q", inj.Kind())
	}
	if inj.SecretLoaded() {
		t.Error("SecretLoaded before any credentials were retrieved")
	}
	big := strings.Repeat("0123456789abcdef", 4096) // 64 KiB
	tests := []struct {
		name, method, path string
		body               func() io.Reader
	}{
		{"get without body", http.MethodGet, "/prod/orders?b=2&a=1&sp=a%20b", func() io.Reader { return nil }},
		{"post with known length", http.MethodPost, "/prod/orders", func() io.Reader { return strings.NewReader(`{"id":1}`) }},
		{"post streamed (unknown length)", http.MethodPut, "/prod/blob", func() io.Reader { return io.MultiReader(strings.NewReader(big)) }},
		{"path needing escaping", http.MethodGet, "/prod/a%20b/c+d", func() io.Reader { return nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if code, body := call(t, srv, inj, tt.method, tt.path, tt.body()); code != http.StatusOK {
				t.Fatalf("upstream answered %d: %s", code, body)
			}
		})
	}
	if !inj.SecretLoaded() {
		t.Error("SecretLoaded false after signing")
	}
}

// The verifier is not vacuous: a request signed with other credentials fails.
func TestSigV4VerifierRejectsWrongKey(t *testing.T) {
	srv := sigv4Upstream(t, testCreds)
	other := testCreds
	other.SecretAccessKey = "not-the-key"
	inj := newInjector(t, "AwsApi", credauth.Spec{SigV4: &credauth.SigV4Spec{Service: "execute-api", Region: "eu-west-1"}},
		credauth.Options{AWSConfig: staticAWS(other)})
	if code, _ := call(t, srv, inj, http.MethodPost, "/x", strings.NewReader("body")); code != http.StatusUnauthorized {
		t.Fatalf("wrong key accepted: %d", code)
	}
}

func TestSigV4BodyTooLarge(t *testing.T) {
	inj := newInjector(t, "AwsApi", credauth.Spec{SigV4: &credauth.SigV4Spec{Service: "execute-api", Region: "eu-west-1"}},
		credauth.Options{AWSConfig: staticAWS(testCreds), MaxSignedBody: 1024})
	body := strings.Repeat("x", 1025)
	for _, tt := range []struct {
		name string
		r    io.Reader
	}{
		{"known length", strings.NewReader(body)},
		{"unknown length", io.MultiReader(strings.NewReader(body))},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1/", tt.r)
			if err := inj.Inject(req); !errors.Is(err, credauth.ErrBodyTooLarge) {
				t.Fatalf("Inject: %v, want ErrBodyTooLarge", err)
			}
		})
	}
	req, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1/", strings.NewReader(body[:1024]))
	if err := inj.Inject(req); err != nil {
		t.Fatalf("body at the limit: %v", err)
	}
}

func TestSigV4UnsignedPayloadStreams(t *testing.T) {
	srv := sigv4Upstream(t, testCreds)
	inj := newInjector(t, "S3", credauth.Spec{SigV4: &credauth.SigV4Spec{Service: "execute-api", Region: "eu-west-1", UnsignedPayload: true}},
		credauth.Options{AWSConfig: staticAWS(testCreds), MaxSignedBody: 16})
	body := io.MultiReader(strings.NewReader(strings.Repeat("y", 4096)))
	req, _ := http.NewRequest(http.MethodPut, srv.URL+"/bucket/key", body)
	if err := inj.Inject(req); err != nil {
		t.Fatal(err)
	}
	if req.Header.Get("X-Amz-Content-Sha256") != "UNSIGNED-PAYLOAD" || req.ContentLength != 0 {
		t.Fatalf("hash header %q, ContentLength %d: the body was buffered", req.Header.Get("X-Amz-Content-Sha256"), req.ContentLength)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("upstream answered %d", resp.StatusCode)
	}
}

// With RoleARN the signing credentials come from STS AssumeRole (a loopback
// STS here), not from the base credentials.
func TestSigV4AssumeRole(t *testing.T) {
	assumed := aws.Credentials{AccessKeyID: "ASIAASSUMED", SecretAccessKey: "assumed-secret-key", SessionToken: "assumed-session"}
	var stsCalls, roleOK int
	sts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		stsCalls++
		if r.PostForm.Get("Action") == "AssumeRole" && r.PostForm.Get("RoleArn") == "arn:aws:iam::123456789012:role/partner" &&
			strings.HasPrefix(r.PostForm.Get("RoleSessionName"), "callgate-AwsApi") &&
			strings.Contains(r.Header.Get("Authorization"), "Credential="+testCreds.AccessKeyID+"/") {
			roleOK++
		}
		w.Header().Set("Content-Type", "text/xml")
		fmt.Fprintf(w, `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>
<Credentials><AccessKeyId>%s</AccessKeyId><SecretAccessKey>%s</SecretAccessKey><SessionToken>%s</SessionToken><Expiration>%s</Expiration></Credentials>
<AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/partner/s</Arn><AssumedRoleId>AROA:s</AssumedRoleId></AssumedRoleUser>
</AssumeRoleResult><ResponseMetadata><RequestId>r1</RequestId></ResponseMetadata></AssumeRoleResponse>`,
			assumed.AccessKeyID, assumed.SecretAccessKey, assumed.SessionToken, time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
	}))
	defer sts.Close()
	base := staticAWS(testCreds)
	cfg := func(ctx context.Context) (aws.Config, error) {
		c, err := base(ctx)
		c.BaseEndpoint = aws.String(sts.URL)
		c.HTTPClient = sts.Client()
		return c, err
	}
	srv := sigv4Upstream(t, assumed)
	inj := newInjector(t, "AwsApi", credauth.Spec{SigV4: &credauth.SigV4Spec{Service: "execute-api", Region: "eu-west-1", RoleARN: "arn:aws:iam::123456789012:role/partner"}},
		credauth.Options{AWSConfig: cfg})
	for i := 0; i < 3; i++ {
		if code, body := call(t, srv, inj, http.MethodPost, "/prod/orders", strings.NewReader("{}")); code != http.StatusOK {
			t.Fatalf("upstream answered %d: %s", code, body)
		}
	}
	if stsCalls != 1 || roleOK != 1 {
		t.Fatalf("STS calls %d (well-formed %d), want one AssumeRole signed with the base credentials", stsCalls, roleOK)
	}
}
