package faultfront

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// upstream echoes the Action it received, so a test can tell forwarded
// requests from injected ones.
func upstream(t *testing.T) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		_, _ = io.WriteString(w, "upstream:"+r.PostForm.Get("Action")+":"+r.Host)
	}))
	t.Cleanup(s.Close)
	return s
}

func call(t *testing.T, base, action, service string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+"/", strings.NewReader(url.Values{"Action": {action}, "Version": {"2016-11-15"}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	if service != "" {
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/"+service+"/aws4_request, SignedHeaders=host, Signature=00")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", action, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestFront(t *testing.T) {
	up := upstream(t)
	f, err := New(up.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	frontHost := strings.TrimPrefix(f.URL(), "http://")

	f.FailNext(2, "DescribeVpcEndpoints", Throttle)
	f.FailNext(1, "", ServerError)
	f.RespondNext(1, "DeleteVpcEndpoints", 200, "<canned/>")
	f.FailNext(1, "GetCallerIdentity", Throttle)
	f.FailNext(1, "CreateTags", SlowDown)

	steps := []struct {
		action, service string
		status          int
		bodyHas         string
	}{
		// A rule for another action is skipped; the any-action rule answers.
		{"CreateVpcEndpoint", "ec2", 500, "internal server error"},
		{"DescribeVpcEndpoints", "ec2", 503, "<Code>RequestLimitExceeded</Code>"},
		{"DescribeVpcEndpoints", "ec2", 503, "<Code>RequestLimitExceeded</Code>"},
		{"DescribeVpcEndpoints", "ec2", 200, "upstream:DescribeVpcEndpoints:" + frontHost},
		{"DeleteVpcEndpoints", "ec2", 200, "<canned/>"},
		{"DeleteVpcEndpoints", "ec2", 200, "upstream:DeleteVpcEndpoints"},
		{"GetCallerIdentity", "sts", 400, "<ErrorResponse"},
		{"CreateTags", "ec2", 503, "<Code>SlowDown</Code>"},
		{"CreateVpcEndpoint", "", 200, "upstream:CreateVpcEndpoint"},
	}
	for i, s := range steps {
		status, body := call(t, f.URL(), s.action, s.service)
		if status != s.status || !strings.Contains(body, s.bodyHas) {
			t.Fatalf("step %d %s: got %d %q, want %d containing %q", i, s.action, status, body, s.status, s.bodyHas)
		}
	}
	if got := f.Requests(""); got != len(steps) {
		t.Errorf("Requests(all) = %d, want %d", got, len(steps))
	}
	if got := f.Requests("DescribeVpcEndpoints"); got != 3 {
		t.Errorf("Requests(DescribeVpcEndpoints) = %d, want 3", got)
	}
	if got := f.Injected(); got != 6 {
		t.Errorf("Injected = %d, want 6", got)
	}
	if got := f.LastForm("DescribeVpcEndpoints").Get("Version"); got != "2016-11-15" {
		t.Errorf("LastForm(DescribeVpcEndpoints)[Version] = %q", got)
	}
	if f.LastForm("Nope") != nil {
		t.Error("LastForm of an action never seen: want nil")
	}
	if got := f.Pending(); got != 0 {
		t.Errorf("Pending = %d, want 0", got)
	}
}

func TestSignedFor(t *testing.T) {
	for _, tc := range []struct{ auth, want string }{
		{"AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=x", "sts"},
		{"AWS4-HMAC-SHA256 Credential=AKID/20260101/eu-west-1/ec2/aws4_request,SignedHeaders=host", "ec2"},
		{"Bearer x", ""},
		{"", ""},
		{"AWS4-HMAC-SHA256 Credential=broken", ""},
	} {
		t.Run(tc.want+tc.auth, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/", nil)
			r.Header.Set("Authorization", tc.auth)
			if got := signedFor(r); got != tc.want {
				t.Fatalf("signedFor(%q) = %q, want %q", tc.auth, got, tc.want)
			}
		})
	}
}

func TestBadTarget(t *testing.T) {
	if _, err := New("not a url"); err == nil {
		t.Fatal("New with a bad target: want an error")
	}
}
