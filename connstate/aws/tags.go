package aws

import (
	"context"
	"fmt"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/callgate/callgate/connstate"
)

// SetReadySince writes the ready-since tag (RFC 3339, UTC, whole seconds)
// on the endpoint, or removes it when since is zero. It works for adopted
// endpoints too: the tag is how replicas share the warm-up. The endpoint's
// region is the one it was last observed in, else the default region.
func (b *Backend) SetReadySince(ctx context.Context, endpointID string, since time.Time) error {
	region := b.opts.Region
	if r, ok := b.regionOf.Load(endpointID); ok {
		region = r.(string)
	}
	client := b.ec2Client(region)
	if since.IsZero() {
		_, err := client.DeleteTags(ctx, &ec2.DeleteTagsInput{
			Resources: []string{endpointID},
			Tags:      []types.Tag{{Key: sdkaws.String(connstate.ReadySinceTag)}},
		})
		if err != nil {
			return fmt.Errorf("clear ready-since on %s: %w", endpointID, opError("DeleteTags", region, err))
		}
		return nil
	}
	_, err := client.CreateTags(ctx, &ec2.CreateTagsInput{
		Resources: []string{endpointID},
		Tags: []types.Tag{{
			Key:   sdkaws.String(connstate.ReadySinceTag),
			Value: sdkaws.String(since.UTC().Format(time.RFC3339)),
		}},
	})
	if err != nil {
		return fmt.Errorf("set ready-since on %s: %w", endpointID, opError("CreateTags", region, err))
	}
	return nil
}
