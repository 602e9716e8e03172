package aws

import (
	"context"
	"fmt"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/callgate/callgate/connstate"
)

// Delete deletes spec's endpoint. An endpoint that is already gone counts
// as deleted. Adopted endpoints are refused with ErrAdopted.
func (b *Backend) Delete(ctx context.Context, spec connstate.Spec, endpointID string) error {
	if spec.AdoptedID != "" {
		return fmt.Errorf("delete %q: %w", spec.Name, ErrAdopted)
	}
	if endpointID == "" {
		return fmt.Errorf("delete %q: no endpoint ID", spec.Name)
	}
	if err := b.deleteEndpoint(ctx, b.region(spec.Region), endpointID); err != nil {
		return fmt.Errorf("delete %q: %w", spec.Name, err)
	}
	return nil
}

// deleteEndpoint calls DeleteVpcEndpoints for one endpoint. EC2 reports
// per-endpoint failures in the Unsuccessful list of a successful response,
// so a 200 alone does not mean the endpoint is being deleted.
func (b *Backend) deleteEndpoint(ctx context.Context, region, endpointID string) error {
	res, err := b.ec2Client(region).DeleteVpcEndpoints(ctx, &ec2.DeleteVpcEndpointsInput{
		VpcEndpointIds: []string{endpointID},
	})
	if err != nil {
		if errorCode(err) == notFoundCode {
			return nil
		}
		return opError("DeleteVpcEndpoints", region, err)
	}
	for _, u := range res.Unsuccessful {
		if u.ResourceId != nil && *u.ResourceId != endpointID {
			continue
		}
		var code, msg string
		if u.Error != nil {
			code, msg = sdkaws.ToString(u.Error.Code), sdkaws.ToString(u.Error.Message)
		}
		if code == notFoundCode {
			continue // already gone: what we wanted
		}
		return fmt.Errorf("aws DeleteVpcEndpoints in %s: %s: %s: %s: %w", region, endpointID, code, msg, ErrDeleteFailed)
	}
	return nil
}
