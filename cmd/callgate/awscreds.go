package main

import (
	"context"
	"fmt"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/smithy-go/logging"
)

// checkAWSCredentials asks the AWS SDK's default credential chain for
// credentials, as the aws backend's clients do, and says in one line what
// to set when it finds none. The SDK's own error names only the last
// provider of the chain it tried (usually the instance metadata service),
// which tells someone on a laptop nothing about what is missing.
func checkAWSCredentials(ctx context.Context, region string) error {
	// The SDK logs its fallbacks (IMDSv1) to stderr; the one line below
	// is the whole story.
	cfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(region), awsconfig.WithLogger(logging.Nop{}))
	if err != nil {
		return fmt.Errorf("AWS SDK config: %w", err)
	}
	if cfg.Credentials != nil {
		if _, err := cfg.Credentials.Retrieve(ctx); err == nil {
			return nil
		}
	}
	return fmt.Errorf("no AWS credentials found (region %s, from aws.region): "+
		"set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE for a profile in ~/.aws/config, "+
		"or AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE (EKS IRSA), or run where an instance role is available", region)
}
