package aws

import (
	"strings"
	"testing"
)

func TestPrincipalARN(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"assumed role", "arn:aws:sts::123456789012:assumed-role/callgate/i-0abc", "arn:aws:iam::123456789012:role/callgate"},
		{"assumed role, email session", "arn:aws:sts::123456789012:assumed-role/Admin/jane@example.com", "arn:aws:iam::123456789012:role/Admin"},
		{"assumed role, session with slash", "arn:aws:sts::123456789012:assumed-role/eks-node/botocore/session", "arn:aws:iam::123456789012:role/eks-node"},
		{"china partition", "arn:aws-cn:sts::123456789012:assumed-role/callgate/s", "arn:aws-cn:iam::123456789012:role/callgate"},
		{"govcloud partition", "arn:aws-us-gov:sts::123456789012:assumed-role/callgate/s", "arn:aws-us-gov:iam::123456789012:role/callgate"},
		{"iam user", "arn:aws:iam::123456789012:user/ops/jane", "arn:aws:iam::123456789012:user/ops/jane"},
		{"root", "arn:aws:iam::123456789012:root", "arn:aws:iam::123456789012:root"},
		{"role already", "arn:aws:iam::123456789012:role/callgate", "arn:aws:iam::123456789012:role/callgate"},
		{"federated user", "arn:aws:sts::123456789012:federated-user/jane", "arn:aws:sts::123456789012:federated-user/jane"},
		{"moto", "arn:aws:sts::123456789012:user/moto", "arn:aws:sts::123456789012:user/moto"},
		{"assumed role without session", "arn:aws:sts::123456789012:assumed-role/callgate", "arn:aws:sts::123456789012:assumed-role/callgate"},
		{"assumed role, empty role", "arn:aws:sts::123456789012:assumed-role//s", "arn:aws:sts::123456789012:assumed-role//s"},
		{"no account", "arn:aws:sts:::assumed-role/r/s", "arn:aws:sts:::assumed-role/r/s"},
		{"not an arn", "callgate", "callgate"},
		{"empty", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := PrincipalARN(tc.in); got != tc.want {
				t.Fatalf("PrincipalARN(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// FuzzPrincipalARN: never panics, and either returns its input or an IAM
// role ARN in the same partition and account.
func FuzzPrincipalARN(f *testing.F) {
	f.Fuzz(func(t *testing.T, in string) {
		out := PrincipalARN(in)
		if out == in {
			return
		}
		parts := strings.SplitN(in, ":", 6)
		want := "arn:" + parts[1] + ":iam::" + parts[4] + ":role/"
		if !strings.HasPrefix(out, want) || strings.Contains(strings.TrimPrefix(out, want), "/") {
			t.Fatalf("PrincipalARN(%q) = %q, want %s<role>", in, out, want)
		}
	})
}
