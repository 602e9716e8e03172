package aws

import (
	"context"
	"fmt"
	"strings"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// Whoami asks STS who the credentials belong to and returns the principal
// an endpoint service owner must allow-list (see PrincipalARN).
func (b *Backend) Whoami(ctx context.Context) (string, error) {
	res, err := b.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", fmt.Errorf("whoami: %w", opError("GetCallerIdentity", b.opts.Region, err))
	}
	arn := sdkaws.ToString(res.Arn)
	if arn == "" {
		return "", fmt.Errorf("whoami: GetCallerIdentity answered without an ARN")
	}
	return PrincipalARN(arn), nil
}

// PrincipalARN turns a caller ARN from GetCallerIdentity into the principal
// an endpoint service's allow-list needs. An assumed-role session
// (arn:PARTITION:sts::ACCOUNT:assumed-role/ROLE/SESSION) becomes the role,
// arn:PARTITION:iam::ACCOUNT:role/ROLE: a session ARN changes with every
// session. The session ARN does not carry the role's path, so a role made
// with a path (/team/ROLE) comes out without it; AWS accepts the pathless
// form only where it resolves, so an operator with pathed roles should
// check it with `aws iam get-role`. Any other ARN (IAM user, root, role)
// is returned unchanged.
func PrincipalARN(callerARN string) string {
	parts := strings.SplitN(callerARN, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "sts" || parts[4] == "" {
		return callerARN
	}
	rest, ok := strings.CutPrefix(parts[5], "assumed-role/")
	if !ok {
		return callerARN
	}
	role, session, ok := strings.Cut(rest, "/")
	if !ok || role == "" || session == "" {
		return callerARN
	}
	return "arn:" + parts[1] + ":iam::" + parts[4] + ":role/" + role
}
