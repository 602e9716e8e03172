package aws

import (
	"errors"
	"path/filepath"
	"testing"
)

// clearAWSEnv isolates the SDK's default chain from the machine's config.
func clearAWSEnv(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	for _, k := range []string{"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"} {
		t.Setenv(k, "")
	}
}

func TestNewRegion(t *testing.T) {
	clearAWSEnv(t)
	if _, err := New(t.Context(), Options{}); !errors.Is(err, ErrIncompleteOptions) {
		t.Fatalf("New without any region = %v, want ErrIncompleteOptions", err)
	}
	// The SDK default chain supplies the region when Options does not.
	t.Setenv("AWS_REGION", "eu-central-1")
	b, err := New(t.Context(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if b.Region() != "eu-central-1" {
		t.Errorf("Region = %q, want eu-central-1 from AWS_REGION", b.Region())
	}
	// Options wins over the chain.
	b, err = New(t.Context(), Options{Region: "ap-south-1"})
	if err != nil {
		t.Fatal(err)
	}
	if b.Region() != "ap-south-1" || b.region("") != "ap-south-1" || b.region("us-west-2") != "us-west-2" {
		t.Errorf("Region = %q / %q", b.Region(), b.region(""))
	}
	// One client per region, made once.
	first, again := b.ec2Client("us-west-2"), b.ec2Client("us-west-2")
	if first != again || first == b.ec2Client("ap-south-1") {
		t.Error("EC2 clients are not cached per region")
	}
	if got := b.ec2Client("us-west-2").Options().Region; got != "us-west-2" {
		t.Errorf("client region = %q", got)
	}
}
