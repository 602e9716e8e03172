package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/callgate/callgate/internal/motoserver"
)

// TestWhoamiWithoutAWSCredentials runs `callgate whoami` in aws mode where
// the AWS SDK's credential chain finds nothing (no AWS_* variables, no
// ~/.aws files, no instance metadata): one line on stderr saying that
// credentials are missing, for which region, and what to set, instead of
// the SDK's error about the metadata service.
func TestWhoamiWithoutAWSCredentials(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "aws.yaml")
	writeFile(t, cfg, `aws:
  mode: aws
  region: eu-west-1
  vpc_id: vpc-0123456789abcdef0
  subnet_ids: [subnet-0123456789abcdef0]
  security_group_ids: [sg-0123456789abcdef0]
`)
	env := e2eCleanEnv("HOME="+dir,
		"AWS_CONFIG_FILE="+filepath.Join(dir, "no-config"),
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "no-credentials"),
		// Off EC2 the metadata service answers slowly or not at all; the
		// chain ends there either way.
		"AWS_EC2_METADATA_DISABLED=true")
	out, errOut, code := cliRun(t, env, "whoami", "--config", cfg)
	if code != 1 || out != "" {
		t.Fatalf("exit %d, stdout %q; want 1 and nothing", code, out)
	}
	if n := strings.Count(errOut, "\n"); n != 1 || !strings.HasSuffix(errOut, "\n") {
		t.Errorf("stderr is %d lines, want one:\n%s", n, errOut)
	}
	for _, want := range []string{"callgate whoami: no AWS credentials", "eu-west-1", "aws.region",
		"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE", "instance role"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q: %s", want, errOut)
		}
	}
	for _, raw := range []string{"operation error", "IMDS", "get identity"} {
		if strings.Contains(errOut, raw) {
			t.Errorf("stderr has the SDK's %q: %s", raw, errOut)
		}
	}
}

// TestWhoamiWithAWSCredentials: with credentials in the environment the
// check lets whoami through to STS (moto), which names the principal.
func TestWhoamiWithAWSCredentials(t *testing.T) {
	if testing.Short() {
		t.Skip("starts moto")
	}
	moto := motoserver.Start(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "aws.yaml")
	writeFile(t, cfg, `aws:
  mode: aws
  region: eu-west-1
  endpoint_url: `+moto.URL()+`
  vpc_id: vpc-0123456789abcdef0
  subnet_ids: [subnet-0123456789abcdef0]
  security_group_ids: [sg-0123456789abcdef0]
`)
	env := e2eCleanEnv("HOME="+dir, "AWS_ACCESS_KEY_ID=testing", "AWS_SECRET_ACCESS_KEY=testing",
		"AWS_EC2_METADATA_DISABLED=true")
	out, errOut, code := cliRun(t, env, "whoami", "--config", cfg)
	if code != 0 || !strings.HasPrefix(out, "arn:aws:") {
		t.Fatalf("exit %d, stdout %q, stderr %q; want 0 and an ARN", code, out, errOut)
	}
}
